import JameyKernel
import Testing

/// The restart schedule (systemd's RestartSec / RestartSteps / RestartMaxDelaySec) and the
/// quarantine threshold, as pure logic.
@Suite("Crash isolation: restart policy")
struct IsolationPolicyTests {
    let policy = RestartPolicy(
        delay: .milliseconds(100), maxDelay: .milliseconds(1600), steps: 4, window: .seconds(60), maxRestarts: 5)

    @Test func delayGrowsGeometricallyFromDelayToMaxDelayOverSteps() {
        let delays = (0...6).map { policy.delay(beforeRestart: $0) }
        let ms = delays.map { Int(($0 / .milliseconds(1)).rounded()) }
        #expect(ms == [100, 200, 400, 800, 1600, 1600, 1600])
    }

    @Test func noStepsKeepsTheFirstDelay() {
        let flat = RestartPolicy(
            delay: .milliseconds(250), maxDelay: .seconds(10), steps: 0, window: .seconds(60), maxRestarts: 5)
        #expect((0...3).map { flat.delay(beforeRestart: $0) } == Array(repeating: .milliseconds(250), count: 4))
    }

    @Test func moreThanMaxRestartsWithinTheWindowQuarantines() {
        var crashes: [ContinuousClock.Instant] = []
        let start = ContinuousClock.now
        for n in 0..<5 {
            let decision = policy.decide(crashes: &crashes, now: start + .seconds(n))
            #expect(decision?.1 == n)
        }
        #expect(policy.decide(crashes: &crashes, now: start + .seconds(5)) == nil)
    }

    @Test func crashesOutsideTheWindowAreForgotten() {
        var crashes: [ContinuousClock.Instant] = []
        let start = ContinuousClock.now
        for n in 0..<5 { _ = policy.decide(crashes: &crashes, now: start + .seconds(n)) }
        // 70 s later only this crash is in the window: back to the first delay.
        let decision = policy.decide(crashes: &crashes, now: start + .seconds(70))
        #expect(decision?.0 == .milliseconds(100))
        #expect(decision?.1 == 0)
    }
}
