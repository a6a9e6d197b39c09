import ArgumentParser
import Foundation
import GatewayClient
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SwiftProtobuf
import XYContracts

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

    func run() async throws {
        guard let parsed = URL(string: url), let host = parsed.host, let port = parsed.port else {
            throw ValidationError("--url must be ws://HOST:PORT/PATH")
        }
        let path = parsed.path.isEmpty ? "/" : parsed.path
        let group = MultiThreadedEventLoopGroup.singleton
        let recorder = LatencyRecorder()
        let rssBefore = pid.flatMap(Self.rssKiB)
        var connections: [WebSocketConnection] = []
        connections.reserveCapacity(clients)
        let isNATS = nats
        var index = 0
        while index < clients {
            let batch = min(100, clients - index)
            try await withThrowingTaskGroup(of: WebSocketConnection.self) { tasks in
                for _ in 0..<batch {
                    tasks.addTask {
                        var headers: [(String, String)] = []
                        if let token { headers.append(("Authorization", "Bearer \(token)")) }
                        headers.append(("Sec-WebSocket-Protocol", isNATS ? "nats" : "xy.v1.proto"))
                        let state = ClientState()
                        let connection = try await WebSocketConnection.connect(
                            host: host, port: port, path: path, headers: headers, group: group
                        ) { message in
                            recorder.received(message, nats: isNATS, state: state)
                        }
                        guard connection.response.status == 101 else {
                            throw ValidationError("upgrade refused: \(connection.response.status) \(connection.response.body)")
                        }
                        return connection
                    }
                }
                for try await connection in tasks { connections.append(connection) }
            }
            index += batch
        }
        if idleOnly {
            try await Task.sleep(for: .seconds(2))
            let after = pid.flatMap(Self.rssKiB)
            if let before = rssBefore, let after {
                print(String(format: "idle connections: %d  server RSS %+.0f KiB  (%.2f KiB per connection)", clients, Double(after - before), Double(after - before) / Double(clients)))
            }
            for connection in connections { try? await connection.channel.close() }
            return
        }
        let subscribeStart = DispatchTime.now().uptimeNanoseconds
        recorder.markSubscribe(subscribeStart)
        for connection in connections {
            if isNATS {
                try await connection.send(opcode: WebSocketMessage.binary, payload: ByteBuffer(string: "CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\nSUB \(subject) 1\r\n"))
            } else {
                try await connection.send(text: "{\"op\":\"subscribe\",\"subject\":\"\(subject)\"}")
            }
        }
        try await Task.sleep(for: .seconds(2))
        recorder.reset()
        let cpuBefore = pid.flatMap(Self.cpuTicks)
        let start = DispatchTime.now().uptimeNanoseconds
        try await Task.sleep(for: .seconds(duration))
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let cpuAfter = pid.flatMap(Self.cpuTicks)
        let result = recorder.summary()
        let rssAfter = pid.flatMap(Self.rssKiB)
        for connection in connections { try? await connection.channel.close() }

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

/// Per-connection reading state (NATS frames may split a MSG across WebSocket frames).
final class ClientState: @unchecked Sendable {
    var pending = ByteBuffer()
    var gotFirst = false
}

/// Latencies (now − batch publish time) of every delivered batch, and each client's first frame.
final class LatencyRecorder: Sendable {
    private struct State {
        var latencies: [Int64] = []
        var firstFrames: [Int64] = []
        var subscribeAt: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())

    func markSubscribe(_ at: UInt64) {
        state.withLockedValue { $0.subscribeAt = at }
    }

    func reset() {
        state.withLockedValue { $0.latencies.removeAll(keepingCapacity: true) }
    }

    func received(_ message: WebSocketMessage, nats: Bool, state client: ClientState) {
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        var publishTimes: [Int64] = []
        if nats {
            var incoming = message.payload
            client.pending.writeBuffer(&incoming)
            while let batch = Self.nextNATSMessage(&client.pending) {
                publishTimes.append(batch.publishTimeNs)
            }
        } else if let decoded = try? Xy_Gateway_V1_ServerMessage(serializedBytes: Array(message.payload.readableBytesView)) {
            switch decoded.type {
            case .tick: publishTimes.append(decoded.tick.publishTimeNs)
            case .snapshot: publishTimes.append(0)
            default: break
            }
        }
        guard !publishTimes.isEmpty else { return }
        let first = !client.gotFirst
        client.gotFirst = true
        let monotonic = DispatchTime.now().uptimeNanoseconds
        state.withLockedValue { state in
            if first, state.subscribeAt > 0 { state.firstFrames.append(Int64(monotonic - state.subscribeAt)) }
            for time in publishTimes where time > 0 { state.latencies.append(now - time) }
        }
    }

    /// One `MSG subject sid [reply] size\r\n<payload>\r\n` decoded as a TickBatch; skips other lines.
    static func nextNATSMessage(_ buffer: inout ByteBuffer) -> Xy_Md_V1_TickBatch? {
        while true {
            let view = buffer.readableBytesView
            guard let lineEnd = view.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            let line = String(decoding: view[view.startIndex..<lineEnd], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let headerLength = lineEnd - view.startIndex + 1
            guard line.hasPrefix("MSG ") else {
                buffer.moveReaderIndex(forwardBy: headerLength)
                continue
            }
            guard let size = Int(line.split(separator: " ").last ?? ""), buffer.readableBytes >= headerLength + size + 2 else { return nil }
            buffer.moveReaderIndex(forwardBy: headerLength)
            let payload = buffer.readBytes(length: size) ?? []
            buffer.moveReaderIndex(forwardBy: 2)
            buffer.discardReadBytes()
            return try? Xy_Md_V1_TickBatch(serializedBytes: payload)
        }
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
