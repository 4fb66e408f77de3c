import CBenchGate
import CJameyBench
import Dispatch
import Foundation
import JameyBenchSupport
import JameyKernel
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// The driver of the deterministic gates (scripts/bench-gates.sh): a fixed number of operations of
// each hot path of the bus, each phase's counters dumped by callgrind under the phase's name.
//
// What is counted, and why it is deterministic (see jamey_bench_gate.h):
//   - the publishing thread while it publishes (or requests, or calls a service) — collection is
//     turned on around the loop on this thread only;
//   - the bus workers while they are inside Subscription.deliver (`--toggle-collect`), i.e. the
//     delivery of the batches, the handlers and the host's ABI trampolines — but not their idle
//     spinning or sleeping, whose length follows timing.
// For the queued paths both bus workers are first parked in a handler that waits on a semaphore,
// so the publisher fills the mailbox without ever waking anyone, then the workers are released
// and drain it in full batches: the same instructions on every run. A message costs its share of
// the publish and of the delivery; the wake-up of a sleeping worker, once per burst, is outside.
// The cross-thread request/reply is the one path with a hand-off per operation; its requester
// spins a little before it sleeps, so its figure moves more than the others (see the script).

/// One phase: a name (`name:operations` in the dump, parsed by the script) and its work.
struct Phase {
    let name: String
    let operations: Int
    let queued: Bool
    let run: () throws -> Void
    let drained: () -> Bool
}

func waitUntil(_ condition: () -> Bool) {
    var spins = 0
    while !condition() {
        usleep(200)
        spins += 1
        if spins > 600_000 {
            print("bus-instructions: a phase did not complete within 120 s")
            exit(1)
        }
    }
}

/// Both bus workers parked in a handler until `release()`.
final class WorkerParking: @unchecked Sendable {
    private let endpoint: BusEndpoint
    private let parked = Atomic<Int>(0)
    private let gate = DispatchSemaphore(value: 0)
    private let workers: Int

    init(endpoint: BusEndpoint, workers: Int) throws {
        self.endpoint = endpoint
        self.workers = workers
        for index in 0..<workers {
            try endpoint.subscribe("gate.park.\(index)") { [self] _ in
                parked.add(1, ordering: .sequentiallyConsistent)
                gate.wait()
                parked.subtract(1, ordering: .sequentiallyConsistent)
                return true
            }
        }
    }

    func park() throws {
        for index in 0..<workers { try endpoint.publish(BusMessage(topic: "gate.park.\(index)")) }
        waitUntil { parked.load(ordering: .sequentiallyConsistent) == workers }
    }

    func release() {
        for _ in 0..<workers { gate.signal() }
        waitUntil { parked.load(ordering: .sequentiallyConsistent) == 0 }
    }
}

let workers = 2
let kernel = try BenchKernel(busWorkers: workers)
let endpoint = kernel.endpoint
let parking = try WorkerParking(endpoint: endpoint, workers: workers)
let driver = kernel.driver
let payload = [UInt8]((0..<Int(JAMEY_BENCH_PAYLOAD_SIZE)).map { UInt8(truncatingIfNeeded: $0) })

// Fan-out: 8 subscriptions of the kernel endpoint, each counting what it receives.
let fanOut = 8
let fanCounts = (0..<fanOut).map { _ in Atomic<Int>(0) }
let fanTotal = Atomic<Int>(0)
for index in 0..<fanOut {
    try endpoint.subscribe("gate.fan", capacity: 1 << 20) { message in
        fanTotal.add(message.payload.count > 0 ? 1 : 0, ordering: .relaxed)
        return true
    }
    _ = index
}
// A direct subscription (runs on the publisher's thread) and a direct responder.
let directCount = Atomic<Int>(0)
try endpoint.subscribe("gate.direct", direct: true) { message in
    directCount.add(message.payload.count, ordering: .relaxed)
    return true
}
try endpoint.subscribe("gate.echo", responder: true, direct: true) { request in
    guard let replyTo = request.replyTo else { return true }
    do throws(BusError) {
        try endpoint.reply(
            to: replyTo, correlationID: request.correlationID, BusMessage(topic: "reply", payload: request.payload))
    } catch {
        return false
    }
    return true
}

/// VmRSS of this process, in bytes.
func residentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return (line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0) * 1024
    }
    return 0
}

// `--memory` (run natively, not under valgrind): a burst of 1M 64-byte messages from the Swift
// plugin queued in the C sink's mailbox while the workers are parked, then drained; the resident
// memory must come back to within a quarter of the burst's growth of where it was.
if CommandLine.arguments.contains("--memory") {
    let messages: UInt64 = 1_000_000
    usleep(200_000)
    let idle = residentBytes()
    try parking.park()
    let before = kernel.delivered
    let code = driver.publish_n!(driver.context, messages)
    guard code == 0 else { throw BenchError("publish_n failed with code \(code)") }
    let peak = residentBytes()
    parking.release()
    waitUntil { kernel.delivered >= before + messages }
    usleep(200_000)
    let after = residentBytes()
    let growth = max(1, peak - idle)
    let kept = Double(max(0, after - idle)) / Double(growth)
    let mb = { (bytes: Int) in String(format: "%.1f MB", Double(bytes) / 1e6) }
    print(
        "memory: idle \(mb(idle)), 1M messages queued \(mb(peak)), drained \(mb(after)): "
            + String(format: "%.0f %% of the burst's growth kept", kept * 100))
    kernel.shutdown()
    exit(kept <= 0.25 ? 0 : 1)
}

var phases: [Phase] = []
let burst = 20_000
var expectedDelivered: UInt64 = 0
phases.append(
    Phase(
        name: "publish_swift_to_c", operations: burst, queued: true,
        run: {
            expectedDelivered = kernel.delivered + UInt64(burst)
            let code = driver.publish_n!(driver.context, UInt64(burst))
            if code != 0 { throw BenchError("publish_n failed with code \(code)") }
        },
        drained: { kernel.delivered >= expectedDelivered }))
let fanBurst = 5_000
var expectedFan = 0
phases.append(
    Phase(
        name: "publish_fanout_8", operations: fanBurst, queued: true,
        run: {
            expectedFan = fanTotal.load(ordering: .relaxed) + fanBurst * fanOut
            let message = BusMessage(topic: "gate.fan", payload: payload)
            for _ in 0..<fanBurst { try endpoint.publish(message) }
        },
        drained: { fanTotal.load(ordering: .relaxed) >= expectedFan }))
phases.append(
    Phase(
        name: "publish_direct", operations: burst, queued: false,
        run: {
            let message = BusMessage(topic: "gate.direct", payload: payload)
            for _ in 0..<burst { try endpoint.publish(message) }
        },
        drained: { true }))
let roundTrips = 2_000
phases.append(
    Phase(
        name: "request_direct", operations: roundTrips, queued: false,
        run: {
            let message = BusMessage(topic: "gate.echo", payload: payload)
            for _ in 0..<roundTrips { _ = try endpoint.requestSync(message) }
        },
        drained: { true }))
phases.append(
    Phase(
        name: "request_reply_c", operations: roundTrips, queued: false,
        run: {
            let message = BusMessage(topic: JAMEY_BENCH_ECHO_C_TOPIC, payload: payload)
            for _ in 0..<roundTrips { _ = try endpoint.requestSync(message) }
        },
        drained: { true }))
let calls = 100_000
phases.append(
    Phase(
        name: "service_call", operations: calls, queued: false,
        run: { blackHole(driver.mix_via_table!(driver.context, UInt64(calls), 7)) },
        drained: { true }))

@inline(never)
func blackHole(_ value: UInt64) {
    if value == 0x5eed_5eed_5eed_5eed { print("") }
}

// Each phase twice: the first warms caches, lazily created metadata and mailbox storage.
for phase in phases {
    for round in ["warm", "measured"] {
        if phase.queued { try parking.park() }
        usleep(20_000)
        jamey_gate_zero()
        jamey_gate_collect(1)
        try phase.run()
        jamey_gate_collect(0)
        if phase.queued { parking.release() }
        waitUntil(phase.drained)
        usleep(20_000)
        jamey_gate_dump(round == "measured" ? "\(phase.name):\(phase.operations)" : "warm")
    }
    print("\(phase.name): \(phase.operations) operations")
}
kernel.shutdown()
