/// The HTTP methods `jamey call` accepts before a path.
enum HTTPMethods {
    /// Upper-case method names.
    static let all: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    /// Whether `word` is one of them (any case).
    static func isMethod(_ word: String) -> Bool { all.contains(word.uppercased()) }
}
