import NIOCore
import NIOHTTP1

/// Sees each request the HTTP decoder could not parse. Hummingbird answers such a request 400
/// and closes the connection without calling the gateway, so it was neither counted nor logged:
/// an operator saw nothing of a client sending garbage, or of a proxy mangling requests. Sits
/// right after the decoder; passes everything on unchanged.
final class MalformedRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart

    private let report: @Sendable (_ reason: String, _ client: String) -> Void

    /// - Parameter report: given the parser's reason (``reason(_:)``, such as
    ///   `invalid_header_token`) and the peer's address, once per connection.
    init(report: @escaping @Sendable (_ reason: String, _ client: String) -> Void) { self.report = report }

    private var reported = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parse = error as? HTTPParserError, !reported {
            reported = true
            report(Self.reason(parse), context.channel.remoteAddress?.clientAddress ?? "unknown")
        }
        context.fireErrorCaught(error)
    }

    /// The parser's error as a short label (NIO's descriptions are sentences).
    static func reason(_ error: HTTPParserError) -> String {
        switch error {
        case .invalidCharactersUsed: "invalid_characters"
        case .trailingGarbage: "trailing_garbage"
        case .invalidEOFState: "unexpected_end"
        case .headerOverflow: "header_overflow"
        case .closedConnection: "data_after_close"
        case .invalidVersion: "invalid_version"
        case .invalidStatus: "invalid_status"
        case .invalidMethod: "invalid_method"
        case .invalidURL: "invalid_url"
        case .invalidHost: "invalid_host"
        case .invalidPort: "invalid_port"
        case .invalidPath: "invalid_path"
        case .invalidQueryString: "invalid_query"
        case .invalidFragment: "invalid_fragment"
        case .lfExpected: "lf_expected"
        case .invalidHeaderToken: "invalid_header_token"
        case .invalidContentLength: "invalid_content_length"
        case .unexpectedContentLength: "unexpected_content_length"
        case .invalidChunkSize: "invalid_chunk_size"
        case .invalidConstant: "invalid_constant"
        case .invalidInternalState: "invalid_internal_state"
        case .strictModeAssertion: "strict_mode_assertion"
        case .paused: "paused"
        case .unknown: "unknown"
        @unknown default: "other"
        }
    }
}
