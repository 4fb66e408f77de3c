/// A failure that stops the kernel from starting (or `config check` from passing).
public struct KernelError: Error, Sendable, CustomStringConvertible {
    /// Every problem found, one sentence each.
    public let problems: [String]

    init(_ problems: [String]) { self.problems = problems }
    init(_ problem: String) { self.problems = [problem] }

    public var description: String { problems.joined(separator: "\n") }
}
