/// Building the dotted key paths used in errors and environment variable names.
enum ConfigKeyPath {
    /// `parent.key`, or `key` at the top level.
    static func child(_ parent: String, _ key: String) -> String {
        parent.isEmpty ? key : parent + "." + key
    }

    /// `parent[index]`.
    static func element(_ parent: String, _ index: Int) -> String {
        parent + "[\(index)]"
    }
}
