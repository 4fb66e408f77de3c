import Foundation
import JameyTestKit
import Testing

/// Swift plugins reach the host through the kit only: the plugin target imports the kit, never `CJameyABI`.
@Suite struct PluginImportTests {
    /// `import CJameyABI`, with any attributes or access level in front.
    static let importOfTheABI = #"^\s*(@\w+\s+)*(\w+\s+)?import\s+CJameyABI\b"#

    @Test func noSwiftPlugin_importsTheCABI() throws {
        let root = TestPlugins.packageRoot + "/Plugins"
        let files = try #require(FileManager.default.subpaths(atPath: root)).filter { $0.hasSuffix(".swift") }
        #expect(files.count > 10, "found only \(files.count) Swift files under \(root)")
        for file in files {
            let text = try String(contentsOfFile: root + "/" + file, encoding: .utf8)
            let imports = text.split(separator: "\n").filter { line in
                line.range(of: Self.importOfTheABI, options: .regularExpression) != nil
            }
            #expect(imports.isEmpty, "Plugins/\(file) imports CJameyABI; use the kit's Swift types (JameyError, Message, ...)")
        }
    }
}
