@testable import jamey

/// The description of the error `body` throws, or `no error`.
func failure(_ body: () throws -> Any) -> String {
    do {
        _ = try body()
        return "no error"
    } catch {
        return "\(error)"
    }
}

/// The exit status of the ``CallError`` `body` throws, or nil.
func exitStatus(_ body: () throws -> Any) -> Int32? {
    do {
        _ = try body()
        return nil
    } catch {
        return (error as? CallError)?.exitCode.rawValue
    }
}
