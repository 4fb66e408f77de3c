import Testing

@testable import ConsciousnessCore

/// Jamey 3.0's "Φ" vectors under the name `integration`, with the validator's verdict reported.
@Suite struct IntegrationTests {
    func integration(_ text: String) throws -> Integration {
        try Consciousness().process(text, at: 0).integration
    }

    @Test func jameyVectorsHold() throws {
        let vectors: [(String, Double)] = [
            ("Hello", 0.00841), ("I think and reflect", 0.0108),
            ("This is a longer sentence with more content to process.", 0.0126),
            ("ALL CAPS WITH STRONG EMPHASIS!!!", 0.00302),
        ]
        for (text, expected) in vectors {
            let i = try integration(text)
            #expect(abs(i.value - expected) < 0.00006, "\(text): \(i.value)")
            #expect(i.validator == nil)
        }
        let hello = try integration("Hello")
        #expect(hello.features.map { ($0 * 1000).rounded() / 1000 } == [0.05, 0.8, 0.02, 0.2, 0])
        #expect(hello.activations.map { ($0 * 1000).rounded() / 1000 } == [0.248, 0.113, 0.064, 0.419])
    }

    @Test func theValidatorsZerosAreExplained() throws {
        let short = try integration("short")
        #expect(short.value == 0)
        #expect(short.validator == "activations differ by 0.515 > 0.5")
    }

    @Test func theRangeIsAboutZeroToPointOneFiveAndTheThresholdIsOnIt() throws {
        // The largest value with the validator, at activations (0.5, 1, 0.5, 1).
        let a = [0.5, 1, 0.5, 1.0]
        let mean = 0.75
        let variance = a.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 4
        let pairs = [0.5, 0.5, 0.5, 0.5, 1, 0.5].reduce(0, +) / 6
        #expect(abs(pairs * variance / 0.25 - Integration.maximum) < 0.001)
        let c = Consciousness()
        let ordinary = try c.process("This is a longer sentence with more content to process.", at: 0)
        #expect(ordinary.integrated)
        #expect(ordinary.integration.normalized < 1)
        #expect(try !c.process("ALL CAPS WITH STRONG EMPHASIS!!!", at: 1).integrated)
    }
}
