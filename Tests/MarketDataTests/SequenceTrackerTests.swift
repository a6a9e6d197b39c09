import Foundation
import MarketData
import Testing

/// `Tests/Fixtures/sequence-rules.json`, the vectors `Web/xy-sequencer.js` is tested with too.
struct SequenceRulesFixture: Decodable {
    struct Position: Decodable {
        var epoch: String
        var seq: UInt64
        var firstSeq: UInt64?
    }

    struct State: Decodable, Equatable {
        var epoch: String
        var lastSeq: UInt64
        var awaitingSnapshot: Bool
    }

    struct Step: Decodable {
        var batch: Position?
        var snapshot: Position?
        var expectSnapshot: [String: String]?
        var outcome: String?
        var missing: [UInt64]?
        var previous: String?
        var after: State
    }

    struct Case: Decodable {
        var name: String
        var steps: [Step]
    }

    var cases: [Case]

    static func load() throws -> SequenceRulesFixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/sequence-rules.json")
        return try JSONDecoder().decode(SequenceRulesFixture.self, from: Data(contentsOf: url))
    }
}

@Suite("Sequence rules")
struct SequenceTrackerTests {
    /// The outcome as the fixture spells it.
    static func describe(_ outcome: SequenceTracker.Outcome) -> (name: String, missing: [UInt64]?, previous: String?) {
        switch outcome {
        case .accepted: ("accepted", nil, nil)
        case .duplicate: ("duplicate", nil, nil)
        case .gap(let missing): ("gap", [missing.lowerBound, missing.upperBound], nil)
        case .newEpoch(let previous): ("newEpoch", nil, String(previous))
        }
    }

    @Test("every case of Tests/Fixtures/sequence-rules.json")
    func sharedVectors() throws {
        let fixture = try SequenceRulesFixture.load()
        #expect(fixture.cases.count >= 8)
        for testCase in fixture.cases {
            var tracker = SequenceTracker()
            for (index, step) in testCase.steps.enumerated() {
                let at = "\(testCase.name), step \(index + 1)"
                var outcome: SequenceTracker.Outcome?
                if let batch = step.batch {
                    let epoch = try #require(UInt64(batch.epoch), "\(at): epoch")
                    outcome = tracker.batch(epoch: epoch, seq: batch.seq, firstSeq: batch.firstSeq ?? 0)
                } else if let snapshot = step.snapshot {
                    let epoch = try #require(UInt64(snapshot.epoch), "\(at): epoch")
                    outcome = tracker.snapshot(epoch: epoch, seq: snapshot.seq)
                } else {
                    #expect(step.expectSnapshot != nil, "\(at): a step is a batch, a snapshot or expectSnapshot")
                    tracker.expectSnapshot()
                }
                if let outcome {
                    let described = Self.describe(outcome)
                    #expect(described.name == step.outcome, "\(at)")
                    #expect(described.missing == step.missing, "\(at): missing")
                    #expect(described.previous == step.previous, "\(at): previous epoch")
                }
                let state = SequenceRulesFixture.State(
                    epoch: tracker.epoch.map { String($0) } ?? "", lastSeq: tracker.lastSeq, awaitingSnapshot: tracker.awaitingSnapshot)
                #expect(state == step.after, "\(at): state after")
            }
        }
    }

    @Test("counters add up per outcome, missing batches over all gaps")
    func counters() {
        var tracker = SequenceTracker(epoch: 1, lastSeq: 10)
        #expect(tracker.batch(epoch: 1, seq: 11) == .accepted)
        #expect(tracker.batch(epoch: 1, seq: 11) == .duplicate)
        #expect(tracker.batch(epoch: 1, seq: 15) == .gap(missing: 12...14))
        #expect(tracker.batch(epoch: 1, seq: 17) == .gap(missing: 16...16))
        #expect(tracker.batch(epoch: 2, seq: 1) == .newEpoch(previous: 1))
        #expect(tracker.snapshot(epoch: 3, seq: 0) == .newEpoch(previous: 2))
        let counters = tracker.counters
        #expect(counters.accepted == 1 && counters.duplicates == 1 && counters.gaps == 2 && counters.missing == 4 && counters.newEpochs == 2)
    }

    @Test("a restarted producer's seq 1 is a new epoch, never a run of duplicates")
    func producerRestart() {
        var tracker = SequenceTracker(epoch: 1_764_806_400_000_000_000, lastSeq: 900_000)
        #expect(tracker.batch(epoch: 1_764_810_000_000_000_000, seq: 1) == .newEpoch(previous: 1_764_806_400_000_000_000))
        for seq in UInt64(2)...50 {
            #expect(tracker.batch(epoch: 1_764_810_000_000_000_000, seq: seq) == .accepted)
        }
        #expect(tracker.awaitingSnapshot, "the batches after a new epoch wait for its snapshot")
        #expect(tracker.snapshot(epoch: 1_764_810_000_000_000_000, seq: 40) == .accepted)
        #expect(tracker.lastSeq == 40 && !tracker.awaitingSnapshot)
    }
}
