import CJameyABI

/// A capability a plugin requires: a plugin or service name and the versions it accepts.
public struct PluginRequirement: Sendable, Hashable, CustomStringConvertible {
    /// The plugin or service name.
    public let name: String
    /// The accepted versions.
    public let range: String
    public var description: String { range == "*" ? name : "\(name) \(range)" }
}

/// A capability a plugin provides: a service name and its exact version.
public struct PluginProvision: Sendable, Hashable, CustomStringConvertible {
    /// The service name.
    public let name: String
    /// The version it is registered with.
    public let version: SemanticVersion
    public var description: String { "\(name) \(version)" }
}

/// A Swift copy of a plugin's C descriptor, checked and safe to keep.
public struct PluginDescriptor: Sendable {
    /// The plugin's name (names its config section).
    public let name: String
    /// The plugin's version.
    public let version: SemanticVersion
    /// One-line description.
    public let summary: String
    /// The ABI major version the plugin was built with.
    public let abiMajor: Int
    /// The ABI minor version the plugin was built with.
    public let abiMinor: Int
    /// What it needs before it can start.
    public let requires: [PluginRequirement]
    /// The services it registers.
    public let provides: [PluginProvision]
    /// The schema of its config section.
    public let configSchema: [ConfigField]
    /// Which optional hooks it implements.
    public let hooks: Set<String>
    /// HTTP routes it declares (ABI 1.1; empty for 1.0 plugins).
    public let routes: [PluginRoute]

    /// "1.0" style ABI version text.
    public var abiVersion: String { "\(abiMajor).\(abiMinor)" }
}

/// The parts of the C descriptor the kernel calls through. Plugins are never unloaded, so the
/// pointer stays valid for the life of the process.
struct RawDescriptor: @unchecked Sendable {
    let pointer: UnsafePointer<jamey_plugin_descriptor>
    var init_: jamey_plugin_init_fn { pointer.pointee.`init`! }
    var start: jamey_plugin_lifecycle_fn? { pointer.pointee.start }
    var stop: jamey_plugin_lifecycle_fn? { pointer.pointee.stop }
    var deinit_: jamey_plugin_deinit_fn? { pointer.pointee.`deinit` }
    var health: jamey_plugin_health_fn? { pointer.pointee.health }
    var snapshot: jamey_plugin_dir_fn? { pointer.pointee.snapshot }
    var restore: jamey_plugin_dir_fn? { pointer.pointee.restore }
}

extension PluginDescriptor {
    static let nameCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789_-")

    /// Reads and checks a C descriptor. Every failure names the file and the field.
    init(reading raw: UnsafePointer<jamey_plugin_descriptor>, path: String) throws(LoadError) {
        let size = Int(raw.pointee.struct_size)
        let expected = MemoryLayout<jamey_plugin_descriptor>.size
        let major = Int(raw.pointee.abi_major)
        let minor = Int(raw.pointee.abi_minor)
        guard major == Int(JAMEY_ABI_MAJOR) else {
            throw LoadError(
                .abiMajorMismatch, path: path,
                "ABI major version mismatch: expected \(JAMEY_ABI_MAJOR).x, found \(major).\(minor); rebuild the plugin against this kernel's jamey/plugin.h"
            )
        }
        guard minor <= Int(JAMEY_ABI_MINOR) else {
            throw LoadError(
                .abiMinorTooNew, path: path,
                "built for ABI \(major).\(minor), newer than this kernel's \(JAMEY_ABI_MAJOR).\(JAMEY_ABI_MINOR): expected minor <= \(JAMEY_ABI_MINOR), found \(minor); upgrade the kernel"
            )
        }
        guard size >= expected else {
            throw LoadError(
                .structTooSmall, path: path,
                "jamey_plugin_descriptor too small: expected struct_size >= \(expected) bytes, found \(size)")
        }
        let d = raw.pointee
        let name = d.name.map { String(cString: $0) } ?? ""
        guard !name.isEmpty else {
            throw LoadError(.emptyName, path: path, "descriptor name is empty: expected a name of [a-z0-9_-], found \"\"")
        }
        guard name.allSatisfy(Self.nameCharacters.contains), name.count <= 64 else {
            throw LoadError(.invalidName, path: path, "descriptor name \"\(name)\" is invalid: expected 1 to 64 of [a-z0-9_-]")
        }
        let versionText = d.version.map { String(cString: $0) } ?? ""
        guard let version = SemanticVersion(versionText) else {
            throw LoadError(
                .invalidDescriptor, path: path,
                "plugin '\(name)' version is invalid: expected a semantic version such as 1.0.0, found \"\(versionText)\"")
        }
        guard d.`init` != nil else {
            throw LoadError(
                .invalidDescriptor, path: path, "plugin '\(name)' has no init hook: expected a function pointer, found NULL")
        }
        var requires: [PluginRequirement] = []
        for dep in try Self.dependencies(d.requires_list, count: d.requires_count, field: "requires", plugin: name, path: path) {
            guard VersionRange(dep.version) != nil else {
                throw LoadError(
                    .invalidDescriptor, path: path,
                    "plugin '\(name)' requires '\(dep.name)' with an invalid version range: expected e.g. \"^1.2\" or \">=1.0.0 <2.0.0\", found \"\(dep.version)\""
                )
            }
            requires.append(PluginRequirement(name: dep.name, range: dep.version))
        }
        var provides: [PluginProvision] = []
        for dep in try Self.dependencies(d.provides_list, count: d.provides_count, field: "provides", plugin: name, path: path) {
            guard let v = SemanticVersion(dep.version) else {
                throw LoadError(
                    .invalidDescriptor, path: path,
                    "plugin '\(name)' provides '\(dep.name)' with an invalid version: expected a semantic version, found \"\(dep.version)\""
                )
            }
            provides.append(PluginProvision(name: dep.name, version: v))
        }
        let schema: [ConfigField]
        do {
            schema = try ConfigField.fields(d.config_fields, count: d.config_field_count)
            try ConfigSchema(fields: schema).validateSchema()
        } catch {
            throw LoadError(.invalidSchema, path: path, "plugin '\(name)' declares an invalid config schema: \(error)")
        }
        var hooks: Set<String> = ["init"]
        if d.start != nil { hooks.insert("start") }
        if d.stop != nil { hooks.insert("stop") }
        if d.`deinit` != nil { hooks.insert("deinit") }
        if d.health != nil { hooks.insert("health") }
        if d.snapshot != nil { hooks.insert("snapshot") }
        if d.restore != nil { hooks.insert("restore") }
        // Since 1.1: routes occupy what were the first two spare slots in 1.0, so they are read
        // only from plugins built for 1.1 or later.
        let routes = minor >= 1 ? try PluginRoute.read(d.routes, count: d.route_count, plugin: name, path: path) : []
        self.init(
            name: name, version: version, summary: d.description.map { String(cString: $0) } ?? "",
            abiMajor: major, abiMinor: minor, requires: requires, provides: provides, configSchema: schema, hooks: hooks,
            routes: routes)
    }

    /// Walks a C array whose elements start with `struct_size`, using that size as the stride so a
    /// plugin built against a later minor (with larger elements) is read correctly.
    private static func dependencies(
        _ base: UnsafePointer<jamey_dependency>?, count: Int, field: String, plugin: String, path: String
    ) throws(LoadError) -> [(name: String, version: String)] {
        guard count > 0 else { return [] }
        guard let base, count <= 1024 else {
            throw LoadError(
                .invalidDescriptor, path: path, "plugin '\(plugin)' \(field): expected \(count) entries, found a NULL list")
        }
        var result: [(String, String)] = []
        let stride = Int(base.pointee.struct_size)
        guard stride >= MemoryLayout<jamey_dependency>.size else {
            throw LoadError(
                .structTooSmall, path: path,
                "plugin '\(plugin)' \(field): jamey_dependency too small: expected struct_size >= \(MemoryLayout<jamey_dependency>.size), found \(stride)"
            )
        }
        let raw = UnsafeRawPointer(base)
        for i in 0..<count {
            let dep = raw.advanced(by: i * stride).assumingMemoryBound(to: jamey_dependency.self).pointee
            let name = dep.name.map { String(cString: $0) } ?? ""
            guard !name.isEmpty else {
                throw LoadError(.invalidDescriptor, path: path, "plugin '\(plugin)' \(field)[\(i)]: expected a name, found none")
            }
            result.append((name, dep.version.map { String(cString: $0) } ?? "*"))
        }
        return result
    }
}
