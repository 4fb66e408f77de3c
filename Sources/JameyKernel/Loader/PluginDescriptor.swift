import CJameyABI

/// A capability a plugin requires: a plugin or service name and the versions it accepts.
public struct PluginRequirement: Sendable, Hashable, CustomStringConvertible {
    /// The plugin or service name.
    public let name: String
    /// The accepted versions.
    public let range: String
    /// `JAMEY_DEPENDENCY_OPTIONAL` (ABI 1.7): an ordering, not a condition (the plugin runs
    /// without it, starts after it when it is there, and is not restarted with it).
    public let optional: Bool

    public init(name: String, range: String, optional: Bool = false) {
        self.name = name
        self.range = range
        self.optional = optional
    }

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
    /// Since 1.3; nil for plugins built for an older minor (their slot was spare).
    var reconfigure: jamey_plugin_reconfigure_fn? { pointer.pointee.abi_minor >= 3 ? pointer.pointee.reconfigure : nil }
    /// Since 1.6; nil for plugins built for an older minor (their slot was spare).
    var check: jamey_plugin_check_fn? { pointer.pointee.abi_minor >= 6 ? pointer.pointee.check : nil }
    /// Since 1.7: the two slots after `check`.
    var handOver: jamey_plugin_dir_fn? { pointer.pointee.abi_minor >= 7 ? pointer.pointee.hand_over : nil }
    var takeOver: jamey_plugin_dir_fn? { pointer.pointee.abi_minor >= 7 ? pointer.pointee.take_over : nil }
}

extension PluginDescriptor {
    static let nameCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789_-")

    /// Reads and checks a C descriptor. Every failure names the file and the field; nothing is
    /// read from the plugin without a bound (see ``DescriptorLimits``).
    init(reading raw: UnsafePointer<jamey_plugin_descriptor>, path: String) throws(LoadError) {
        var reader = DescriptorReader(path: path)
        guard let head = PluginMemory.load((UInt32, UInt16, UInt16).self, at: UnsafeRawPointer(raw)) else {
            throw LoadError(
                .invalidDescriptor, path: path, "the entry point returned a descriptor pointer into unreadable memory")
        }
        let size = Int(head.0)
        let expected = MemoryLayout<jamey_plugin_descriptor>.size
        let major = Int(head.1)
        let minor = Int(head.2)
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
        guard let d = PluginMemory.load(jamey_plugin_descriptor.self, at: UnsafeRawPointer(raw)) else {
            throw LoadError(
                .invalidDescriptor, path: path, "the descriptor extends into unreadable memory (struct_size \(size))")
        }
        let nameRead = PluginMemory.text(d.name, limit: DescriptorLimits.name)
        guard nameRead != .null else {
            throw LoadError(.emptyName, path: path, "descriptor name is empty: expected a name of [a-z0-9_-], found NULL")
        }
        guard case .text(let name) = nameRead else {
            throw LoadError(
                .invalidName, path: path,
                "descriptor name is invalid: expected 1 to \(DescriptorLimits.name) of [a-z0-9_-], found \(PluginMemory.describe(nameRead, limit: DescriptorLimits.name))"
            )
        }
        guard !name.isEmpty else {
            throw LoadError(.emptyName, path: path, "descriptor name is empty: expected a name of [a-z0-9_-], found \"\"")
        }
        guard name.allSatisfy(Self.nameCharacters.contains) else {
            throw LoadError(
                .invalidName, path: path,
                "descriptor name \"\(PluginMemory.printable(name))\" is invalid: expected 1 to \(DescriptorLimits.name) of [a-z0-9_-]"
            )
        }
        reader.plugin = name
        let versionText = try reader.string(d.version, field: "version", limit: DescriptorLimits.version) ?? ""
        guard let version = SemanticVersion(versionText) else {
            throw reader.error(
                .invalidDescriptor,
                "version is invalid: expected a semantic version such as 1.0.0, found \"\(PluginMemory.printable(versionText))\"")
        }
        let summary = try reader.string(d.description, field: "description", limit: DescriptorLimits.summary) ?? ""
        guard d.`init` != nil else {
            throw reader.error(.invalidDescriptor, "has no init hook: expected a function pointer, found NULL")
        }
        var requires: [PluginRequirement] = []
        for dep in try Self.dependencies(d.requires_list, count: d.requires_count, field: "requires", reader: reader) {
            guard VersionRange(dep.version) != nil else {
                throw reader.error(
                    .invalidDescriptor,
                    "requires '\(dep.name)' with an invalid version range: expected e.g. \"^1.2\" or \">=1.0.0 <2.0.0\", found \"\(PluginMemory.printable(dep.version))\""
                )
            }
            // Reserved (0) before 1.7: whatever an older plugin left there is not read.
            let flags = minor >= 7 ? dep.flags : 0
            guard flags & ~JAMEY_DEPENDENCY_OPTIONAL == 0 else {
                throw reader.error(
                    .invalidDescriptor,
                    "requires '\(dep.name)' with unknown flags 0x\(String(flags, radix: 16)): expected JAMEY_DEPENDENCY_OPTIONAL (0x1) or 0"
                )
            }
            requires.append(
                PluginRequirement(name: dep.name, range: dep.version, optional: flags & JAMEY_DEPENDENCY_OPTIONAL != 0))
        }
        var provides: [PluginProvision] = []
        for dep in try Self.dependencies(d.provides_list, count: d.provides_count, field: "provides", reader: reader) {
            guard let v = SemanticVersion(dep.version) else {
                throw reader.error(
                    .invalidDescriptor,
                    "provides '\(dep.name)' with an invalid version: expected a semantic version, found \"\(PluginMemory.printable(dep.version))\""
                )
            }
            provides.append(PluginProvision(name: dep.name, version: v))
        }
        let schema: [ConfigField]
        do {
            schema = try ConfigField.fields(d.config_fields, count: d.config_field_count, reader: reader)
            try ConfigSchema(fields: schema).validateSchema()
        } catch let error as LoadError {
            throw error
        } catch {
            throw reader.error(.invalidSchema, "declares an invalid config schema: \(error)")
        }
        var hooks: Set<String> = ["init"]
        if d.start != nil { hooks.insert("start") }
        if d.stop != nil { hooks.insert("stop") }
        if d.`deinit` != nil { hooks.insert("deinit") }
        if d.health != nil { hooks.insert("health") }
        if d.snapshot != nil { hooks.insert("snapshot") }
        if d.restore != nil { hooks.insert("restore") }
        // Since 1.3, as the kernel reads it (RawDescriptor.reconfigure).
        if minor >= 3 && d.reconfigure != nil { hooks.insert("reconfigure") }
        if minor >= 6 && d.check != nil { hooks.insert("check") }
        if minor >= 7 && d.hand_over != nil { hooks.insert("hand_over") }
        if minor >= 7 && d.take_over != nil { hooks.insert("take_over") }
        // Since 1.1: routes occupy what were the first two spare slots in 1.0, so they are read
        // only from plugins built for 1.1 or later.
        let routes = minor >= 1 ? try PluginRoute.read(d.routes, count: d.route_count, minor: minor, reader: reader) : []
        self.init(
            name: name, version: version, summary: summary,
            abiMajor: major, abiMinor: minor, requires: requires, provides: provides, configSchema: schema, hooks: hooks,
            routes: routes)
    }

    /// Reads a `jamey_dependency` list.
    private static func dependencies(
        _ base: UnsafePointer<jamey_dependency>?, count: Int, field: String, reader: DescriptorReader
    ) throws(LoadError) -> [(name: String, version: String, flags: UInt32)] {
        let list = try reader.array(
            base, count: count, limit: DescriptorLimits.dependencies, field: field, elementName: "jamey_dependency")
        var result: [(String, String, UInt32)] = []
        for (i, dep) in list.enumerated() {
            let name = try reader.string(dep.name, field: "\(field)[\(i)].name", limit: DescriptorLimits.dependencyName) ?? ""
            guard !name.isEmpty else {
                throw reader.error(.invalidDescriptor, "\(field)[\(i)]: expected a name, found none")
            }
            let version =
                try reader.string(dep.version, field: "\(field)[\(i)].version", limit: DescriptorLimits.versionRange) ?? "*"
            result.append((name, version, dep.flags))
        }
        return result
    }
}
