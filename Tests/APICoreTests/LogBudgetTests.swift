import APICore
import Testing

/// The budget of log lines a second for one kind of line.
@Suite struct LogBudgetTests {
    @Test func theFirstLinesOfEachSecondPassAndTheNextOneCountsTheRest() {
        var budget = LogBudget(linesPerSecond: 3)
        let start = ContinuousClock.now
        #expect((0..<3).map { _ in budget.admit(now: start) } == [0, 0, 0])
        for i in 0..<5 { #expect(budget.admit(now: start + .milliseconds(i * 100)) == nil) }
        // The next second: its first line learns that five were left out, the next none.
        #expect(budget.admit(now: start + .seconds(1)) == 5)
        #expect(budget.admit(now: start + .seconds(1)) == 0)
        #expect(budget.admit(now: start + .milliseconds(1500)) == 0)
        #expect(budget.admit(now: start + .milliseconds(1900)) == nil)
        #expect(budget.admit(now: start + .seconds(3)) == 1)
    }
}
