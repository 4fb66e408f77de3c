import MQTTCore
import Testing

/// Per-message warnings are thinned to one line per kind and interval, with a count.
@Suite struct LogThrottleTests {
    @Test func oneLinePerIntervalWithTheCountHeldBack() {
        let throttle = LogThrottle(interval: .seconds(10))
        let start = ContinuousClock.now
        #expect(throttle.allow("a", now: start) == 0)
        #expect(throttle.allow("a", now: start + .seconds(1)) == nil)
        #expect(throttle.allow("a", now: start + .seconds(2)) == nil)
        #expect(throttle.allow("b", now: start + .seconds(2)) == 0)  // kinds are separate
        #expect(throttle.allow("a", now: start + .seconds(11)) == 2)
        #expect(throttle.allow("a", now: start + .seconds(12)) == nil)
    }
}
