import CJameyABI
import Foundation

/// An HTTP route a plugin declares (ABI 1.1), served by the api plugin and forwarded to the
/// plugin as a bus request on `topic`.
public struct PluginRoute: Sendable, Hashable, CustomStringConvertible {
    /// HTTP method.
    public let method: String
    /// Path template, e.g. `/v1/hello/{name}`.
    public let path: String
    /// The bus topic requests are sent to.
    public let topic: String
    /// `public`, `read`, `write` or `admin`.
    public let scope: String
    /// One line for OpenAPI.
    public let summary: String
    /// OpenAPI operationId (ABI 1.3), or nil to derive one.
    public var operationID: String? = nil
    /// JSON Schema text of the request body (ABI 1.3), or nil.
    public var requestSchema: String? = nil
    /// JSON Schema text of the successful response body (ABI 1.3), or nil.
    public var responseSchema: String? = nil
    /// Longer description (ABI 1.3), or nil.
    public var details: String? = nil
    /// `JAMEY_ROUTE_LONG_RUNNING`: the gateway waits `limits.operation_timeout_ms` for it.
    public var longRunning = false

    public var description: String { "\(method) \(path) -> \(topic) [\(scope)]" }

    static let methods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    static let scopes: Set<String> = ["public", "read", "write", "admin"]

    /// The size of `jamey_route` in ABI 1.1 and 1.2 (before the 1.3 fields).
    static let size11 = MemoryLayout<jamey_route>.offset(of: \jamey_route.operation_id) ?? MemoryLayout<jamey_route>.size

    /// Reads and checks the routes of a descriptor built for ABI 1.1 or later; the 1.3 fields
    /// only when `minor` is 3 or later.
    static func read(_ base: UnsafePointer<jamey_route>?, count: Int, minor: Int, reader: DescriptorReader)
        throws(LoadError) -> [PluginRoute]
    {
        let list = try reader.array(
            base, count: count, limit: DescriptorLimits.routes, field: "routes", elementName: "jamey_route",
            minimumSize: size11)
        func fail(_ detail: String) -> LoadError { reader.error(.invalidDescriptor, detail) }
        var routes: [PluginRoute] = []
        for (i, r) in list.enumerated() {
            let method = try reader.string(r.method, field: "routes[\(i)].method", limit: DescriptorLimits.routeWord) ?? ""
            let template = try reader.string(r.path, field: "routes[\(i)].path", limit: DescriptorLimits.routePath) ?? ""
            let topic = try reader.string(r.topic, field: "routes[\(i)].topic", limit: DescriptorLimits.routeTopic) ?? ""
            let scope = try reader.string(r.scope, field: "routes[\(i)].scope", limit: DescriptorLimits.routeWord) ?? ""
            let summary = try reader.string(r.summary, field: "routes[\(i)].summary", limit: DescriptorLimits.summary) ?? ""
            guard methods.contains(method) else {
                throw fail(
                    "routes[\(i)]: method expected one of GET, POST, PUT, PATCH, DELETE, found \"\(PluginMemory.printable(method))\""
                )
            }
            guard isValidTemplate(template) else {
                throw fail("routes[\(i)]: path expected /segment/{param}/..., found \"\(PluginMemory.printable(template))\"")
            }
            guard isConcreteTopic(topic) else {
                throw fail("routes[\(i)]: topic expected a concrete dotted topic, found \"\(PluginMemory.printable(topic))\"")
            }
            guard scopes.contains(scope) else {
                throw fail(
                    "routes[\(i)]: scope expected public, read, write or admin, found \"\(PluginMemory.printable(scope))\"")
            }
            var route = PluginRoute(method: method, path: template, topic: topic, scope: scope, summary: summary)
            route.longRunning = minor >= 4 && r.flags & JAMEY_ROUTE_LONG_RUNNING != 0
            if minor >= 3 { try route.readDocumentation(r, index: i, reader: reader) }
            if let id = route.operationID, routes.contains(where: { $0.operationID == id }) {
                throw fail("routes[\(i)]: operation_id \"\(id)\" is declared twice")
            }
            guard !routes.contains(where: { $0.method == method && $0.path == template }) else {
                throw fail("routes[\(i)]: \(method) \(template) is declared twice")
            }
            routes.append(route)
        }
        return routes
    }

    /// Reads and checks the ABI 1.3 fields: operation id and JSON Schemas.
    private mutating func readDocumentation(_ r: jamey_route, index i: Int, reader: DescriptorReader) throws(LoadError) {
        func fail(_ detail: String) -> LoadError { reader.error(.invalidDescriptor, "routes[\(i)]: \(detail)") }
        operationID = try reader.string(
            r.operation_id, field: "routes[\(i)].operation_id", limit: DescriptorLimits.operationID)
        if let id = operationID {
            func letter(_ c: UInt8) -> Bool { (65...90).contains(c) || (97...122).contains(c) }
            guard let first = id.utf8.first, letter(first),
                id.utf8.allSatisfy({ letter($0) || (48...57).contains($0) || $0 == 95 })
            else {
                throw fail("operation_id expected [A-Za-z][A-Za-z0-9_]*, found \"\(PluginMemory.printable(id))\"")
            }
        }
        for (name, pointer) in [("request_schema", r.request_schema), ("response_schema", r.response_schema)] {
            guard let text = try reader.string(pointer, field: "routes[\(i)].\(name)", limit: DescriptorLimits.schema) else {
                continue
            }
            guard let data = text.data(using: .utf8),
                (try? JSONSerialization.jsonObject(with: data)) is [String: Any]
            else {
                throw fail("\(name) expected a JSON Schema (a JSON object), found text that is not a JSON object")
            }
            if name == "request_schema" { requestSchema = text } else { responseSchema = text }
        }
        details = try reader.string(r.description, field: "routes[\(i)].description", limit: DescriptorLimits.schema)
    }

    static func isValidTemplate(_ template: String) -> Bool {
        guard template.hasPrefix("/"), template.count <= 512 else { return false }
        let segments = template.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        if segments == [""] { return true }
        var names: Set<Substring> = []
        for segment in segments {
            guard !segment.isEmpty else { return false }
            if segment.hasPrefix("{") {
                let name = segment.dropFirst().dropLast()
                guard segment.hasSuffix("}"), !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
                    names.insert(name).inserted
                else { return false }
            } else {
                guard segment.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._~".contains($0)) }) else {
                    return false
                }
            }
        }
        return true
    }

    static func isConcreteTopic(_ topic: String) -> Bool {
        let segments = topic.split(separator: ".", omittingEmptySubsequences: false)
        return !topic.isEmpty
            && segments.allSatisfy { !$0.isEmpty && $0 != "*" && $0 != ">" && !$0.contains(where: \.isWhitespace) }
    }
}
