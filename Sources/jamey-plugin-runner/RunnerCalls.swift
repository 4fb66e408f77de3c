import CJameyABI
import Dispatch
import JameyIsolationWire
import Synchronization

/// The answer to a call the runner made to the kernel.
struct CallAnswer: Sendable {
    var code: Int32 = JAMEY_E_SHUTDOWN
    var value: UInt64 = 0
    var text = ""
    /// For `request_sync`: the reply frame's body after its status (nil: no reply).
    var reply: [UInt8]?
}

/// Calls from the plugin's threads that wait for the kernel's answer, by sequence number.
final class RunnerCalls: Sendable {
    private final class Slot: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        var answer = CallAnswer()
    }

    private let next = Atomic<UInt64>(1)
    private let slots = Mutex<[UInt64: Slot]>([:])

    /// A fresh sequence number.
    func sequence() -> UInt64 { next.add(1, ordering: .relaxed).oldValue }

    /// Sends `frame` (built for sequence `seq`) and waits for its answer.
    func call(_ seq: UInt64, _ frame: [UInt8], over socket: FrameSocket) -> CallAnswer {
        let slot = Slot()
        slots.withLock { $0[seq] = slot }
        guard socket.send(frame) else {
            slots.withLock { _ = $0.removeValue(forKey: seq) }
            return CallAnswer()
        }
        slot.done.wait()
        return slot.answer
    }

    /// Hands an answer to the waiting caller (on the reader thread).
    func answer(_ seq: UInt64, _ answer: CallAnswer) {
        guard let slot = slots.withLock({ $0.removeValue(forKey: seq) }) else { return }
        slot.answer = answer
        slot.done.signal()
    }

    /// Wakes every caller with `JAMEY_E_SHUTDOWN` (the kernel is gone).
    func failAll() {
        for slot in slots.withLock({ s in
            defer { s.removeAll() }; return Array(s.values)
        }) { slot.done.signal() }
    }
}
