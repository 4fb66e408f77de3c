/// Where `jamey call` sends requests: `http://HOST[:PORT][/PREFIX]`. Plain HTTP only.
struct ServerURL: Equatable, Sendable {
    /// The default: the api plugin's default address.
    static let `default` = ServerURL(host: "127.0.0.1", port: 8080, prefix: "")

    /// Host name or address (an IPv6 address without brackets).
    let host: String
    /// TCP port.
    let port: Int
    /// A path prefix put before every route (no trailing slash; empty for none).
    let prefix: String

    /// The `Host` header's value.
    var hostHeader: String { (host.contains(":") ? "[\(host)]" : host) + (port == 80 ? "" : ":\(port)") }

    /// The URL as text, for messages.
    var text: String { "http://" + (host.contains(":") ? "[\(host)]" : host) + ":\(port)" + prefix }

    /// - Parameters:
    ///   - host: host name or address.
    ///   - port: TCP port.
    ///   - prefix: path prefix, empty for none.
    init(host: String, port: Int, prefix: String) {
        self.host = host
        self.port = port
        self.prefix = prefix
    }

    /// Parses `http://host[:port][/prefix]`; a bare `host:port` means `http://host:port`.
    /// - Throws: ``CallError`` (usage) naming what is wrong; `https` is refused as not supported yet.
    init(parsing text: String) throws(CallError) {
        var rest = Substring(text)
        if rest.hasPrefix("https://") {
            throw CallError.usage("the server URL '\(text)' uses https, which jamey call does not support yet: use http://")
        }
        if rest.hasPrefix("http://") { rest = rest.dropFirst("http://".count) }
        guard !rest.contains("://") else {
            throw CallError.usage("the server URL '\(text)' must start with http://")
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        var prefix = String(rest[slash...])
        while prefix.hasSuffix("/") { prefix.removeLast() }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw CallError.usage("the server URL '\(text)' has an unclosed [ in its address")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw CallError.usage("the server URL '\(text)' has text after its address")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty, !host.contains("@") else {
            throw CallError.usage("the server URL '\(text)' has no host (expected http://HOST:PORT)")
        }
        var port = 80
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else {
                throw CallError.usage("the server URL '\(text)' has an invalid port '\(portText)' (1 to 65535)")
            }
            port = number
        }
        self.init(host: String(host), port: port, prefix: prefix)
    }
}
