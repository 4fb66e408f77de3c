import Hummingbird
import NIOCore

/// The request context of the gateway: Hummingbird's core storage plus the connection, from
/// which the client address is read.
struct GatewayContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The connection the request arrived on.
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
