/// Environment overrides: how a key path maps to a variable name.
///
/// Every string, integer, number, boolean and string-list field can be set from the
/// environment, except fields inside object lists. The variable is `JAMEY_` followed by the full
/// key path upper-cased, with `.` and `-` replaced by `_`. A variable that is set (even to an
/// empty string) overrides the file and the default.
public enum ConfigEnvironment {
    /// The prefix of every override variable.
    public static let prefix = "JAMEY_"

    /// The variable that overrides `keyPath`: `plugins.hello-c.config.greeting` →
    /// `JAMEY_PLUGINS_HELLO_C_CONFIG_GREETING`, `data_dir` → `JAMEY_DATA_DIR`.
    ///
    /// - Parameter keyPath: the full dotted key path.
    public static func variableName(forKeyPath keyPath: String) -> String {
        prefix + String(keyPath.uppercased().map { $0 == "." || $0 == "-" ? "_" : $0 })
    }
}
