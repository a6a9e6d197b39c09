import Foundation
import Testing
import XYCore

/// `Tests/Fixtures/backoff-vectors.json`, the vectors `Web/xy-backoff.js` (Backoff's browser
/// twin) is tested with too; times in milliseconds.
struct BackoffVectors: Decodable {
    struct Case: Decodable {
        var name: String
        var initial: Double
        var cap: Double
        var multiplier: Double
        var jitter: JitterValue
        /// [attempt, random draw, expected delay in ms]
        var checks: [[Double]]
    }

    /// `"none"`, `"full"`, `"equal"` or `{"proportional": fraction}`.
    struct JitterValue: Decodable {
        var jitter: Backoff.Jitter

        private struct Proportional: Decodable { var proportional: Double }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let name = try? container.decode(String.self) {
                switch name {
                case "none": jitter = .none
                case "full": jitter = .full
                case "equal": jitter = .equal
                default: throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown jitter \(name)")
                }
            } else {
                jitter = .proportional(try container.decode(Proportional.self).proportional)
            }
        }
    }

    var cases: [Case]

    static func load() throws -> BackoffVectors {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/backoff-vectors.json")
        return try JSONDecoder().decode(BackoffVectors.self, from: Data(contentsOf: url))
    }
}

@Suite("Backoff")
struct BackoffTests {
    @Test("every case of Tests/Fixtures/backoff-vectors.json, which the browser's twin runs too")
    func sharedVectors() throws {
        let vectors = try BackoffVectors.load()
        #expect(vectors.cases.count >= 8)
        for vector in vectors.cases {
            let backoff = Backoff(
                initial: .milliseconds(vector.initial), cap: .milliseconds(vector.cap),
                multiplier: vector.multiplier, jitter: vector.jitter.jitter)
            for check in vector.checks {
                try #require(check.count == 3)
                let delay = backoff.delay(attempt: Int(check[0]), unitRandom: check[1])
                let milliseconds = Double(delay.components.seconds) * 1000 + Double(delay.components.attoseconds) * 1e-15
                #expect(abs(milliseconds - check[2]) < 1e-6, "\(vector.name): attempt \(check[0]), draw \(check[1])")
            }
        }
    }

    @Test("the ceiling grows by the multiplier from initial and stops at cap")
    func ceiling() {
        let backoff = Backoff(initial: .milliseconds(250), cap: .seconds(5), multiplier: 2, jitter: .none)
        let ceilings = (0..<8).map { backoff.ceiling(attempt: $0) }
        #expect(ceilings == [
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5), .seconds(5),
        ])
        let triple = Backoff(initial: .seconds(1), cap: .seconds(100), multiplier: 3, jitter: .none)
        #expect((0..<5).map { triple.ceiling(attempt: $0) } == [.seconds(1), .seconds(3), .seconds(9), .seconds(27), .seconds(81)])
    }

    @Test("huge attempts and odd settings neither overflow nor go negative")
    func extremes() {
        let backoff = Backoff(initial: .milliseconds(1), cap: .seconds(30), jitter: .none)
        #expect(backoff.ceiling(attempt: 10_000) == .seconds(30))
        #expect(backoff.ceiling(attempt: Int.max) == .seconds(30))
        #expect(backoff.ceiling(attempt: -3) == .milliseconds(1))
        // A multiplier below 1 means no growth; a cap below initial wins.
        #expect(Backoff(initial: .seconds(2), cap: .seconds(10), multiplier: 0.5, jitter: .none).ceiling(attempt: 4) == .seconds(2))
        #expect(Backoff(initial: .seconds(20), cap: .seconds(10), jitter: .none).ceiling(attempt: 0) == .seconds(10))
        #expect(Backoff(initial: .zero, cap: .seconds(10), jitter: .none).ceiling(attempt: 7) == .zero)
    }

    @Test("each jitter policy stays in its band, at the ends of the random range too")
    func jitterBands() {
        let ceiling = Duration.seconds(8)
        func delay(_ jitter: Backoff.Jitter, _ random: Double) -> Duration {
            Backoff(initial: .seconds(1), cap: .seconds(8), jitter: jitter).delay(attempt: 3, unitRandom: random)
        }
        #expect(delay(.none, 0.3) == ceiling)
        #expect(delay(.full, 0) == .zero && delay(.full, 0.5) == .seconds(4))
        #expect(delay(.equal, 0) == .seconds(4) && delay(.equal, 0.5) == .seconds(6) && delay(.equal, 1) == ceiling)
        #expect(delay(.proportional(0.25), 0) == .seconds(6) && delay(.proportional(0.25), 0.5) == ceiling)
        #expect(delay(.proportional(0.25), 1) == .seconds(10))
        // Out-of-range inputs are clamped rather than trusted.
        #expect(delay(.equal, 7) == ceiling && delay(.equal, -1) == .seconds(4) && delay(.equal, .nan) == .seconds(4))
        #expect(delay(.proportional(5), 0) == .zero)
    }

    @Test("a seeded generator gives the same jittered delays every run, spread within the band")
    func seeded() {
        let backoff = Backoff(initial: .milliseconds(100), cap: .seconds(10), jitter: .equal)
        var first = SplitMix64(seed: 42)
        var second = SplitMix64(seed: 42)
        let delays = (0..<12).map { backoff.delay(attempt: $0, using: &first) }
        #expect(delays == (0..<12).map { backoff.delay(attempt: $0, using: &second) })
        for (attempt, delay) in delays.enumerated() {
            let ceiling = backoff.ceiling(attempt: attempt)
            #expect(delay >= ceiling / 2 && delay <= ceiling)
        }
        // Different clients (seeds) do not wait in step.
        var other = SplitMix64(seed: 7)
        #expect(delays != (0..<12).map { backoff.delay(attempt: $0, using: &other) })
    }

    @Test("no jitter draws nothing from the generator")
    func noJitterDrawsNothing() {
        var generator = SplitMix64(seed: 1)
        _ = Backoff(initial: .seconds(1), cap: .seconds(2), jitter: .none).delay(attempt: 1, using: &generator)
        #expect(generator == SplitMix64(seed: 1))
    }

    @Test("SplitMix64 gives the reference sequence, so a seed replays on every platform")
    func splitMixReference() {
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        var a = SplitMix64(seed: 99)
        var b = SplitMix64(seed: 99)
        #expect((0..<100).map { _ in a.next() } == (0..<100).map { _ in b.next() })
    }
}
