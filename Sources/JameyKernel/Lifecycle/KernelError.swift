import CJameyABI

/// A failure that stops the kernel from starting (or `config check` from passing).
public struct KernelError: Error, Sendable, CustomStringConvertible {
    /// Every problem found, one sentence each.
    public let problems: [String]

    /// The `JAMEY_E_*` code a host call returns for it.
    let code: Int32

    init(_ problems: [String], code: Int32 = JAMEY_E_PLUGIN) {
        self.problems = problems
        self.code = code
    }
    init(_ problem: String, code: Int32 = JAMEY_E_PLUGIN) {
        self.problems = [problem]
        self.code = code
    }

    public var description: String { problems.joined(separator: "\n") }
}

extension KernelError {
    /// A config file that does not load or validate, as a reload's error (JAMEY_E_INVALID).
    public static func invalidConfig(_ errors: ConfigErrors) -> KernelError {
        KernelError(errors.errors.map { "\($0)" }, code: JAMEY_E_INVALID)
    }
}
