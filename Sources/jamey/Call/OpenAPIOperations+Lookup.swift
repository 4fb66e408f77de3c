extension OpenAPIOperations {
    /// The operation whose `operationId` is `id`.
    /// - Throws: ``CallError`` (usage) naming the id, with close matches, when there is none, or
    ///   when several operations share it.
    func operation(id: String) throws(CallError) -> OpenAPIOperation {
        let matches = operations.filter { $0.id == id }
        if matches.count == 1 { return matches[0] }
        if matches.count > 1 {
            let routes = matches.map { "\($0.method) \($0.path)" }.joined(separator: ", ")
            throw CallError.usage(
                "operation id '\(id)' names \(matches.count) operations (\(routes)): call it by method and path")
        }
        let close = Suggestions.closest(to: id, among: operations.map(\.id))
        let hint = close.isEmpty ? "" : "; did you mean \(close.joined(separator: ", "))?"
        throw CallError.usage("unknown operation '\(id)'\(hint) (jamey call --list shows every operation)")
    }

    /// The operation serving `method` at `path`, and the values `path` gives for its `{name}`
    /// segments (as typed, already percent-encoded).
    ///
    /// `path` may be the template itself (`/v1/hello/{name}`, values then come from flags) or a
    /// concrete path (`/v1/hello/Ada`). Among several matches, the one with the most literal
    /// segments wins, as on the server.
    /// - Throws: ``CallError`` (usage) when no operation matches.
    func operation(method: String, path: String) throws(CallError) -> (OpenAPIOperation, [String: String]) {
        let method = method.uppercased()
        let given = PathTemplateText.segments(path.split(separator: "?", maxSplits: 1).first ?? "")
        var best: (operation: OpenAPIOperation, values: [String: String], literals: Int)?
        for operation in operations where operation.method == method {
            guard let (values, literals) = Self.match(template: PathTemplateText.segments(operation.path), given) else {
                continue
            }
            if let current = best, current.literals >= literals { continue }
            best = (operation, values, literals)
        }
        if let best { return (best.operation, best.values) }
        let atPath = operations.filter { Self.match(template: PathTemplateText.segments($0.path), given) != nil }
        if !atPath.isEmpty {
            let allowed = atPath.map(\.method).joined(separator: ", ")
            throw CallError.usage(
                "\(path) has no \(method) operation (it has \(allowed)); jamey call --list shows every operation")
        }
        let close = Suggestions.closest(to: path, among: Set(operations.map(\.path)).sorted())
        let hint = close.isEmpty ? "" : "; did you mean \(close.joined(separator: ", "))?"
        throw CallError.usage("no operation serves \(method) \(path)\(hint) (jamey call --list shows every operation)")
    }

    /// The values of `given` for the template's parameters and the number of literal segments,
    /// or nil when `given` does not fit the template.
    private static func match(template: [Substring], _ given: [Substring]) -> ([String: String], Int)? {
        guard template.count == given.count else { return nil }
        var values: [String: String] = [:]
        var literals = 0
        for (expected, actual) in zip(template, given) {
            if let name = PathTemplateText.parameterName(expected) {
                if let placeholder = PathTemplateText.parameterName(actual) {
                    guard placeholder == name else { return nil }
                } else {
                    values[name] = String(actual)
                }
            } else {
                guard expected == actual else { return nil }
                literals += 1
            }
        }
        return (values, literals)
    }
}
