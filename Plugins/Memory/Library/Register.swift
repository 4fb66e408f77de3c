import JameyPluginKit
import MemoryPlugin

// The library's one exported entry point. It lives in a target of its own so tests can link the
// plugin's code (MemoryPlugin) beside other plugins without two `jamey_plugin_register` symbols.
@_cdecl("jamey_plugin_register") public func register(_ r: JameyRegistration?) -> JameyDescriptor? {
    export(Memory.self, r)
}
