import NIOHTTPTypes

/// The request parts Hummingbird's HTTP/1 pipeline passes behind the decoder.
typealias HTTPRequestPartAlias = HTTPRequestPart
/// The response parts Hummingbird's HTTP/1 pipeline writes.
typealias HTTPResponsePartAlias = HTTPResponsePart
