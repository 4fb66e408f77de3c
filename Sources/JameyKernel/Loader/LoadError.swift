/// Why a plugin could not be loaded: one sentence an operator can act on, naming the file, the
/// check that failed, what was expected and what was found.
public struct LoadError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The check that failed. A struct over a private enum, so new checks break nobody.
    public struct Check: Sendable, Hashable, CustomStringConvertible {
        private enum Code: String, Sendable {
            case missingFile, notELF, wrongArchitecture, dlopenFailed, noEntrySymbol, refused
            case abiMajorMismatch, abiMinorTooNew, structTooSmall, invalidDescriptor
            case emptyName, invalidName, duplicateName, nameMismatch, invalidSchema
            case corruptELF, ambiguousFile, notIsolatable, changedSinceLoaded
        }
        private let code: Code
        private init(_ code: Code) { self.code = code }
        /// The plugin file does not exist.
        public static let missingFile = Check(.missingFile)
        /// The file is not an ELF shared object.
        public static let notELF = Check(.notELF)
        /// The file is ELF, for another machine or word size.
        public static let wrongArchitecture = Check(.wrongArchitecture)
        /// `dlopen` refused the file (missing dependency library, unresolved symbol, ...).
        public static let dlopenFailed = Check(.dlopenFailed)
        /// The library does not export `jamey_plugin_register`.
        public static let noEntrySymbol = Check(.noEntrySymbol)
        /// The entry point returned NULL: the plugin refused this host.
        public static let refused = Check(.refused)
        /// The plugin was built for another ABI major version.
        public static let abiMajorMismatch = Check(.abiMajorMismatch)
        /// The plugin was built for a newer ABI minor version than this kernel's.
        public static let abiMinorTooNew = Check(.abiMinorTooNew)
        /// A struct the plugin filled in is smaller than this ABI's version of it.
        public static let structTooSmall = Check(.structTooSmall)
        /// A descriptor field is missing or malformed (no init hook, bad version, bad range).
        public static let invalidDescriptor = Check(.invalidDescriptor)
        /// The descriptor's name is empty.
        public static let emptyName = Check(.emptyName)
        /// The descriptor's name has characters outside `[a-z0-9_-]`.
        public static let invalidName = Check(.invalidName)
        /// Another loaded plugin has the same name.
        public static let duplicateName = Check(.duplicateName)
        /// The config names the plugin differently from its descriptor.
        public static let nameMismatch = Check(.nameMismatch)
        /// The declared config schema is itself invalid.
        public static let invalidSchema = Check(.invalidSchema)
        /// The ELF file is truncated or corrupt (segments or headers outside the file).
        public static let corruptELF = Check(.corruptELF)
        /// Looking a plugin up by name found more than one file.
        public static let ambiguousFile = Check(.ambiguousFile)
        /// `isolation: process` for a plugin that provides or requires a service table.
        public static let notIsolatable = Check(.notIsolatable)
        /// The file at the path is not the one this process loaded from there before, and `dlopen`
        /// would return the earlier image (a library is never unloaded).
        public static let changedSinceLoaded = Check(.changedSinceLoaded)
        public var description: String { code.rawValue }
    }

    /// The file the error is about.
    public let path: String
    /// The failed check.
    public let check: Check
    /// The sentence, starting with the file.
    public let message: String

    init(_ check: Check, path: String, _ detail: String) {
        self.check = check
        self.path = path
        self.message = "\(path): \(detail)"
    }

    public var description: String { message }
}
