import Foundation

/// The operations of an OpenAPI 3 document (`/openapi.json`), in document order.
struct OpenAPIOperations: Sendable {
    /// The methods an OpenAPI path item may hold, in the order they are listed.
    static let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    /// Every operation.
    let operations: [OpenAPIOperation]

    /// - Parameter operations: the operations.
    init(_ operations: [OpenAPIOperation]) { self.operations = operations }

    /// Reads the operations of an OpenAPI document.
    /// - Parameter document: the document's JSON text.
    /// - Throws: ``CallError`` (unexpected) when it is not JSON or has no `paths` object.
    init(document: [UInt8]) throws(CallError) {
        let root: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: Data(document)) as? [String: Any] else {
                throw CallError.unexpected("the OpenAPI document is not a JSON object")
            }
            root = object
        } catch let error as CallError {
            throw error
        } catch {
            throw CallError.unexpected("the OpenAPI document is not valid JSON")
        }
        guard let paths = root["paths"] as? [String: Any] else {
            throw CallError.unexpected("the OpenAPI document has no 'paths' object")
        }
        let securedByDefault = !((root["security"] as? [Any]) ?? []).isEmpty
        // JSONSerialization forgets key order: list paths in a stable order, methods in the spec's.
        var operations: [OpenAPIOperation] = []
        for path in paths.keys.sorted() {
            guard let item = paths[path] as? [String: Any] else { continue }
            let shared = Self.parameters(item["parameters"])
            for method in Self.methods {
                guard let entry = item[method] as? [String: Any] else { continue }
                operations.append(Self.operation(entry, method: method, path: path, shared: shared, secured: securedByDefault))
            }
        }
        self.operations = operations
    }

    private static func operation(
        _ entry: [String: Any], method: String, path: String, shared: [OpenAPIOperation.Parameter], secured: Bool
    ) -> OpenAPIOperation {
        let method = method.uppercased()
        var operation = OpenAPIOperation(id: entry["operationId"] as? String ?? "\(method) \(path)", method: method, path: path)
        operation.summary = entry["summary"] as? String ?? ""
        operation.isLongRunning = entry["x-jamey-long-running"] as? Bool ?? false
        var parameters = Self.parameters(entry["parameters"])
        for parameter in shared
        where !parameters.contains(where: { $0.name == parameter.name && $0.location == parameter.location }) {
            parameters.append(parameter)
        }
        operation.parameters = parameters
        if let body = entry["requestBody"] as? [String: Any] {
            operation.acceptsBody = true
            operation.requiresBody = body["required"] as? Bool ?? false
            operation.bodyTypes = ((body["content"] as? [String: Any])?.keys).map { Array($0).sorted() } ?? []
        }
        if let security = entry["security"] as? [Any] {
            operation.isPublic = security.isEmpty
        } else {
            operation.isPublic = !secured
        }
        return operation
    }

    private static func parameters(_ value: Any?) -> [OpenAPIOperation.Parameter] {
        ((value as? [Any]) ?? []).compactMap { item in
            guard let object = item as? [String: Any], let name = object["name"] as? String,
                let location = object["in"] as? String
            else { return nil }
            return .init(name: name, location: location, required: object["required"] as? Bool ?? (location == "path"))
        }
    }
}
