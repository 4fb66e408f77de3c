import Foundation
import Testing

/// Evaluations (direct subscriptions, on the requesters' threads) and rule writes at once.
@Suite struct ConcurrencyTests {
    @Test func evaluationsAndWritesInterleaveWithoutLosingAny() async throws {
        try await ConscienceKernel.with(config: "memory:\n  record: false") { k in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var ok = 0
                        for round in 0..<25 {
                            let e = try await k.request("conscience.evaluate", #"{"text":"I will not harm worker \#(worker)"}"#)
                            if e.status == 200, ((e.json["score"] as? Double) ?? -1) >= 0 { ok += 1 }
                            let rule =
                                #"{"name":"r\#(worker)-\#(round)","description":"Rule","keywords":["w\#(worker)x\#(round)"],"weight":1,"polarity":"virtue"}"#
                            if try await k.request("conscience.rules.create", rule).status == 201 { ok += 1 }
                        }
                        return ok
                    }
                }
                var total = 0
                for try await ok in group { total += ok }
                #expect(total == 4 * 25 * 2)
            }
            let rules = try await k.request("conscience.rules.list").json["rules"] as? [Any]
            #expect(rules?.count == 3 + 100)
            #expect(metric(k.exposition, "conscience_rules") == 103)
        }
    }
}
