import Foundation
import JameyTestKit
import Testing

@testable import JameyKernel

/// Every loader failure, each with a deliberately broken library built here with `cc`.
@Suite struct LoaderTests {
    func build(_ source: CPluginSource, name: String = "probe") throws -> String {
        try TestPlugins.buildC(name: name, source: source.render())
    }

    func expectFailure(_ path: String, _ check: LoadError.Check, _ fragments: [String]) {
        do {
            _ = try PluginLibrary.load(path: path)
            Issue.record("expected \(check) for \(path)")
        } catch {
            #expect(error.check == check)
            #expect(error.message.hasPrefix(path), "message names the file: \(error.message)")
            for f in fragments { #expect(error.message.contains(f), "'\(f)' in: \(error.message)") }
        }
    }

    @Test func loadsAValidPlugin() throws {
        var source = CPluginSource(name: "good")
        source.requires = [("other", "^1.2")]
        source.provides = [("good.api", "1.4.0")]
        let library = try PluginLibrary.load(path: try build(source))
        #expect(library.descriptor.name == "good")
        #expect(library.descriptor.version == SemanticVersion(1, 0, 0))
        #expect(library.descriptor.requires == [PluginRequirement(name: "other", range: "^1.2")])
        #expect(library.descriptor.provides.map(\.description) == ["good.api 1.4.0"])
        #expect(library.descriptor.abiVersion == "\(Kernel.abiMajor).\(Kernel.abiMinor)")
    }

    @Test func missingFile() {
        expectFailure("/nonexistent/libnothing.so", .missingFile, ["does not exist"])
    }

    @Test func notAnELFFile() throws {
        let dir = try TemporaryDirectory.make()
        let path = dir + "/libtext.so"
        try "#!/bin/sh\necho hi\n".write(toFile: path, atomically: true, encoding: .utf8)
        expectFailure(path, .notELF, ["expected an ELF file", "#!/bin/s"])
        let empty = dir + "/libempty.so"
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        expectFailure(empty, .notELF, ["an empty file"])
    }

    @Test func wrongArchitecture() throws {
        let dir = try TemporaryDirectory.make()
        var header = [UInt8](repeating: 0, count: 64)
        header[0...3] = [0x7F, 0x45, 0x4C, 0x46]
        header[4] = 2  // 64-bit
        header[5] = 1  // little endian
        header[6] = 1
        header[16] = 3  // ET_DYN
        let foreign: UInt16 =
            ELFHeader.hostMachine == ELFHeader.machineAArch64 ? ELFHeader.machineX86_64 : ELFHeader.machineAArch64
        header[18] = UInt8(foreign & 0xFF)
        header[19] = UInt8(foreign >> 8)
        let path = dir + "/libforeign.so"
        _ = FileManager.default.createFile(atPath: path, contents: Data(header))
        expectFailure(
            path, .wrongArchitecture, ["wrong architecture", "found a 64-bit ELF for \(ELFHeader.machineName(foreign))"])
        header[4] = 1  // 32-bit, host machine
        header[18] = UInt8(ELFHeader.hostMachine & 0xFF)
        header[19] = UInt8(ELFHeader.hostMachine >> 8)
        let path32 = dir + "/lib32.so"
        _ = FileManager.default.createFile(atPath: path32, contents: Data(header))
        expectFailure(path32, .wrongArchitecture, ["found a 32-bit ELF"])
    }

    @Test func unresolvedSymbolFailsAtDlopen() throws {
        var source = CPluginSource(name: "unresolved")
        source.extraCode =
            "extern int jamey_test_symbol_that_does_not_exist(void);\nint use_it(void) { return jamey_test_symbol_that_does_not_exist(); }"
        expectFailure(try build(source), .dlopenFailed, ["dlopen failed", "jamey_test_symbol_that_does_not_exist"])
    }

    @Test func noEntrySymbol() throws {
        var source = CPluginSource(name: "noentry")
        source.exportEntry = false
        expectFailure(try build(source), .noEntrySymbol, ["jamey_plugin_register", "found none"])
    }

    @Test func pluginRefusesHost() throws {
        var source = CPluginSource(name: "refuser")
        source.refuseHost = true
        expectFailure(try build(source), .refused, ["returned NULL"])
    }

    @Test func abiMajorMismatch() throws {
        var source = CPluginSource(name: "future")
        source.abiMajor = "JAMEY_ABI_MAJOR + 1"
        expectFailure(
            try build(source), .abiMajorMismatch,
            ["expected \(Kernel.abiMajor).x", "found \(Kernel.abiMajor + 1).\(Kernel.abiMinor)"])
    }

    @Test func abiMinorNewerThanKernel() throws {
        var source = CPluginSource(name: "newer")
        source.abiMinor = "JAMEY_ABI_MINOR + 3"
        expectFailure(
            try build(source), .abiMinorTooNew, ["newer than this kernel", "found \(Kernel.abiMinor + 3)", "upgrade the kernel"])
    }

    @Test func descriptorTooSmall() throws {
        var source = CPluginSource(name: "small")
        source.structSize = "16"
        expectFailure(try build(source), .structTooSmall, ["jamey_plugin_descriptor too small", "found 16"])
    }

    @Test func emptyAndInvalidNames() throws {
        expectFailure(try build(CPluginSource(name: "")), .emptyName, ["name is empty"])
        expectFailure(try build(CPluginSource(name: nil), name: "nullname"), .emptyName, ["name is empty"])
        expectFailure(try build(CPluginSource(name: "Bad Name"), name: "badname"), .invalidName, ["\"Bad Name\" is invalid"])
    }

    @Test func invalidVersionAndRangeAndMissingInit() throws {
        var v = CPluginSource(name: "badversion")
        v.version = "one"
        expectFailure(try build(v), .invalidDescriptor, ["expected a semantic version", "\"one\""])
        var r = CPluginSource(name: "badrange")
        r.requires = [("x", ">>1")]
        expectFailure(try build(r), .invalidDescriptor, ["invalid version range", "\">>1\""])
        var i = CPluginSource(name: "noinit")
        i.hasInit = false
        expectFailure(try build(i), .invalidDescriptor, ["no init hook"])
    }

    @Test func invalidConfigSchemaIsALoadError() throws {
        var s = CPluginSource(name: "badschema")
        s.configFields = [
            "{sizeof(jamey_config_field), JAMEY_CONFIG_INT, \"n\", JAMEY_CONFIG_HAS_MIN | JAMEY_CONFIG_HAS_MAX, 0, NULL, 10, 1, NULL, NULL, NULL, 0}"
        ]
        expectFailure(try build(s), .invalidSchema, ["invalid config schema"])
    }

    @Test func configNameMustMatchDescriptor() throws {
        let path = try build(CPluginSource(name: "actual"))
        let k = try TestKernel.boot(plugins: [.init("expected", path: path)], start: false)
        defer { k.shutdown() }
        let status = try #require(k.kernel.plugin(named: "expected"))
        #expect(status.state == .failed)
        #expect(
            status.failure?.contains("configured as 'plugins.expected' but the library's descriptor names it 'actual'") == true)
    }

    @Test func duplicateNameAcrossEntries() throws {
        let a = try build(CPluginSource(name: "twin"), name: "twin1")
        let b = try build(CPluginSource(name: "twin"), name: "twin2")
        let k = try TestKernel.boot(plugins: [.init("twin", path: a), .init("other", path: b)], start: false)
        defer { k.shutdown() }
        #expect(k.kernel.plugin(named: "twin")?.state == .loaded)
        let other = try #require(k.kernel.plugin(named: "other"))
        #expect(other.state == .failed)
        #expect(other.failure?.contains("duplicate plugin name 'twin': already loaded for 'plugins.twin'") == true)
    }

    @Test func initErrorCarriesThePluginsMessage() throws {
        var s = CPluginSource(name: "initfail")
        s.initError = "database file is locked"
        let k = try TestKernel.boot(plugins: [.init("initfail", path: try build(s))])
        defer { k.shutdown() }
        let status = try #require(k.kernel.plugin(named: "initfail"))
        #expect(status.state == .failed)
        #expect(status.failure == "init failed (JAMEY_E_PLUGIN): database file is locked (file \(status.path ?? ""))")
    }

    @Test func failedOptionalPluginLeavesOthersRunning() throws {
        let good = try build(CPluginSource(name: "fine"), name: "fine")
        let k = try TestKernel.boot(plugins: [
            .init("missing", path: "/nonexistent/libmissing.so"), .init("fine", path: good),
        ])
        defer { k.shutdown() }
        #expect(k.kernel.plugin(named: "missing")?.state == .failed)
        #expect(k.kernel.plugin(named: "fine")?.state == .started)
    }

    @Test func failedRequiredPluginStopsStartUp() throws {
        #expect(throws: KernelError.self) {
            _ = try TestKernel.boot(plugins: [.init("missing", path: "/nonexistent/libmissing.so", required: true)])
        }
        do {
            _ = try TestKernel.boot(plugins: [.init("missing", path: "/nonexistent/libmissing.so", required: true)])
        } catch let error as KernelError {
            #expect(
                error.description.contains(
                    "required plugin failed to load: /nonexistent/libmissing.so: plugin file does not exist"))
        }
    }

    @Test func findsLibraryInPluginDirIgnoringCaseAndSeparators() throws {
        let dir = try TemporaryDirectory.make()
        _ = try TestPlugins.buildC(name: "MyProbe", source: CPluginSource(name: "my_probe").render(), in: dir)
        let k = try TestKernel.boot(yaml: TestKernel.yaml(plugins: [.init("my_probe", path: nil)], extra: "plugin_dir: \(dir)"))
        defer { k.shutdown() }
        #expect(k.kernel.plugin(named: "my_probe")?.state == .started)
        #expect(k.kernel.plugin(named: "my_probe")?.path == dir + "/libMyProbe.so")
    }
}

/// ABI 1.1 routes, and that a 1.0 plugin's spare slots are never read as routes.
@Suite struct RouteLoadingTests {
    static let route = #"{sizeof(jamey_route), 0, "GET", "/v1/items/{id}", "items.get", "read", "Get an item"}"#

    @Test func routesAreRead() throws {
        var s = CPluginSource(name: "router")
        s.routes = [Self.route, #"{sizeof(jamey_route), 0, "POST", "/v1/items", "items.create", "write", NULL}"#]
        let lib = try PluginLibrary.load(path: try TestPlugins.buildC(name: "router", source: s.render()))
        #expect(
            lib.descriptor.routes.map(\.description) == [
                "GET /v1/items/{id} -> items.get [read]", "POST /v1/items -> items.create [write]",
            ])
    }

    @Test func pluginBuiltFor12WithTheSmallerRouteStructStillLoads() throws {
        var s = CPluginSource(name: "older")
        s.abiMinor = "2"
        // jamey_route as 1.1 and 1.2 compiled it: no operation_id, schemas or description.
        s.extraCode = """
            struct route12 { uint32_t struct_size, flags; const char *method, *path, *topic, *scope, *summary; };
            static const struct route12 routes12[] = {
                {sizeof(struct route12), 0, "GET", "/v1/older/a", "older.a", "read", "A"},
                {sizeof(struct route12), 0, "POST", "/v1/older/b", "older.b", "write", NULL},
            };
            """
        s.entryCode = "descriptor.routes = (const jamey_route *)routes12; descriptor.route_count = 2;"
        let lib = try PluginLibrary.load(path: try TestPlugins.buildC(name: "older", source: s.render()))
        #expect(lib.descriptor.abiVersion == "1.2")
        #expect(
            lib.descriptor.routes.map(\.description) == [
                "GET /v1/older/a -> older.a [read]", "POST /v1/older/b -> older.b [write]",
            ])
        #expect(lib.descriptor.routes.allSatisfy { $0.operationID == nil && $0.requestSchema == nil && $0.details == nil })
    }

    @Test func pluginBuiltFor10IgnoresTheSlots() throws {
        var s = CPluginSource(name: "old")
        s.abiMinor = "0"
        s.routes = [#"{sizeof(jamey_route), 0, "BREW", "nope", "", "root", NULL}"#]
        let lib = try PluginLibrary.load(path: try TestPlugins.buildC(name: "old", source: s.render()))
        #expect(lib.descriptor.abiVersion == "1.0")
        #expect(lib.descriptor.routes.isEmpty)
    }

    @Test(arguments: [
        (#"{sizeof(jamey_route), 0, "BREW", "/x", "t", "read", NULL}"#, "method expected one of GET"),
        (#"{sizeof(jamey_route), 0, "GET", "x/y", "t", "read", NULL}"#, "path expected"),
        (#"{sizeof(jamey_route), 0, "GET", "/a/{id}/{id}", "t", "read", NULL}"#, "path expected"),
        (#"{sizeof(jamey_route), 0, "GET", "/a", "t.*", "read", NULL}"#, "topic expected a concrete dotted topic"),
        (#"{sizeof(jamey_route), 0, "GET", "/a", "t", "root", NULL}"#, "scope expected public, read, write or admin"),
        (#"{8, 0, "GET", "/a", "t", "read", NULL}"#, "jamey_route too small"),
        (
            #"{sizeof(jamey_route), 0, "GET", "/a", "t", "read", NULL, "bad id", NULL, NULL, NULL}"#,
            "operation_id expected [A-Za-z]"
        ),
        (
            #"{sizeof(jamey_route), 0, "GET", "/a", "t", "read", NULL, NULL, "[1]", NULL, NULL}"#,
            "request_schema expected a JSON Schema"
        ),
    ])
    func badRoutesAreRejected(route: String, fragment: String) throws {
        var s = CPluginSource(name: "badroute")
        s.routes = [route]
        let path = try TestPlugins.buildC(name: "badroute", source: s.render())
        do {
            _ = try PluginLibrary.load(path: path)
            Issue.record("expected a route error")
        } catch {
            #expect(error.message.contains(fragment), "\(error.message)")
        }
    }
}
