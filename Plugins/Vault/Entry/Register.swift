import JameyPluginKit
import Vault

// The library's entry point, in a target of its own so test binaries can link the plugin target
// beside other plugins.
@_cdecl("jamey_plugin_register") public func register(_ r: JameyRegistration?) -> JameyDescriptor? {
    export(VaultPlugin.self, r)
}
