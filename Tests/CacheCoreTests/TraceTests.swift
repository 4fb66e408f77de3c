import Testing

@testable import CacheCore

@Suite struct TraceTests {
    func record(_ ts: UInt32, _ id: UInt64, _ size: UInt32, _ next: Int64) -> [UInt8] {
        withUnsafeBytes(of: ts.littleEndian, Array.init) + withUnsafeBytes(of: id.littleEndian, Array.init)
            + withUnsafeBytes(of: size.littleEndian, Array.init) + withUnsafeBytes(of: next.littleEndian, Array.init)
    }

    @Test func readsOracleGeneralRecords() throws {
        let bytes = record(1, 0xDEAD_BEEF_0001, 512, 2) + record(2, 7, 1, -1) + record(3, 0xDEAD_BEEF_0001, 512, -1)
        let trace = try TraceFormat.oracleGeneral.parse(bytes)
        #expect(
            trace == [
                TraceRequest(timestamp: 1, id: 0xDEAD_BEEF_0001, size: 512, nextAccess: 2),
                TraceRequest(timestamp: 2, id: 7, size: 1, nextAccess: -1),
                TraceRequest(timestamp: 3, id: 0xDEAD_BEEF_0001, size: 512, nextAccess: -1),
            ])
    }

    @Test func aTruncatedOracleTraceIsRefusedWithTheLeftover() {
        let bytes = record(1, 1, 1, -1) + [1, 2, 3]
        #expect(throws: TraceError.self) { try TraceFormat.oracleGeneral.parse(bytes) }
        do {
            _ = try TraceFormat.oracleGeneral.parse(bytes)
        } catch {
            #expect(error.description.contains("27 bytes"))
            #expect(error.description.contains("3 bytes left over"))
        }
    }

    @Test func readsCSVWithHeaderCommentsAndSpaces() throws {
        let text = "timestamp,id,size\n# a comment\n1, 10, 100\r\n2,20,1\n\n3,10,100\n"
        let trace = try TraceFormat.csv.parse(Array(text.utf8))
        #expect(trace.map(\.id) == [10, 20, 10])
        #expect(trace.map(\.nextAccess) == [2, -1, -1])
    }

    @Test(arguments: [
        ("1,2\n", "line 1: expected 3 fields"),
        ("1,2,3\nx,2,3\n", "line 2: timestamp 'x'"),
        ("1,-5,3\n", "line 1: id '-5'"),
        ("1,2,big\n", "line 1: size 'big'"),
    ])
    func badCSVNamesTheLineAndField(text: String, message: String) {
        do {
            _ = try TraceFormat.csv.parse(Array(text.utf8))
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
        }
    }

    @Test func simulatorOrdersPoliciesOnASkewedTrace() throws {
        var rng = SplitMix(seed: 5)
        var trace: [TraceRequest] = []
        for i in 0..<60_000 {
            // Zipf-like: small ids far more often.
            let u = Double(rng.next() % 1_000_000) / 1_000_000
            let id = UInt64(pow(10_000, u))
            trace.append(TraceRequest(timestamp: UInt32(i), id: id, size: 1))
        }
        let lru = try Simulator.run(trace, policy: "lru", size: 200).missRatio
        let tiny = try Simulator.run(trace, policy: "w-tinylfu", size: 200).missRatio
        let belady = try Simulator.run(trace, policy: "belady", size: 200).missRatio
        #expect(belady < tiny)
        #expect(tiny < lru)
        #expect(throws: TraceError.self) { try Simulator.run(trace, policy: "fifo-ish", size: 200) }
        #expect(throws: TraceError.self) { try Simulator.run(trace, policy: "lru", size: 0) }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
