import Foundation

/// Turns an operation and the values given on the command line into an HTTP request. Pure: no I/O.
struct CallRequestBuilder: Sendable {
    /// The operation to call.
    var operation: OpenAPIOperation
    /// Values for `{name}` segments taken from a concrete path typed on the command line
    /// (already percent-encoded).
    var pathValues: [String: String] = [:]
    /// `--param name=value` pairs, in order. Path, query and header parameters go where the
    /// document declares them; undeclared ones go into the query string.
    var parameters: [(name: String, value: String)] = []
    /// `--header` fields, added as given.
    var headers: [(name: String, value: String)] = []
    /// The body, if any.
    var body: [UInt8]?
    /// The body's media type (default `application/json`, which is then checked to be JSON).
    var contentType: String?
    /// The API key, sent as `Authorization: Bearer` to operations that are not public.
    var key: String?

    /// - Parameter operation: the operation to call.
    init(operation: OpenAPIOperation) { self.operation = operation }

    /// The request, or a usage error naming what is missing or wrong.
    func request() throws(CallError) -> HTTPRequest {
        let name = "operation \(operation.id) (\(operation.method) \(operation.path))"
        var target = ""
        var used: Set<String> = []
        for segment in PathTemplateText.segments(operation.path) {
            guard let parameter = PathTemplateText.parameterName(segment) else {
                target += "/" + String(segment)
                continue
            }
            let given = parameters.filter { $0.name == parameter }.map(\.value)
            if let typed = pathValues[parameter] {
                guard given.isEmpty else {
                    throw CallError.usage("path parameter '\(parameter)' of \(name) is given twice: in the path and as --param")
                }
                target += "/" + Self.encodingTyped(typed)
            } else if let value = given.last {
                guard !value.isEmpty else { throw CallError.usage("path parameter '\(parameter)' of \(name) is empty") }
                target += "/" + Self.percentEncoded(value)
            } else {
                throw CallError.usage("\(name) needs path parameter '\(parameter)': add --param \(parameter)=VALUE")
            }
            used.insert(parameter)
        }
        if target.isEmpty { target = "/" }
        var query: [String] = []
        var request = HTTPRequest(method: operation.method, target: "")
        for (parameterName, value) in parameters where !used.contains(parameterName) {
            switch operation.parameter(named: parameterName)?.location {
            case "header"?: request.headers.append((parameterName, value))
            case "cookie"?: request.headers.append(("Cookie", parameterName + "=" + value))
            default: query.append(Self.percentEncoded(parameterName) + "=" + Self.percentEncoded(value))
            }
        }
        for parameter in operation.parameters where parameter.required && parameter.location != "path" {
            guard parameters.contains(where: { $0.name == parameter.name }) else {
                throw CallError.usage(
                    "\(name) needs \(parameter.location) parameter '\(parameter.name)': add --param \(parameter.name)=VALUE")
            }
        }
        request.target = query.isEmpty ? target : target + "?" + query.joined(separator: "&")
        request.headers.append(("Accept", "application/json, application/problem+json;q=0.9, */*;q=0.5"))
        request.headers.append(("User-Agent", "jamey/\(Versions.kernel)"))
        if let key, !operation.isPublic { request.headers.append(("Authorization", "Bearer " + key)) }
        try addBody(to: &request, name: name)
        request.headers += headers
        return request
    }

    /// A path segment as typed: escapes already in it are kept, anything a request line cannot
    /// carry is escaped (`/v1/hello/Ada Lovelace` went out with a space and ended in a 400).
    static func encodingTyped(_ segment: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove("/")
        allowed.insert("%")
        return segment.addingPercentEncoding(withAllowedCharacters: allowed) ?? segment
    }

    /// `a=1&b=two%20words` as (name, value) pairs, percent-decoded (``request()`` encodes them
    /// again); a pair without `=` has an empty value.
    static func queryPairs(_ query: Substring) -> [(name: String, value: String)] {
        query.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            guard let first = parts.first, !first.isEmpty else { return nil }
            return (decode(first), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    private func addBody(to request: inout HTTPRequest, name: String) throws(CallError) {
        guard let body else {
            if operation.requiresBody { throw CallError.usage("\(name) needs a body: add --body JSON, --body @FILE or --body -") }
            return
        }
        guard operation.acceptsBody else { throw CallError.usage("\(name) takes no body; leave out --body") }
        let type = contentType ?? "application/json"
        if type.lowercased().contains("json") { try Self.checkJSON(body) }
        request.headers.append(("Content-Type", type))
        request.body = body
    }

    /// Throws a usage error when `body` is not one JSON value.
    static func checkJSON(_ body: [UInt8]) throws(CallError) {
        do {
            _ = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        } catch {
            let text = String(decoding: body.prefix(40), as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
            let shown = body.count > 40 ? text + "..." : text
            throw CallError.usage(
                "the body is not valid JSON: '\(shown)' (use --content-type to send another media type)")
        }
    }

    /// `text` with every byte outside A-Z a-z 0-9 - . _ ~ percent-encoded.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
