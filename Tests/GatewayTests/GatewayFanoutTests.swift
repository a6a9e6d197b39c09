import Foundation
import GatewayClient
import NATSTestSupport
import NIOConcurrencyHelpers
import NIOCore
import SwiftProtobuf
import Testing
import XYContracts

/// The protocol and the fan-out with real WebSocket clients: ACLs and quotas, snapshot on
/// subscribe, gap repair, backpressure policies, slow consumers, NATS going away, frame limits.
@Suite("xy-gateway: protocol and fan-out")
struct GatewayFanoutTests {
    @Test("subjects outside the grant, malformed or with > are refused with XYW002 and never reach NATS; max_subs gives XYW006; bad frames XYW007")
    func aclAndQuota() async throws {
        try await withHarness { harness in
            let client = try await harness.connectedClient(subjects: ["xy.md.tick.*", "xy.md.bar.AAA"], maxSubs: 2)
            let refused = [
                "xy.md.tick.a b", "xy.md.tick.a\r\nPUB x 1", "xy.md.>", "xy.md.tick.>", "xy.md..x", "xy.md.tick.", "",
                "xy.md.bar.BBB", "xy.admin.flags", "xy.md.event.AAA", "xy.md.snapshot.get.demo",
                // More tokens than the gateway's NATS user may subscribe: refused, never acknowledged.
                "xy.md.tick.demo.extra", "xy.md.bar.AAA.x",
            ]
            for (index, subject) in refused.enumerated() {
                let request = try JSONSerialization.data(withJSONObject: ["op": "subscribe", "subject": subject, "id": "r\(index)"])
                try await client.send(text: String(decoding: request, as: UTF8.self))
                let answer = try await client.envelope()
                #expect(answer.type == "error", "\(subject.debugDescription)")
                #expect(answer.code == "XYW002", "\(subject.debugDescription)")
                #expect(answer.object["code"] as? String == "XYW002")
                #expect(answer.data["id"] as? String == "r\(index)")
            }
            try await client.send(text: #"{"op":"subscribe","subject":"xy.md.tick.demo","id":"a"}"#)
            #expect(try await client.envelope().type == "subscribed")
            try await client.send(text: #"{"op":"subscribe","subject":"xy.md.tick.*","id":"b"}"#)
            #expect(try await client.envelope(ofType: "subscribed").data["id"] as? String == "b")
            try await client.send(text: #"{"op":"subscribe","subject":"xy.md.bar.AAA"}"#)
            #expect(try await client.envelope(ofType: "error").code == "XYW006")
            try await client.send(text: "{not json")
            #expect(try await client.envelope(ofType: "error").code == "XYW007")
            try await client.send(text: #"{"op":"publish","subject":"xy.md.tick.demo"}"#)
            #expect(try await client.envelope(ofType: "error").code == "XYW007")
            try await client.send(text: #"{"op":"ping","id":7}"#)
            #expect(try await client.envelope(ofType: "pong").data["id"] as? String == "7")

            // Only the two granted subjects (and their snapshot feeds) reached NATS.
            let subjects = try harness.health()["subjects"] as? [String] ?? []
            #expect(Set(subjects) == ["xy.md.tick.demo", "xy.md.snapshot.demo", "xy.md.tick.*", "xy.md.snapshot.*"])
            let connz = try await harness.nats.connz(subs: true)
            let held = (connz["connections"]?.array ?? []).flatMap { $0["subscriptions_list"]?.array ?? [] }.compactMap(\.string)
            #expect(held.allSatisfy { $0.hasPrefix("xy.md.tick.") || $0.hasPrefix("xy.md.snapshot.") || $0.hasPrefix("_INBOX") || $0.hasPrefix("xy.md.snapshot.get.") })
            await client.close()
            try await harness.eventually("subscriptions released with the last client") {
                (try harness.health()["subjects"] as? [String])?.isEmpty == true
            }
        }
    }

    @Test("snapshot first, then contiguous batches; two clients share one NATS subscription; a gap upstream is repaired with a fresh snapshot")
    func snapshotThenBatches() async throws {
        try await withHarness { harness in
            let group = ScriptedGroup(client: harness.client)
            try group.respond()
            for _ in 0..<5 { try group.publishBatch() }
            try await harness.client.flush()

            let first = try await harness.connectedClient()
            try await first.send(text: #"{"op":"subscribe","subject":"xy.md.tick.demo"}"#)
            #expect(try await first.envelope().type == "subscribed")
            let snapshot = try await first.envelope()
            #expect(snapshot.type == "snapshot")
            #expect(snapshot.subject == "xy.md.tick.demo")
            #expect(snapshot.ticks.count == 3)
            var last = snapshot.seq
            for _ in 0..<20 { try group.publishBatch() }
            while last < group.seq {
                let tick = try await first.envelope(ofType: "tick")
                #expect(tick.firstSeq == last + 1, "contiguous after the snapshot")
                last = tick.seq
            }

            // A second client mid-stream: snapshot, then batches after its seq, no duplicates.
            let second = try await harness.connectedClient()
            try await second.send(text: #"{"op":"subscribe","subject":"xy.md.tick.demo"}"#)
            let secondSnapshot = try await second.envelope(ofType: "snapshot")
            #expect(secondSnapshot.seq >= 5)
            var secondLast = secondSnapshot.seq
            for _ in 0..<5 { try group.publishBatch() }
            while secondLast < group.seq {
                let tick = try await second.envelope(ofType: "tick")
                #expect(tick.firstSeq == secondLast + 1)
                secondLast = tick.seq
            }
            #expect((try harness.health()["subjects"] as? [String])?.filter { $0 == "xy.md.tick.demo" }.count == 1)

            // The aggregator's stream skips 3 seqs: the batch after the hole goes out, then the
            // gateway fetches a snapshot and sends it to everyone.
            try group.publishBatch(skip: 3)
            try group.publishBatch()
            var sawRepair = false
            for _ in 0..<10 {
                let next = try await second.envelope()
                if next.type == "snapshot" {
                    #expect(next.seq >= group.seq - 1)
                    sawRepair = true
                    break
                }
            }
            #expect(sawRepair)
            #expect(try harness.metric("xy_ws_upstream_gaps_total") == 1)
            await first.close()
            await second.close()
        }
    }

    @Test("no cache yet: the first subscriber's snapshot comes from xy.md.snapshot.get.<group>")
    func snapshotRequestOnSubscribe() async throws {
        try await withHarness { harness in
            let group = ScriptedGroup(client: harness.client, group: "fresh")
            for _ in 0..<3 { try group.publishBatch() }
            try group.respond()
            try await harness.client.flush()
            let client = try await harness.connectedClient()
            try await client.send(text: #"{"op":"subscribe","subject":"xy.md.tick.fresh"}"#)
            let snapshot = try await client.envelope(ofType: "snapshot")
            #expect(snapshot.seq == 3)
            try group.publishBatch()
            let tick = try await client.envelope(ofType: "tick")
            #expect(tick.firstSeq == 4)
            #expect(try harness.metric("xy_ws_first_message_seconds_count") ?? 0 >= 1)
            await client.close()
        }
    }

    /// Floods `group` until the stalled client's socket is full (the healthy one keeps up).
    private func flood(_ group: ScriptedGroup, harness: GatewayHarness, batches: Int) async throws {
        for _ in 0..<batches {
            try group.publishBatch()
            try await Task.sleep(for: .milliseconds(10))
        }
        try await harness.client.flush()
    }

    @Test("a client that stops reading gets merged batches (conflate) or a fresh snapshot (drop policies), never a silent hole; the healthy client beside it stays whole", arguments: ["conflate", "drop_oldest", "drop_newest"])
    func stalledClient(policy: String) async throws {
        try await withHarness([
            "WS_BACKPRESSURE": policy, "WS_QUEUE_MAX_MSGS": "128", "WS_QUEUE_MAX_BYTES": "4194304", "WS_SLOW_CONSUMER_MS": "120000",
            "WS_PING_INTERVAL": "120s",
            "WS_SOCKET_SEND_BUFFER": "32768",
        ]) { harness in
            let symbols = (0..<100).map { "S\($0)" }
            let group = ScriptedGroup(client: harness.client, symbols: symbols)
            try group.respond()
            try group.publishBatch()
            try await harness.client.flush()

            let healthySeqs = NIOLockedValueBox<[(UInt64, UInt64, String)]>([])
            let healthy = try await harness.connect(token: try await harness.token()) { message in
                // Read only the head of each frame: a client that parses every byte here would not
                // keep up with the flood in a debug build, and would rightly be treated as slow.
                guard let head = Envelope.head(message.text), ["tick", "snapshot"].contains(head.type) else { return }
                healthySeqs.withLockedValue { $0.append((head.firstSeq, head.seq, head.type)) }
            }
            let stalled = try await harness.connectedClient(receiveBufferSize: 4096)
            for client in [healthy, stalled] {
                try await client.send(text: #"{"op":"subscribe","subject":"xy.md.tick.demo"}"#)
            }
            let before = try await stalled.envelope(ofType: "snapshot")
            try await stalled.stopReading()
            try await flood(group, harness: harness, batches: 320)
            let final = group.seq
            try await harness.eventually("the healthy client got every batch") {
                healthySeqs.withLockedValue { $0.last?.1 } == final
            }
            // The healthy client's state is whole at every step. Under conflate it never needs a
            // second snapshot; under the drop policies a debug-build gateway on a loaded machine can
            // briefly back it up too, and then it must be resnapshotted, never left with a hole.
            let seen = healthySeqs.withLockedValue { $0 }
            var healthyState = seen.first!.1
            for (firstSeq, seq, type) in seen.dropFirst() {
                if type == "snapshot" {
                    healthyState = seq
                } else if seq > healthyState {
                    #expect(firstSeq <= healthyState + 1, "healthy client: a hole (\(healthyState) → \(firstSeq)) without a snapshot")
                    healthyState = seq
                }
            }
            #expect(healthyState == final)
            if policy == "conflate" {
                #expect(seen.filter { $0.2 == "snapshot" }.count == 1, "conflated, the healthy client never needed a second snapshot")
            }
            try await harness.eventually("the stalled client's queue overflowed or conflated") {
                (try harness.metric("xy_ws_messages_dropped_total") ?? 0) > 0
            }

            // Reading again: every tick continues the state it holds, or a snapshot resets it.
            try await stalled.resumeReading()
            var state: UInt64? = before.seq
            var snapshots = 0
            var merged = 0
            while state != final {
                let next: Envelope
                do {
                    next = try await stalled.envelope(timeout: .seconds(15))
                } catch {
                    Issue.record("stalled client stuck at \(state.map(String.init) ?? "nil") of \(final): \(harness.gateway.log.suffix(1500))")
                    throw error
                }
                switch next.type {
                case "snapshot":
                    snapshots += 1
                    state = next.seq
                case "tick":
                    if let current = state, next.seq > current {
                        #expect(next.firstSeq <= current + 1, "a tick that skips seqs (\(current) → \(next.firstSeq)) must be preceded by a snapshot")
                        if next.firstSeq < next.seq { merged += 1 }
                        state = next.seq
                    }
                default:
                    break
                }
            }
            if policy == "conflate" {
                #expect(merged + snapshots > 0)
            } else {
                #expect(snapshots >= 1, "a client that lost batches is resnapshotted")
                #expect(try harness.metric("xy_ws_resnapshots_total") ?? 0 >= 1)
            }
            await healthy.close()
            await stalled.close()
        }
    }

    @Test("a client over its high-water mark for WS_SLOW_CONSUMER_MS is closed with 4008 (XYW003)")
    func slowConsumer() async throws {
        try await withHarness(["WS_SLOW_CONSUMER_MS": "300", "WS_SOCKET_SEND_BUFFER": "32768"]) { harness in
            let group = ScriptedGroup(client: harness.client, symbols: (0..<100).map { "S\($0)" })
            try group.respond()
            try group.publishBatch()
            try await harness.client.flush()
            let stalled = try await harness.connectedClient(receiveBufferSize: 4096)
            try await stalled.send(text: #"{"op":"subscribe","subject":"xy.md.tick.demo"}"#)
            _ = try await stalled.envelope(ofType: "snapshot")
            try await stalled.stopReading()
            try await flood(group, harness: harness, batches: 150)
            try await harness.eventually("closed as a slow consumer") {
                (try harness.metric("xy_ws_slow_consumers_total") ?? 0) >= 1
            }
            // The close frame reaches a client that reads again, behind what was already in flight
            // (its side may have seen the FIN already, after reading what came before it).
            try? await stalled.resumeReading()
            #expect(await closeCode(stalled) == 4008)
            try await harness.eventually("the connection is gone") { try harness.metric("xy_ws_active_connections") == 0 }
            #expect(harness.gateway.log.contains("XYW003"))
            #expect(try harness.health()["lastErrorCode"] as? String == "XYW003")
        }
    }

    @Test("NATS restart: every client is told degraded (XYW004), then live with a fresh snapshot")
    func natsRestart() async throws {
        try await withHarness { harness in
            let group = ScriptedGroup(client: harness.client)
            try group.respond()
            try group.publishBatch()
            try await harness.client.flush()
            let client = try await harness.connectedClient()
            try await client.send(text: #"{"op":"subscribe","subject":"xy.md.tick.demo"}"#)
            _ = try await client.envelope(ofType: "snapshot")

            try await harness.nats.restart()
            let degraded = try await client.envelope(ofType: "status", timeout: .seconds(20))
            #expect(degraded.data["state"] as? String == "degraded")
            #expect(degraded.code == "XYW004")
            #expect(try harness.get("/healthz").status == 503 || (try harness.health()["natsConnected"] as? Bool) == true)
            let live = try await client.envelope(ofType: "status", timeout: .seconds(30))
            #expect(live.data["state"] as? String == "live")
            // The test's own client reconnects too; then the snapshot reply goes out.
            try await harness.eventually("test client back") { harness.client.isConnected }
            try group.respond()
            let fresh = try await client.envelope(ofType: "snapshot", timeout: .seconds(20))
            #expect(fresh.seq == group.seq)
            try group.publishBatch()
            let tick = try await client.envelope(ofType: "tick")
            #expect(tick.firstSeq == fresh.seq + 1)
            await client.close()
        }
    }

    @Test("inbound limits: a message over 1 MiB (one frame or fragments) closes with 1009; invalid UTF-8 with 1007")
    func inboundLimits() async throws {
        try await withHarness { harness in
            let big = try await harness.connectedClient()
            try await big.send(opcode: WebSocketMessage.text, payload: ByteBuffer(repeating: UInt8(ascii: "a"), count: (1 << 20) + 1))
            let close = try await big.next()
            #expect(close.opcode == WebSocketMessage.close)
            #expect(close.closeCode == 1009)

            let fragmented = try await harness.connectedClient()
            let half = ByteBuffer(repeating: UInt8(ascii: "a"), count: 600 * 1024)
            try await fragmented.send(opcode: WebSocketMessage.text, payload: half, fin: false)
            try await fragmented.send(opcode: 0x0, payload: half, fin: true)
            let fragmentedClose = try await fragmented.next()
            #expect(fragmentedClose.closeCode == 1009)

            let garbage = try await harness.connectedClient()
            try await garbage.send(opcode: WebSocketMessage.text, payload: ByteBuffer(bytes: [0x7B, 0xC3, 0x28, 0x7D]))
            #expect(try await garbage.next().closeCode == 1007)

            let fine = try await harness.connectedClient()
            try await fine.send(text: #"{"op":"ping"}"#)
            #expect(try await fine.envelope().type == "pong")
            await fine.close()
        }
    }

    @Test("xy.v1.proto: binary ServerMessage frames and binary ClientRequests")
    func protoSubprotocol() async throws {
        try await withHarness { harness in
            let group = ScriptedGroup(client: harness.client)
            try group.respond()
            try group.publishBatch()
            try await harness.client.flush()
            let client = try await harness.connectedClient(protocols: ["xy.v1.proto"])
            #expect(client.response.header("Sec-WebSocket-Protocol") == "xy.v1.proto")
            var request = Xy_Gateway_V1_ClientRequest()
            request.op = .subscribe
            request.subject = "xy.md.tick.demo"
            request.id = "p1"
            try await client.send(opcode: WebSocketMessage.binary, payload: ByteBuffer(bytes: try request.serializedBytes() as [UInt8]))
            func nextMessage() async throws -> Xy_Gateway_V1_ServerMessage {
                let frame = try await client.next()
                #expect(frame.opcode == WebSocketMessage.binary)
                return try Xy_Gateway_V1_ServerMessage(serializedBytes: Array(frame.payload.readableBytesView))
            }
            let subscribed = try await nextMessage()
            #expect(subscribed.type == .subscribed)
            #expect(subscribed.control.id == "p1")
            let snapshot = try await nextMessage()
            #expect(snapshot.type == .snapshot)
            #expect(snapshot.snapshot.ticks.count == 3)
            try group.publishBatch()
            let tick = try await nextMessage()
            #expect(tick.type == .tick)
            #expect(tick.tick.seq == snapshot.seq + 1)
            await client.close()
        }
    }
}
