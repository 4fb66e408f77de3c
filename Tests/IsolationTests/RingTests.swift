import Foundation
import JameyIsolationWire
import JameyTestKit
import Testing

/// The shared-memory rings between the kernel and a runner: frames longer than a ring stream
/// through it, a full ring holds its writer back, and a closed ring ends every wait.
@Suite("Crash isolation: shared-memory rings")
struct RingTests {
    /// A frame of `kind` with `count` body bytes numbered from `seed`.
    static func frame(_ seed: Int, count: Int) -> [UInt8] {
        var writer = WireWriter(.deliver, capacity: count + 8)
        writer.u64(UInt64(seed))
        writer.bytes((0..<count).map { UInt8(truncatingIfNeeded: $0 &+ seed) })
        return writer.finish()
    }

    /// Reads one frame: its seed and body, or nil at the end.
    static func next(_ ring: FrameRing) -> (Int, [UInt8])? {
        var got: (Int, [UInt8])?
        guard
            ring.receive({ _, body in
                var reader = WireReader(body)
                let seed = Int(reader.u64())
                got = (seed, Array(reader.raw()))
            })
        else { return nil }
        return got
    }

    @Test func framesLongerThanTheRingStreamThroughItInOrder() async throws {
        let rings = try SharedRings.create().get()
        defer { rings.closeDescriptor() }
        let writer = rings.makeDown()
        let reader = rings.makeDown()
        // 1 MiB frames through a 256 KiB ring, with small ones between them (the ring is full most
        // of the time and wraps around mid-frame).
        let sizes = (0..<24).map { $0 % 3 == 0 ? 1 << 20 : 100 + $0 * 37 }
        let sent = LockedBox(0)
        Thread {
            for (seed, size) in sizes.enumerated() where writer.send(Self.frame(seed, count: size)) { sent.set(seed + 1) }
        }.start()
        for (seed, size) in sizes.enumerated() {
            let (got, body) = try #require(Self.next(reader))
            #expect(got == seed)
            #expect(body == (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ seed) })
        }
        #expect(await eventually { sent.get() == sizes.count })
    }

    @Test func aWriterHeldBackByAFullRingGivesUpWhenTheRingCloses() async throws {
        let rings = try SharedRings.create().get()
        defer { rings.closeDescriptor() }
        let writer = rings.makeUp()
        let done = DispatchSemaphore(value: 0)
        let result = LockedBox(true)
        // Nobody reads: a frame four times the ring's size fills it and waits for room.
        Thread {
            result.set(writer.send(Self.frame(1, count: 4 * Int(SharedRings.capacity))))
            done.signal()
        }.start()
        #expect(done.wait(timeout: .now() + .milliseconds(200)) == .timedOut)
        writer.close()
        #expect(done.wait(timeout: .now() + .seconds(30)) == .success)
        #expect(result.get() == false)
        #expect(!writer.send(Self.frame(2, count: 10)))
    }

    @Test func aFrameCutOffMidWriteIsDroppedWhenTheRingCloses() async throws {
        let rings = try SharedRings.create().get()
        defer { rings.closeDescriptor() }
        let writer = rings.makeUp()
        let reader = rings.makeUp()
        #expect(writer.send(Self.frame(1, count: 1000)))
        // A writer killed while copying a frame in: its length says 10,000 bytes, 100 came.
        var cut = Self.frame(2, count: 10_000)
        cut.removeLast(cut.count - 100)
        #expect(writer.send(cut))
        let first = try #require(Self.next(reader))
        #expect(first.0 == 1)
        let ended = DispatchSemaphore(value: 0)
        let second = LockedBox<Bool?>(nil)
        Thread {
            second.set(Self.next(reader) != nil)
            ended.signal()
        }.start()
        // The reader waits for the rest, which never comes, until the kernel sees the process
        // gone and closes the ring: then it ends without a frame.
        #expect(ended.wait(timeout: .now() + .milliseconds(200)) == .timedOut)
        reader.close()
        #expect(ended.wait(timeout: .now() + .seconds(30)) == .success)
        #expect(second.get() == false)
    }

    @Test func whatWasWrittenBeforeTheRingClosedIsStillRead() throws {
        let rings = try SharedRings.create().get()
        defer { rings.closeDescriptor() }
        let ring = rings.makeDown()
        for seed in 0..<3 { #expect(ring.send(Self.frame(seed, count: 50))) }
        ring.close()
        for seed in 0..<3 { #expect(Self.next(ring)?.0 == seed) }
        #expect(Self.next(ring) == nil)
    }
}

/// A value shared with a thread.
final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
    func get() -> Value { lock.withLock { value } }
}
