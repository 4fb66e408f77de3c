// kit tests
