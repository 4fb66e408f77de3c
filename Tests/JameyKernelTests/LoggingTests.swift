import Foundation
import JameyTestKit
import Logging
import Synchronization
import Testing

@testable import JameyKernel

/// The kernel's log backends: the batching sink and the text and JSON line formats, written to a
/// real pipe and read back.
@Suite struct LoggingTests {
    /// A pipe whose write end a sink uses; `lines()` reads everything written so far.
    final class Pipe: @unchecked Sendable {
        let readFD: Int32
        let writeFD: Int32

        init() throws {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw POSIXError(.EMFILE) }
            readFD = fds[0]
            writeFD = fds[1]
            _ = fcntl(readFD, F_SETFL, fcntl(readFD, F_GETFL) | O_NONBLOCK)
        }

        deinit {
            close(readFD)
            close(writeFD)
        }

        /// Every byte readable now.
        func bytes() -> [UInt8] {
            var data: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                data += chunk[0..<n]
            }
            return data
        }

        /// Everything readable now, split into lines.
        func lines() -> [String] { Self.split(bytes()) }

        static func split(_ data: [UInt8]) -> [String] {
            String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        }
    }

    @Test func sinkWritesEveryLineOfConcurrentWritersWholeAndInTheirOrder() async throws {
        let pipe = try Pipe()
        // A small capacity makes writers wait for the writer thread (back-pressure, not loss);
        // no stall is declared for a reader held off the CPU by a loaded machine.
        let sink = LogSink(fd: pipe.writeFD, capacity: 512, stallAfter: .seconds(60))
        let threads = 4
        let perThread = 2000
        // Everything here blocks (back-pressure, a full pipe), so it runs on threads of its own,
        // never on the tests' cooperative pool: a reader draining the pipe, and the writers.
        let lines = await withCheckedContinuation { (continuation: CheckedContinuation<[String], Never>) in
            Thread {
                var data: [UInt8] = []
                var newlines = 0
                let deadline = Date().addingTimeInterval(60)
                while newlines < threads * perThread && Date() < deadline {
                    let chunk = pipe.bytes()
                    newlines += chunk.count { $0 == 10 }
                    data += chunk
                    usleep(1000)
                }
                continuation.resume(returning: Pipe.split(data))
            }.start()
            Thread {
                DispatchQueue.concurrentPerform(iterations: threads) { t in
                    for i in 0..<perThread { sink.write("writer \(t) line \(i) end\n") }
                }
                _ = sink.flush(timeout: .seconds(30))
            }.start()
        }
        #expect(lines.count == threads * perThread)
        #expect(sink.droppedLines == 0, "a reader that keeps reading loses nothing")
        for t in 0..<threads {
            let mine = lines.filter { $0.hasPrefix("writer \(t) ") }
            #expect(mine == (0..<perThread).map { "writer \(t) line \($0) end" })
        }
    }

    /// A reader that stops reading (a paused pager, a stuck log shipper) stopped every logger
    /// with it, the gateway's access log among them: 75 of 150 requests and /healthz timed out.
    /// Once the writer writes nothing for `stallAfter`, lines that find the queue full are dropped
    /// and counted, and urgent ones stop waiting; when the reader reads again, lines flow.
    @Test func aReaderThatStopsReadingStallsNoLogger() async throws {
        let pipe = try Pipe()
        let sink = LogSink(fd: pipe.writeFD, capacity: 4096, stallAfter: .seconds(1))
        let line = String(repeating: "x", count: 99) + "\n"
        let done = Atomic<Bool>(false)
        // Far more than the pipe (64 KiB) and the queue hold, with nobody reading.
        Thread {
            for _ in 0..<20_000 { sink.write(line) }
            sink.write("urgent while stalled\n", urgent: true)
            done.store(true, ordering: .releasing)
        }.start()
        #expect(await eventually(timeout: .seconds(120)) { done.load(ordering: .acquiring) }, "the loggers were held up")
        #expect(sink.isStalled)
        let dropped = sink.droppedLines
        #expect(dropped > 10_000, "\(dropped)")
        #expect(sink.droppedSinceLastCall() == dropped)
        #expect(sink.droppedSinceLastCall() == 0)

        // The reader comes back: what was queued is written, the sink is no longer stalled, and
        // new lines are written whole.
        var read = pipe.bytes()
        // Reading, until the writer has written again (a line written before that would still
        // find the sink stalled, and be dropped).
        #expect(
            await eventually(timeout: .seconds(60)) {
                read += pipe.bytes()
                return !sink.isStalled
            })
        Thread { sink.write("after\n", urgent: true) }.start()
        var lines: [String] = []
        #expect(
            await eventually(timeout: .seconds(60)) {
                read += pipe.bytes()
                lines = Pipe.split(read)
                return lines.last == "after"
            })
        #expect(!sink.isStalled)
        #expect(lines.allSatisfy { $0 == String(line.dropLast()) || $0 == "urgent while stalled" || $0 == "after" })
        #expect(lines.count == 20_000 - Int(dropped) + 2)
    }

    /// A reader slower than a whole batch per `stallAfter`, but reading, loses nothing: progress
    /// is counted per write(2) of at most 64 KiB (0.3 s of this reader), not per batch (a 1 MiB
    /// batch takes it 5 s, over the 3 s here, and counted as a stall). The margins leave room
    /// for threads held off the CPU by a loaded machine.
    @Test func aSlowReaderThatKeepsReadingLosesNothing() async throws {
        let pipe = try Pipe()
        let sink = LogSink(fd: pipe.writeFD, capacity: 1 << 20, linger: .milliseconds(50), stallAfter: .seconds(3))
        // About 2.9 MB: more than the queue, the batch in the writer's hands and the pipe hold.
        let lines = 30_000
        // A reader on a thread of its own: 4 KiB every 20 ms, until it has every line.
        let count = await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
            Thread {
                var newlines = 0
                var chunk = [UInt8](repeating: 0, count: 4096)
                let deadline = Date().addingTimeInterval(240)
                while newlines < lines && Date() < deadline {
                    let n = chunk.withUnsafeMutableBytes { Glibc.read(pipe.readFD, $0.baseAddress, $0.count) }
                    if n > 0 { newlines += chunk[0..<n].count { $0 == 10 } }
                    usleep(20_000)
                }
                continuation.resume(returning: newlines)
            }.start()
            Thread {
                for i in 0..<lines { sink.write(String(repeating: "y", count: 90) + " \(i)\n") }
            }.start()
        }
        #expect(sink.droppedLines == 0)
        #expect(count == lines)
    }

    @Test func urgentLinesAreWrittenBeforeWriteReturns() throws {
        let pipe = try Pipe()
        let sink = LogSink(fd: pipe.writeFD)
        for i in 0..<50 { sink.write("queued \(i)\n") }
        sink.write("urgent\n", urgent: true)
        // No flush: the urgent line (and everything queued before it) is already in the pipe.
        let lines = pipe.lines()
        #expect(lines.count == 51)
        #expect(lines.last == "urgent")
    }

    @Test func flushWithNothingQueuedReturnsAtOnce() {
        let sink = LogSink(fd: 2)
        #expect(sink.flush(timeout: .milliseconds(10)))
    }

    @Test func textLinesCarryTimeLevelLabelMetadataAndMessage() throws {
        let pipe = try Pipe()
        let sink = LogSink(fd: pipe.writeFD)
        var logger = Logger(label: "jamey.plugin.demo") { TextLogHandler(label: $0, sink: sink) }
        logger.logLevel = .debug
        logger[metadataKey: "plugin"] = "demo"
        logger.debug("first")
        logger.info("second", metadata: ["request": "7"])
        logger.trace("below the level")
        logger.error("third")
        let lines = pipe.lines()
        #expect(lines.count == 3)
        let pattern = #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4} (\w+) jamey\.plugin\.demo: (.*)$/#
        let parsed = lines.compactMap { line in line.wholeMatch(of: pattern).map { (String($0.1), String($0.2)) } }
        #expect(parsed.count == 3)
        #expect(parsed.map(\.0) == ["debug", "info", "error"])
        #expect(parsed.map(\.1) == ["plugin=demo first", "plugin=demo request=7 second", "plugin=demo third"])
    }

    @Test func pluginBytesTakeTheDirectPathWhenPrintableAndAreRepairedOtherwise() throws {
        let pipe = try Pipe()
        var handler = TextLogHandler(label: "jamey.plugin.c", sink: LogSink(fd: pipe.writeFD))
        handler[metadataKey: "plugin"] = "c"
        handler.logLevel = .info
        func log(_ level: Logger.Level, _ bytes: [UInt8]) {
            bytes.withUnsafeBytes { handler.log(level: level, message: $0) }
        }
        log(.info, Array("GET /healthz 200".utf8))
        log(.debug, Array("below the level".utf8))
        log(.warning, [0x62, 0x61, 0x64, 0xFF, 0x21])  // invalid UTF-8
        log(.error, Array("héllo".utf8))
        let lines = pipe.lines()
        #expect(lines.count == 3)
        #expect(
            lines.map { $0.split(separator: " ", maxSplits: 1).last.map(String.init) ?? "" } == [
                "info jamey.plugin.c: plugin=c GET /healthz 200",
                "warning jamey.plugin.c: plugin=c bad\u{FFFD}!",
                "error jamey.plugin.c: plugin=c héllo",
            ])
    }

    @Test func jsonLinesAreObjectsWithEscapedFields() throws {
        let pipe = try Pipe()
        let sink = LogSink(fd: pipe.writeFD)
        var logger = Logger(label: "jamey") { JSONLogHandler(label: $0, sink: sink) }
        logger[metadataKey: "plugin"] = "q\"uote"
        logger.error("line\nbreak")
        let lines = pipe.lines()
        #expect(lines.count == 1)
        let object = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: String]
        #expect(object?["level"] == "error")
        #expect(object?["label"] == "jamey")
        #expect(object?["message"] == "line\nbreak")
        #expect(object?["plugin"] == "q\"uote")
        #expect(object?["ts"]?.wholeMatch(of: #/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/#) != nil)
    }
}
