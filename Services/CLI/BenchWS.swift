import ArgumentParser
import Foundation
import GatewayClient
import MarketData
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import XYCore

/// `xy bench ws`: K WebSocket clients on one subject, against xy-gateway (`xy.v1.proto`) or
/// nats-server's own WebSocket listener (NATS protocol over WebSocket), with the batch's publish
/// time in the payload: delivered frames/s, latency percentiles, first frame after subscribe, and
/// the server's CPU and RSS when its pid is given.
struct BenchWS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ws",
        abstract: "Fan-out benchmark: K WebSocket clients on one tick subject (xy-gateway or nats-server's WebSocket listener).")

    @Option(help: "Gateway WebSocket URL (ws://127.0.0.1:8080/ws), or nats-server's WebSocket listener with --nats.") var url: String
    @Flag(help: "Speak NATS over WebSocket (nats-server's listener) instead of the gateway protocol.") var nats = false
    @Option(help: "Token for the gateway (Authorization: Bearer).") var token: String?
    @Option(help: "Clients.") var clients: Int = 100
    @Option(help: "Subject.") var subject: String = "xy.md.tick.demo"
    @Option(help: "Measured seconds after every client is subscribed.") var duration: Int = 10
    @Option(help: "Server pid: CPU and RSS of that process are reported.") var pid: Int32?
    @Flag(help: "Only connect (no subscribe) and report the server's RSS per idle connection.") var idleOnly = false
    @Option(help: "Subscribes per second across the clients (0: all at once); each client's first frame is timed from its own subscribe.")
    var subscribeRate: Int = 2000
    @Option(help: "Connection attempts in flight at once while the clients connect.") var connectConcurrency: Int = 100

    func run() async throws {
        guard let parsed = URL(string: url), let host = parsed.host, let port = parsed.port else {
            throw ValidationError("--url must be ws://HOST:PORT/PATH")
        }
        let path = parsed.path.isEmpty ? "/" : parsed.path
        let group = MultiThreadedEventLoopGroup.singleton
        let recorder = LatencyRecorder()
        let rssBefore = pid.flatMap(Self.rssKiB)
        var connections: [(WebSocketConnection, ClientState)] = []
        connections.reserveCapacity(clients)
        let isNATS = nats
        let connectStart = monotonicNanoseconds()
        var retries = 0
        var index = 0
        while index < clients {
            let batch = min(max(1, connectConcurrency), clients - index)
            try await withThrowingTaskGroup(of: (WebSocketConnection, ClientState, Int).self) { tasks in
                for _ in 0..<batch {
                    tasks.addTask {
                        var headers: [(String, String)] = []
                        if let token { headers.append(("Authorization", "Bearer \(token)")) }
                        headers.append(("Sec-WebSocket-Protocol", isNATS ? "nats" : "xy.v1.proto"))
                        let state = ClientState()
                        // A refused upgrade is an answer and fails the run; a failed connect (a full
                        // accept queue, a reset) is retried a few times and counted.
                        var attempt = 0
                        while true {
                            do {
                                let connection = try await WebSocketConnection.connect(
                                    host: host, port: port, path: path, headers: headers, group: group
                                ) { message in
                                    recorder.received(message, nats: isNATS, state: state)
                                }
                                guard connection.response.status == 101 else {
                                    throw ValidationError("upgrade refused: \(connection.response.status) \(connection.response.body)")
                                }
                                return (connection, state, attempt)
                            } catch let error as ValidationError {
                                throw error
                            } catch {
                                attempt += 1
                                if attempt > 5 { throw ValidationError("connect failed 6 times: \(error)") }
                                try await Task.sleep(for: Backoff(initial: .milliseconds(100), cap: .seconds(1)).delay(attempt: attempt - 1, unitRandom: .random(in: 0..<1)))
                            }
                        }
                    }
                }
                for try await (connection, state, attempts) in tasks {
                    connections.append((connection, state))
                    retries += attempts
                }
            }
            index += batch
        }
        let connectSeconds = Double(monotonicNanoseconds() - connectStart) / 1e9
        FileHandle.standardError.write(Data(String(format: "bench ws: %d clients connected in %.1f s (%d retried connects)\n", clients, connectSeconds, retries).utf8))
        if idleOnly {
            try await Task.sleep(for: .seconds(2))
            let after = pid.flatMap(Self.rssKiB)
            if let before = rssBefore, let after {
                print(String(format: "%@: idle connections: %d  server RSS %+.0f KiB  (%.2f KiB per connection)", isNATS ? "nats-server WebSocket" : "xy-gateway", clients, Double(after - before), Double(after - before) / Double(clients)))
            }
            for (connection, _) in connections { try? await connection.channel.close() }
            return
        }
        let subscribeStart = monotonicNanoseconds()
        for (number, (connection, state)) in connections.enumerated() {
            if subscribeRate > 0 {
                let due = subscribeStart + UInt64(number) * 1_000_000_000 / UInt64(subscribeRate)
                let now = monotonicNanoseconds()
                if due > now + 1_000_000 { try await Task.sleep(for: .nanoseconds(Int(due - now))) }
            }
            state.markSubscribed()
            if isNATS {
                try await connection.send(opcode: WebSocketMessage.binary, payload: ByteBuffer(string: "CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\nSUB \(subject) 1\r\n"))
            } else {
                try await connection.send(text: "{\"op\":\"subscribe\",\"subject\":\"\(subject)\"}")
            }
        }
        try await Task.sleep(for: .seconds(2))
        recorder.reset()
        let cpuBefore = pid.flatMap(Self.cpuTicks)
        let start = monotonicNanoseconds()
        try await Task.sleep(for: .seconds(duration))
        let elapsed = Double(monotonicNanoseconds() - start) / 1e9
        let cpuAfter = pid.flatMap(Self.cpuTicks)
        let result = recorder.summary()
        let rssAfter = pid.flatMap(Self.rssKiB)
        for (connection, _) in connections { try? await connection.channel.close() }

        // One Markdown row: target, clients, frames/s, p50, p99, max, first frame p95, server CPU, server RSS.
        var cpu = "-"
        if let cpuBefore, let cpuAfter {
            cpu = String(format: "%.0f%%", Double(cpuAfter - cpuBefore) / Double(sysconf(Int32(_SC_CLK_TCK))) / elapsed * 100)
        }
        var rss = "-"
        if let rssAfter { rss = "\(rssAfter / 1024) MiB" }
        print(String(format: "| %@ | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %@ | %@ |",
                     isNATS ? "nats-server WebSocket" : "xy-gateway", clients, Double(result.count) / elapsed,
                     result.p50 / 1e6, result.p99 / 1e6, result.max / 1e6, result.firstFrameP95 / 1e6, cpu, rss))
    }

    static func rssKiB(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "")
        }
        return nil
    }

    static func cpuTicks(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command: state is field 3; utime and stime are fields 14 and 15.
        guard fields.count > 13, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }
}

/// Per-connection reading state (NATS frames may split a MSG across WebSocket frames) and when
/// this client sent its subscribe; read on the connection's event loop, set before the subscribe.
final class ClientState: @unchecked Sendable {
    var pending = ByteBuffer()
    var gotFirst = false
    private let subscribed = NIOLockedValueBox<UInt64>(0)

    func markSubscribed() { subscribed.withLockedValue { $0 = monotonicNanoseconds() } }
    var subscribedAt: UInt64 { subscribed.withLockedValue { $0 } }
}

/// Latencies (now − batch publish time) of every delivered batch, and each client's first frame.
final class LatencyRecorder: Sendable {
    private struct State {
        var latencies: [Int64] = []
        var firstFrames: [Int64] = []
    }

    private let state = NIOLockedValueBox(State())

    func reset() {
        state.withLockedValue { $0.latencies.removeAll(keepingCapacity: true) }
    }

    func received(_ message: WebSocketMessage, nats: Bool, state client: ClientState) {
        let now = wallClockNanoseconds()
        var publishTimes: [Int64] = []
        if nats {
            var incoming = message.payload
            client.pending.writeBuffer(&incoming)
            while let publishTime = Self.nextNATSMessage(&client.pending) {
                publishTimes.append(publishTime)
            }
            client.pending.discardReadBytes()
        } else if let publishTime = message.payload.withUnsafeReadableBytes({ Self.gatewayPublishTime($0) }) {
            publishTimes.append(publishTime)
        }
        guard !publishTimes.isEmpty else { return }
        let first = !client.gotFirst
        client.gotFirst = true
        let monotonic = monotonicNanoseconds()
        let subscribedAt = first ? client.subscribedAt : 0
        state.withLockedValue { state in
            if first, subscribedAt > 0, monotonic > subscribedAt { state.firstFrames.append(Int64(monotonic - subscribedAt)) }
            for time in publishTimes where time > 0 { state.latencies.append(now - time) }
        }
    }

    /// The TickBatch publish time of the next `MSG subject sid [reply] size` or
    /// `HMSG subject sid [reply] header_size total_size` message (headers skipped); other lines
    /// are skipped. Both paths read only the fields they need, in place: a full SwiftProtobuf
    /// decode per frame made this client, not the server, the bottleneck at K=1,000. The caller
    /// discards the consumed bytes once per WebSocket frame.
    static func nextNATSMessage(_ buffer: inout ByteBuffer) -> Int64? {
        while true {
            let found: (lineLength: Int, header: Int, size: Int?)? = buffer.withUnsafeReadableBytes { bytes in
                guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
                let plain = newline > 4 && bytes[0] == UInt8(ascii: "M") && bytes[1] == UInt8(ascii: "S")
                    && bytes[2] == UInt8(ascii: "G") && bytes[3] == UInt8(ascii: " ")
                let withHeaders = newline > 5 && bytes[0] == UInt8(ascii: "H") && bytes[1] == UInt8(ascii: "M")
                    && bytes[2] == UInt8(ascii: "S") && bytes[3] == UInt8(ascii: "G") && bytes[4] == UInt8(ascii: " ")
                guard plain || withHeaders else { return (newline + 1, 0, nil) }
                var end = newline
                if end > 0, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                // The last field (total size), and for HMSG the one before it (header size).
                func field(endingAt end: Int) -> (value: Int, start: Int)? {
                    var start = end
                    while start > 0, bytes[start - 1] != UInt8(ascii: " ") { start -= 1 }
                    guard start < end else { return nil }
                    var value = 0
                    for index in start..<end {
                        let digit = Int(bytes[index]) - 48
                        guard digit >= 0, digit < 10 else { return nil }
                        value = value * 10 + digit
                    }
                    return (value, start)
                }
                guard let total = field(endingAt: end) else { return (newline + 1, 0, nil) }
                guard withHeaders else { return (newline + 1, 0, total.value) }
                guard total.start > 1, let header = field(endingAt: total.start - 1), header.value <= total.value else {
                    return (newline + 1, 0, nil)
                }
                return (newline + 1, header.value, total.value)
            }
            guard let found else { return nil }
            guard let size = found.size else {
                buffer.moveReaderIndex(forwardBy: found.lineLength)
                continue
            }
            guard buffer.readableBytes >= found.lineLength + size + 2 else { return nil }
            buffer.moveReaderIndex(forwardBy: found.lineLength + found.header)
            let payloadSize = size - found.header
            let publishTime = buffer.withUnsafeReadableBytes { bytes in
                Self.tickBatchPublishTime(ProtobufWireReader(bytes, 0..<payloadSize))
            }
            buffer.moveReaderIndex(forwardBy: payloadSize + 2)
            // A payload that is not a TickBatch counts as a frame without a time.
            return publishTime ?? 0
        }
    }

    /// `publish_time_ns` (field 4) of a `xy.md.v1.TickBatch`; nil when the bytes are malformed.
    static func tickBatchPublishTime(_ batch: ProtobufWireReader) -> Int64? {
        var reader = batch
        var publishTime: Int64 = 0
        while !reader.atEnd {
            guard let (field, type) = reader.key() else { return nil }
            if field == 4, type == 0 {
                guard let value = reader.varint() else { return nil }
                publishTime = Int64(bitPattern: value)
            } else if !reader.skip(type) {
                return nil
            }
        }
        return publishTime
    }

    /// A gateway `ServerMessage`: the tick's publish time, 0 for a snapshot (a first frame without
    /// a latency), nil for anything else (subscribed, status, pong).
    static func gatewayPublishTime(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var reader = ProtobufWireReader(bytes, 0..<bytes.count)
        while !reader.atEnd {
            guard let (field, type) = reader.key() else { return nil }
            switch (field, type) {
            case (10, 2):
                guard let range = reader.lengthDelimited() else { return nil }
                return tickBatchPublishTime(ProtobufWireReader(bytes, range))
            case (11, 2):
                return 0
            default:
                guard reader.skip(type) else { return nil }
            }
        }
        return nil
    }

    struct Summary {
        var count: Int
        var p50: Double
        var p99: Double
        var max: Double
        var firstFrameP95: Double
    }

    func summary() -> Summary {
        state.withLockedValue { state in
            let sorted = state.latencies.sorted()
            let firsts = state.firstFrames.sorted()
            func percentile(_ values: [Int64], _ p: Double) -> Double {
                values.isEmpty ? .nan : Double(values[min(values.count - 1, Int(Double(values.count) * p))])
            }
            return Summary(count: sorted.count, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: Double(sorted.last ?? 0), firstFrameP95: percentile(firsts, 0.95))
        }
    }
}
