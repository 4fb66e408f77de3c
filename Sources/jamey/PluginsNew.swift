import ArgumentParser
import Foundation
import JameyKernel

extension PluginsCommand {
    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a plugin skeleton that builds and loads as is.",
            discussion: """
                C: DIR/NAME/ with NAME.c, a Makefile and copies of jamey/plugin.h and the plugins' service \
                headers (jamey/cache.h, jamey/memory.h); build with `make`.
                Swift: DIR/NAME/ with a Package.swift depending on the plugin kit package (Kit/ in \
                this Jamey source tree: JameyPluginKit, swift-log, swift-metrics); build with `swift build`.
                The Jamey source tree is found from the jamey binary's location or $JAMEY_SOURCE_ROOT.
                """)

        enum Language: String, ExpressibleByArgument, CaseIterable { case swift, c }

        @Argument(help: "Plugin name: lowercase letters, digits, '_' or '-'.") var name: String
        @Option(help: "Language of the skeleton.") var lang: Language
        @Option(help: "Directory to create the skeleton in (default: current directory).") var dir: String = "."

        func validate() throws {
            let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_-")
            guard !name.isEmpty, name.count <= 64, name.allSatisfy(allowed.contains), name.first!.isLetter else {
                throw ValidationError(
                    "plugin name '\(name)' is invalid: expected a lowercase letter, then [a-z0-9_-], at most 64 characters")
            }
            // The Swift skeleton names its target and class after the plugin: a name that is a
            // module of the package graph or a type the kit's code names does not build.
            if lang == .swift, Skeleton.reservedTypeNames.contains(Skeleton.productName(name)) {
                throw ValidationError(
                    "plugin name '\(name)' would name the Swift target and class '\(Skeleton.productName(name))', which a module or type the skeleton uses already has; choose another name"
                )
            }
        }

        func run() throws {
            let root = try SourceTree.locate()
            let target = (dir as NSString).appendingPathComponent(name)
            let fm = FileManager.default
            guard !fm.fileExists(atPath: target) else {
                printError("\(target) already exists; choose another name or --dir")
                throw ExitCode(1)
            }
            let files: [(String, String)]
            switch lang {
            case .c:
                let header = try String(contentsOfFile: root + SourceTree.header, encoding: .utf8)
                files = Skeleton.c(name: name, header: header, services: try SourceTree.serviceHeaders(root))
            case .swift:
                files = Skeleton.swift(name: name, kitPath: root + SourceTree.kit)
            }
            for (relative, content) in files {
                let path = target + "/" + relative
                try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try content.write(toFile: path, atomically: true, encoding: .utf8)
            }
            print("created \(lang.rawValue) plugin '\(name)' in \(target)")
            switch lang {
            case .c:
                print(
                    "build: make -C \(target)    inspect: jamey plugins inspect \(target)/build/lib\(Skeleton.productName(name)).so"
                )
            case .swift:
                print(
                    "build: (cd \(target) && swift build)    inspect: jamey plugins inspect \(target)/.build/debug/lib\(Skeleton.productName(name)).so"
                )
            }
        }
    }
}

/// Finds the Jamey source tree (for the header and the kit package).
enum SourceTree {
    /// The kit package, relative to the source tree.
    static let kit = "/Kit"
    /// The C header, relative to the source tree.
    static let header = kit + "/Sources/CJameyABI/include/jamey/plugin.h"

    /// The plugins' service headers (`Plugins/*/include/jamey/*.h`), by file name.
    static func serviceHeaders(_ root: String) throws -> [(String, String)] {
        let fm = FileManager.default
        var headers: [(String, String)] = []
        for plugin in (try? fm.contentsOfDirectory(atPath: root + "/Plugins"))?.sorted() ?? [] {
            let dir = root + "/Plugins/" + plugin + "/include/jamey"
            for file in (try? fm.contentsOfDirectory(atPath: dir))?.sorted() ?? [] where file.hasSuffix(".h") {
                headers.append((file, try String(contentsOfFile: dir + "/" + file, encoding: .utf8)))
            }
        }
        return headers
    }

    static func locate() throws -> String {
        let marker = header
        if let root = ProcessInfo.processInfo.environment["JAMEY_SOURCE_ROOT"],
            FileManager.default.fileExists(atPath: root + marker)
        {
            // Absolute: the skeleton's Package.swift names the kit by path, which SwiftPM reads
            // against the new package's directory (JAMEY_SOURCE_ROOT=. wrote "./Kit").
            return URL(fileURLWithPath: root).standardizedFileURL.path
        }
        var url = URL(
            fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0])
        for _ in 0..<8 {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.path + marker) { return url.path }
        }
        printError(
            "cannot find the Jamey source tree (looked for \(marker.dropFirst()) above the jamey binary); set JAMEY_SOURCE_ROOT")
        throw ExitCode(1)
    }
}
