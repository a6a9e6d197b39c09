import ArgumentParser
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

    /// `xy demo ticks`: random-walk `TickBatch`es with a rising `seq` on `xy.md.tick.<group>`.
    struct Ticks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish xy.md.v1.TickBatch messages (random-walk prices, rising seq) to xy.md.tick.<group>."
        )

        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Group the batches belong to.") var group: String = "demo"
        @Option(help: "Symbols, comma separated.") var symbols: String = "AAPL,MSFT,NVDA,AMZN,GOOG,META,TSLA,SPY"
        @Option(help: "Time between batches.") var interval: DurationArgument = DurationArgument(.milliseconds(33), text: "33ms")
        @Option(help: "Stop after this many batches (default: run until interrupted).") var count: Int?
        @Option(help: "seq of the first batch.") var firstSeq: UInt64 = 1
        @Option(help: "Random seed (default: from the clock).") var seed: UInt64?

        func run() async throws {
            if let count, count < 1 { throw ValidationError("--count must be at least 1") }
            let list = symbols.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty }
            var generator: DemoTickGenerator
            let subject: String
            do {
                generator = try DemoTickGenerator(group: group, symbols: list, seed: seed ?? UInt64(Date().timeIntervalSince1970 * 1e6), firstSequence: firstSeq)
                subject = try Subjects.tick(group: group)
            } catch {
                throw ValidationError(error.message)
            }
            var headers = NATSHeaders()
            headers.append(Xy_Md_V1_TickBatch.protoMessageName, for: Subjects.schemaHeader)

            let client = try await connection.connect(name: "xy demo ticks")
            // Answer xy.md.snapshot.get.<group> as the aggregator does, so xy-gateway can give
            // subscribers a snapshot before the batches (ticks are full states: the latest of each
            // symbol is the snapshot).
            let latest = NIOLockedValueBox<Xy_Md_V1_Snapshot>(Xy_Md_V1_Snapshot())
            latest.withLockedValue { $0.group = group }
            let responder = try client.subscribe("xy.md.snapshot.get." + group) { message in
                guard let reply = message.replyTo else { return }
                let bytes: [UInt8] = latest.withLockedValue { (try? $0.serializedBytes()) ?? [] }
                try? client.publish(reply, bytes: bytes)
            }
            let clock = ContinuousClock()
            let step = Duration.nanoseconds(interval.amount.nanoseconds)
            var deadline = clock.now
            var published = 0
            while count.map({ published < $0 }) ?? true {
                let now = Int64(Date().timeIntervalSince1970 * 1_000_000_000)
                let batch = generator.next(nowNanoseconds: now)
                latest.withLockedValue { snapshot in
                    var position = Dictionary(uniqueKeysWithValues: snapshot.ticks.enumerated().map { ($1.symbol, $0) })
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
                let bytes: [UInt8] = try batch.serializedBytes()
                try client.publish(subject, bytes: bytes, headers: headers)
                published += 1
                deadline += step
                if count.map({ published < $0 }) ?? true { try await clock.sleep(until: deadline) }
            }
            try? responder.unsubscribe()
            try await client.flush()
            await client.close()
            FileHandle.standardError.write(Data("xy demo ticks: published \(published) batches to \(subject), seq \(firstSeq)…\(generator.nextSequence - 1)\n".utf8))
        }
    }
}
