import Foundation

/// Where `jamey call` finds the API key: `--key-file`, else `JAMEY_KEY`, else the admin key the
/// api plugin generates on first start (`./data/api/admin.key`) when that file exists.
enum APIKeySource {
    /// The file the api plugin writes its generated admin key to, with the default `data_dir`.
    static let defaultKeyFile = "./data/api/admin.key"
    /// The environment variable holding a key.
    static let environmentVariable = "JAMEY_KEY"

    /// The key to send, or nil for none.
    /// - Parameters:
    ///   - keyFile: `--key-file`, if given (it must exist).
    ///   - environment: the process environment.
    ///   - defaultKeyFile: the file used when neither is given, if it exists.
    /// - Throws: ``CallError`` (usage) when a given key file cannot be read or is empty.
    static func key(keyFile: String?, environment: [String: String], defaultKeyFile: String = Self.defaultKeyFile)
        throws(CallError)
        -> String?
    {
        if let keyFile { return try read(keyFile) }
        if let key = environment[environmentVariable], !key.isEmpty { return key }
        guard FileManager.default.fileExists(atPath: defaultKeyFile) else { return nil }
        return try read(defaultKeyFile)
    }

    private static func read(_ path: String) throws(CallError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CallError.usage("cannot read the key file \(path): it does not exist or is not readable")
        }
        let key = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty else { throw CallError.usage("the key file \(path) is empty") }
        return key
    }
}
