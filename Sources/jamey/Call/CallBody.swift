import Foundation

/// The body given with `--body`: literal text, `@FILE`, or `-` for standard input.
enum CallBody {
    /// The bytes `argument` stands for.
    /// - Throws: ``CallError`` (usage) when the file cannot be read.
    static func read(_ argument: String) throws(CallError) -> [UInt8] {
        if argument == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
        if argument.hasPrefix("@") {
            let path = String(argument.dropFirst())
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CallError.usage("cannot read the body file \(path): it does not exist or is not readable")
            }
            return Array(data)
        }
        return Array(argument.utf8)
    }
}
