import JameyTestKit
import MetricsTestKit
import Testing

@testable import JameyKernel

@Suite("Bus metrics")
struct BusMetricsTests {
    @Test("handler invocations, errors and durations are recorded per owner")
    func handlerMetrics() async throws {
        try await withBus { bus, metrics in
            let handled = LockedBox<[Int]>([])
            try bus.endpoint(owner: "picky").subscribe("items.new") { message in
                handled.append(message.number)
                return message.number % 2 == 0
            }
            let producer = bus.endpoint(owner: "producer")
            for index in 0..<10 { try producer.publish(.numbered("items.new", index)) }
            let picky = [("plugin", "picky")]
            #expect(
                await eventually {
                    (try? metrics.expectCounter("jamey_bus_messages_in_total", picky).totalValue) == 10
                })
            #expect(
                await eventually {
                    (try? metrics.expectCounter("jamey_bus_handler_errors_total", picky).totalValue) == 5
                })
            #expect(try metrics.expectTimer("jamey_bus_handler_duration_seconds", picky).values.count == 10)
            #expect(
                try metrics.expectCounter("jamey_bus_messages_out_total", [("plugin", "producer")]).totalValue == 10)
            #expect(try metrics.expectCounter("jamey_bus_dropped_total", picky).totalValue == 0)
        }
    }
}
