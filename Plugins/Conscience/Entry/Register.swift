import Conscience
import JameyPluginKit

// The library's entry point, in a target of its own: the test binary links the plugin target
// (to boot it in-process) beside HelloSwift, and two `jamey_plugin_register` symbols in one
// binary would not link.
@_cdecl("jamey_plugin_register") public func register(_ r: JameyRegistration?) -> JameyDescriptor? {
    export(ConsciencePlugin.self, r)
}
