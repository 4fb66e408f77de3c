import Foundation
import JameyTestKit
import Testing

@testable import JameyKernel

/// The loader trusts nothing it reads from a file: over-long and unterminated strings, absurd
/// counts, truncated ELF files, ambiguous file names and host calls from the entry point are
/// each a sentence, never a crash.
@Suite struct LoaderHardeningTests {
    func build(_ source: CPluginSource, name: String) throws -> String {
        try TestPlugins.buildC(name: name, source: source.render())
    }

    func loadError(_ path: String) -> LoadError? {
        do {
            _ = try PluginLibrary.load(path: path)
            return nil
        } catch {
            return error
        }
    }

    @Test func tenThousandCharacterNameIsRefusedWithoutEchoingIt() throws {
        var source = CPluginSource(name: "long")
        source.extraCode = "static char long_name[10001];"
        source.nameExpression = "(memset(long_name, 'a', 10000), long_name[10000] = 0, long_name)"
        let path = try build(source, name: "longname")
        let error = try #require(loadError(path))
        #expect(error.check == .invalidName)
        #expect(error.message.contains("more than the limit of 64 bytes"), "\(error.message)")
        #expect(error.message.count < 400, "the name is not echoed whole: \(error.message.count) characters")
    }

    @Test func unterminatedNameAtTheEndOfReadableMemoryIsASentence() throws {
        var source = CPluginSource(name: "unterminated")
        source.extraCode = """
            #include <fcntl.h>
            #include <sys/mman.h>
            static const char *edge_name(void) {
                long page = 4096;
                int fd = open("/dev/zero", O_RDWR);
                char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
                munmap(p + page, page);
                memset(p, 'b', page);
                return p + page - 10;
            }
            """
        source.nameExpression = "edge_name()"
        let error = try #require(loadError(try build(source, name: "unterminated")))
        #expect(error.check == .invalidName)
        #expect(
            error.message.contains("\"bbbbbbbbbb…\" with no terminating NUL before readable memory ends (10 bytes)"),
            "\(error.message)")
    }

    @Test func nameIntoUnreadableMemoryIsASentence() throws {
        var source = CPluginSource(name: "wild")
        source.nameExpression = "(const char *)(uintptr_t)8"
        let error = try #require(loadError(try build(source, name: "wildname")))
        #expect(error.message.contains("a pointer into unreadable memory"), "\(error.message)")
    }

    @Test func absurdCountsNameTheLimit() throws {
        var source = CPluginSource(name: "absurd")
        source.requiresCountExpression = "((size_t)1 << 40)"
        let error = try #require(loadError(try build(source, name: "absurd")))
        #expect(error.check == .invalidDescriptor)
        #expect(
            error.message.contains("plugin 'absurd' requires: 1099511627776 entries is more than the limit of 64"),
            "\(error.message)")
    }

    @Test func overLongVersionIsRefused() throws {
        var source = CPluginSource(name: "longversion")
        source.version = "1.0.0-" + String(repeating: "x", count: 200)
        let error = try #require(loadError(try build(source, name: "longversion")))
        #expect(error.message.contains("version: expected a NUL-terminated string of at most 64 bytes"), "\(error.message)")
    }

    @Test(arguments: [0.5, 0.9, 0.98])
    func truncatedLibraryIsASentenceNotASIGBUS(fraction: Double) throws {
        let good = try build(CPluginSource(name: "whole"), name: "whole")
        let data = try Data(contentsOf: URL(fileURLWithPath: good))
        let dir = try TemporaryDirectory.make()
        let path = dir + "/libcut.so"
        try data.prefix(Int(Double(data.count) * fraction)).write(to: URL(fileURLWithPath: path))
        let error = try #require(loadError(path))
        #expect(error.check == .corruptELF, "\(error.message)")
        #expect(error.message.hasPrefix(path + ": corrupt or truncated shared library:"), "\(error.message)")
        #expect(error.message.contains("past the end of the file"), "\(error.message)")
    }

    @Test func ambiguousFileNameNamesBothFiles() throws {
        let dir = try TemporaryDirectory.make()
        _ = try TestPlugins.buildC(name: "twin_probe", source: CPluginSource(name: "twin_probe").render(), in: dir)
        _ = try TestPlugins.buildC(name: "TwinProbe", source: CPluginSource(name: "twin_probe").render(), in: dir)
        let k = try TestKernel.boot(yaml: TestKernel.yaml(plugins: [.init("twin_probe", path: nil)], extra: "plugin_dir: \(dir)"))
        defer { k.shutdown() }
        let status = try #require(k.kernel.plugin(named: "twin_probe"))
        #expect(status.state == .failed)
        let failure = status.failure ?? ""
        #expect(failure.contains("matches more than one file"), "\(failure)")
        #expect(failure.contains(dir + "/libTwinProbe.so") && failure.contains(dir + "/libtwin_probe.so"), "\(failure)")
    }

    @Test func hostCallsFromTheEntryPointAreRefusedAndNamed() throws {
        var source = CPluginSource(name: "eager")
        source.extraCode = "static int32_t entry_log_result = 1;"
        source.entryCode = """
            r->api->log(NULL, JAMEY_LOG_INFO, "too early", 9);
            entry_log_result = r->api->publish((jamey_host *)(uintptr_t)0xdead, NULL);
            """
        let library = try PluginLibrary.load(path: try build(source, name: "eager"))
        #expect(library.entryPointCalls == ["log", "publish"])
    }
}
