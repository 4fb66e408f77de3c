// jamey-plugin-runner: runs one plugin library in a process of its own for a kernel that
// isolates it (`plugins.<name>.isolation: process`). The kernel starts it with
//
//   jamey-plugin-runner <kernel pid> <library path> <memory MiB> <cpu seconds> <open files>
//
// its end of a socket pair as descriptor 3 and the shared memory of its two rings as descriptor 4.
// The runner dies with the kernel (SIGKILL on the parent's death), maps the rings, applies the
// limits, loads the library, calls its entry point with a host table that forwards to the kernel
// (bus traffic through the rings, the rest over the socket), and runs what the kernel asks until
// the socket closes. Not meant to be started by hand.
import CJameyABI
import CJameySystem
import JameyIsolationWire

#if canImport(Glibc)
    import Glibc
#endif

func fail(_ text: String) -> Never {
    let line = Array("jamey-plugin-runner: \(text)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    _exit(70)
}

let arguments = CommandLine.arguments
guard arguments.count == 6, let parent = Int32(arguments[1]), let memory = UInt64(arguments[3]),
    let cpu = UInt64(arguments[4]), let files = UInt64(arguments[5])
else {
    fail("usage: jamey-plugin-runner <kernel pid> <library> <memory MiB> <cpu seconds> <open files> (started by the kernel)")
}
guard jamey_child_guard(parent) == 0 else { _exit(0) }
// The rings the kernel shares with this process (mapped before the limits apply).
let rings: SharedRings
switch SharedRings.attach(fd: JAMEY_RUNNER_RING_FD) {
case .success(let r): rings = r
case .failure(let error): fail("\(error)")
}
let limits = jamey_child_limits(memory, cpu, files)
guard limits == 0 else { fail("cannot set limits: \(String(cString: strerror(-limits)))") }
let path = arguments[2]
guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
    fail("dlopen \(path): \(dlerror().map { String(cString: $0) } ?? "unknown error")")
}
guard let symbol = dlsym(handle, JAMEY_PLUGIN_ENTRY_SYMBOL) else { fail("\(path) exports no \(JAMEY_PLUGIN_ENTRY_SYMBOL)") }
let register = unsafeBitCast(symbol, to: jamey_plugin_register_fn.self)
guard let descriptor = register(RunnerHostAPI.registration) else { fail("\(path): the entry point returned NULL") }
Runner.shared = Runner(socket: FrameSocket(fd: JAMEY_RUNNER_SOCKET_FD), rings: rings, descriptor: descriptor)
Runner.shared.serve()
