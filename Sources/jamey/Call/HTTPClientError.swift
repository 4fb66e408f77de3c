/// A failure to exchange a request and a response with the server: it could not be reached, or
/// it answered something that is not HTTP/1.1. The message is one sentence for the operator.
struct HTTPClientError: Error, CustomStringConvertible, Sendable {
    /// The sentence.
    let description: String

    /// - Parameter description: the sentence.
    init(_ description: String) { self.description = description }
}
