print("jamey")
