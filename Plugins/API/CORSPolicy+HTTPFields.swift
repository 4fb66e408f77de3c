import APICore
import HTTPTypes

extension CORSPolicy {
    /// The policy of the `cors` config section.
    /// - Parameter configuration: `cors` from the config.
    init(_ configuration: APIConfiguration.CORS) {
        self.init(allowedOrigins: configuration.allowedOrigins, maxAgeSeconds: configuration.maxAgeSeconds)
    }

    /// Sets the headers of an actual (non-preflight) response for `origin`, when it is allowed.
    func decorate(_ fields: inout HTTPFields, origin: String) {
        if let headers = headers(origin: origin) { Self.set(headers, in: &fields) }
    }

    /// Sets the headers of a preflight answer for `origin`, when it is allowed.
    func decoratePreflight(_ fields: inout HTTPFields, origin: String, methods: [String]) {
        if let headers = preflightHeaders(origin: origin, methods: methods) { Self.set(headers, in: &fields) }
    }

    /// Sets each header (replacing one of the same name), except `Vary`, which is appended.
    private static func set(_ headers: [Header], in fields: inout HTTPFields) {
        for header in headers {
            guard let name = HTTPField.Name(header.name) else { continue }
            if name == .vary {
                fields.append(HTTPField(name: name, value: header.value))
            } else {
                fields[name] = header.value
            }
        }
    }
}
