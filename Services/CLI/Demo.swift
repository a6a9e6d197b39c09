import ArgumentParser
import DemoTicks
import NIOConcurrencyHelpers
import Foundation
import NATS
import NIOCore
import SwiftProtobuf
import XYContracts

/// `xy demo`: traffic generators for trying consumers without the rest of the stack.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish demo traffic.",
        subcommands: [Ticks.self]
    )

    /// `xy demo ticks`: random-walk `TickBatch`es with a rising `seq` on `xy.md.tick.<group>`, the
    /// group's snapshots every few seconds on `xy.md.snapshot.<group>`, and its snapshot requests
    /// answered, so a gateway serves the group as it serves the aggregator's. Its own group by
    /// default (`cli-demo`): `make up`'s NATS lets the `demo` user publish that group only, never
    /// the aggregator's.
    struct Ticks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish xy.md.v1.TickBatch messages (random-walk prices, rising seq) to xy.md.tick.<group>.",
            discussion: """
                Also publishes the group's Snapshot every --snapshot-interval on xy.md.snapshot.<group> and \
                answers xy.md.snapshot.get.<group>; batches and snapshots carry this run's epoch (its start \
                time in Unix ns). Against `make up`: --nkey .run/seeds/demo.nk (the demo user may publish \
                the cli-demo group only), then open the demo URL with ?group=cli-demo.
                """
        )

        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Group the batches belong to.") var group: String = "cli-demo"
        @Option(help: "Symbols, comma separated.") var symbols: String = "AAPL,MSFT,NVDA,AMZN,GOOG,META,TSLA,SPY"
        @Option(help: "Time between batches.") var interval: DurationArgument = "33ms"
        @Option(help: "Time between snapshots on xy.md.snapshot.<group>.")
        var snapshotInterval: DurationArgument = "3s"
        @Option(help: "Stop after this many batches (default: run until interrupted).") var count: Int?
        @Option(help: "seq of the first batch.") var firstSeq: UInt64 = 1
        @Option(help: "Random seed (default: from the clock).") var seed: UInt64?

        func run() async throws {
            if let count, count < 1 { throw ValidationError("--count must be at least 1") }
            guard firstSeq >= 1 else { throw ValidationError("--first-seq must be at least 1") }
            let list = symbols.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty }
            var generator: DemoTickGenerator
            let subject: String
            let snapshotSubject: String
            let requestSubject: String
            do {
                generator = try DemoTickGenerator(group: group, symbols: list, seed: seed ?? UInt64(Date().timeIntervalSince1970 * 1e6), firstSequence: firstSeq)
                subject = try Subjects.tick(group: group)
                snapshotSubject = try Subjects.snapshot(group: group)
                requestSubject = try Subjects.snapshotRequest(group: group)
            } catch {
                throw ValidationError(error.message)
            }
            let batchHeaders: NATSHeaders = [Subjects.schemaHeader: Xy_Md_V1_TickBatch.protoMessageName]
            let snapshotHeaders: NATSHeaders = [Subjects.schemaHeader: Xy_Md_V1_Snapshot.protoMessageName]
            // This run's identity: consumers that saw another run of the group (seq starting over)
            // take the next snapshot as their base instead of calling its batches duplicates.
            let epoch = UInt64(Date().timeIntervalSince1970 * 1e9)

            let client = try await connection.connect(name: "xy demo ticks")
            // Answer xy.md.snapshot.get.<group> as the aggregator does, so xy-gateway can give
            // subscribers a snapshot before the batches (ticks are full states: the latest of each
            // symbol is the snapshot).
            let latest = NIOLockedValueBox(DemoSnapshot(group: group, epoch: epoch, seq: firstSeq - 1))
            let responder = try client.subscribe(requestSubject) { message in
                guard let reply = message.replyTo else { return }
                let bytes: [UInt8] = latest.withLockedValue { (try? $0.snapshot.serializedBytes()) ?? [] }
                try? client.publish(reply, bytes: bytes, headers: snapshotHeaders)
            }
            let clock = ContinuousClock()
            let step = interval.duration
            let snapshotStep = max(.nanoseconds(1), snapshotInterval.duration)
            var deadline = clock.now
            var nextSnapshot = clock.now + snapshotStep
            var published = 0
            while count.map({ published < $0 }) ?? true {
                let now = Int64(Date().timeIntervalSince1970 * 1_000_000_000)
                var batch = generator.next(nowNanoseconds: now)
                batch.epoch = epoch
                latest.withLockedValue { $0.fold(batch) }
                let payload = ByteBuffer(bytes: try batch.serializedBytes() as [UInt8])
                if published == 0 {
                    // The first batch waits for the server's verdict: a user that may not publish
                    // the group (the developer's `cli` user) fails here with the server's words.
                    try await client.publishConfirmed(subject, payload: payload, headers: batchHeaders)
                } else {
                    // Paced by the socket: a short --interval (or a stalled NATS) suspends this loop
                    // instead of growing the outbound buffer; a plain publish from a task never waits.
                    try await client.publishWithBackpressure(subject, payload: payload, headers: batchHeaders)
                }
                published += 1
                if clock.now >= nextSnapshot {
                    var snapshot = latest.withLockedValue { $0.snapshot }
                    snapshot.timeNs = now
                    let bytes: [UInt8] = try snapshot.serializedBytes()
                    try await client.publishWithBackpressure(snapshotSubject, payload: ByteBuffer(bytes: bytes), headers: snapshotHeaders)
                    nextSnapshot = clock.now + snapshotStep
                }
                deadline += step
                if count.map({ published < $0 }) ?? true { try await clock.sleep(until: deadline) }
            }
            try? responder.unsubscribe()
            try await client.flush()
            await client.close()
            FileHandle.standardError.write(Data("xy demo ticks: published \(published) batches to \(subject), seq \(firstSeq)…\(generator.nextSequence - 1), epoch \(epoch)\n".utf8))
        }
    }
}

/// The demo group's current snapshot: every symbol's latest tick (ticks are full states), the seq
/// of the last batch folded in and the run's epoch.
struct DemoSnapshot {
    private(set) var snapshot = Xy_Md_V1_Snapshot()
    private var position: [String: Int] = [:]

    init(group: String, epoch: UInt64, seq: UInt64) {
        snapshot.group = group
        snapshot.epoch = epoch
        snapshot.seq = seq
    }

    /// Takes a batch's ticks and seq: a snapshot right after it equals batches 1…seq applied in order.
    mutating func fold(_ batch: Xy_Md_V1_TickBatch) {
        for tick in batch.ticks {
            if let index = position[tick.symbol] {
                snapshot.ticks[index] = tick
            } else {
                position[tick.symbol] = snapshot.ticks.count
                snapshot.ticks.append(tick)
            }
        }
        snapshot.seq = batch.seq
        snapshot.timeNs = batch.publishTimeNs
    }
}
