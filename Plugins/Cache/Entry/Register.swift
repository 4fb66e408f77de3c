import Cache
import JameyPluginKit

// The library's entry point, in a target of its own so test binaries can link the plugin target
// beside other plugins without two `jamey_plugin_register` symbols.
@_cdecl("jamey_plugin_register") public func register(_ r: JameyRegistration?) -> JameyDescriptor? {
    export(CachePlugin.self, r)
}
