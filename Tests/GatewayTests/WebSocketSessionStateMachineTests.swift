@testable import Gateway
import NIOCore
import Testing
import XYContracts
import XYCore

/// The per-connection machine driven with plain values: topics are strings, frames are small
/// buffers, time is an instant the test moves.
@Suite("WebSocketSession.StateMachine")
struct WebSocketSessionStateMachineTests {
    typealias Machine = WebSocketSession.StateMachine<String>

    private static let tickSubject = "xy.md.tick.demo"

    private func machine(
        backpressure: GatewayConfiguration.BackpressurePolicy = .conflate, queueMaxMessages: Int = 256, queueMaxBytes: Int = 1 << 20,
        maxSubscriptions: Int = 8, now: ContinuousClock.Instant = .now
    ) -> Machine {
        Machine(
            settings: .init(queueMaxMessages: queueMaxMessages, queueMaxBytes: queueMaxBytes, backpressure: backpressure, idleTimeout: .seconds(60)),
            maxSubscriptions: maxSubscriptions, now: now
        ) { subject in
            subject.hasPrefix("xy.md.") ? nil : (code: .subjectDenied, message: "not granted")
        }
    }

    private func tick(_ seq: UInt64, first: UInt64 = 0, epoch: UInt64 = 7, group: String = "demo") -> TickItem {
        var batch = Xy_Md_V1_TickBatch()
        batch.group = group
        batch.seq = seq
        batch.firstSeq = first
        batch.epoch = epoch
        var tick = Xy_Md_V1_SymbolTick()
        tick.symbol = "S\(seq)"
        batch.ticks = [tick]
        return TickItem(batch: batch, subject: "xy.md.tick." + group, json: ByteBuffer(string: "tick \(seq)"), proto: nil)
    }

    private func snapshot(_ seq: UInt64, epoch: UInt64 = 7, group: String = "demo") -> SnapshotItem {
        var snapshot = Xy_Md_V1_Snapshot()
        snapshot.group = group
        snapshot.seq = seq
        snapshot.epoch = epoch
        return SnapshotItem(snapshot: snapshot, json: ByteBuffer(string: "snapshot \(seq)"), proto: nil)
    }

    /// A machine holding the demo ticks topic (as "T") at seq 10 of epoch 7, everything written.
    private func following(_ backpressure: GatewayConfiguration.BackpressurePolicy = .conflate, queueMaxMessages: Int = 256, queueMaxBytes: Int = 1 << 20) -> Machine {
        var machine = machine(backpressure: backpressure, queueMaxMessages: queueMaxMessages, queueMaxBytes: queueMaxBytes)
        #expect(kinds(machine.received(.subscribe(subject: Self.tickSubject, id: "1"))) == ["subscribe"])
        #expect(kinds(machine.subscribed(Self.tickSubject, topic: "T", id: "1")) == ["write:reply"])
        guard case .queued = machine.deliver(.snapshot(snapshot(10), replay: [], repair: false), topic: "T") else {
            Issue.record("snapshot not queued")
            return machine
        }
        #expect(writes(&machine) == ["snapshot 10"])
        #expect(machine.position(topic: "T", group: "demo") == .init(epoch: 7, seq: 10))
        return machine
    }

    /// Everything the machine lets out now, as text.
    private func writes(_ machine: inout Machine) -> [String] {
        var out: [String] = []
        while let next = machine.nextToWrite() { out.append(describe(next)) }
        return out
    }

    private func describe(_ outbound: Machine.Outbound) -> String {
        switch outbound {
        case .encoded(let frames): String(buffer: frames.json)
        case .tick(let item): String(buffer: item.json)
        case .merged(let batch): "merged \(batch.firstSeq)...\(batch.seq)"
        case .snapshot(let item): String(buffer: item.json)
        case .reply(let control): "reply \(MessageEncoder.name(control.type))\(control.code.map { " " + $0 } ?? "")"
        case .pong: "pong"
        case .ping: "ping"
        }
    }

    /// Action names, enough to compare sequences.
    private func kinds(_ actions: [Machine.Action]) -> [String] {
        actions.map { action in
            switch action {
            case .write(let outbound):
                switch outbound {
                case .reply: "write:reply"
                case .pong: "write:pong"
                case .ping: "write:ping"
                case .encoded, .tick, .merged, .snapshot: "write:data"
                }
            case .subscribe: "subscribe"
            case .unsubscribe(let topic): "unsubscribe \(topic)"
            case .resnapshot(let topic, _, let group): "resnapshot \(topic) \(group)"
            case .sendClose(let frame, _): "close \(frame.code)"
            case .closeChannel: "closeChannel"
            case .shutdownOutput: "shutdownOutput"
            case .armSlowConsumerTimer: "armSlowConsumer"
            case .cancelSlowConsumerTimer: "cancelSlowConsumer"
            case .armCloseDeadline: "armCloseDeadline"
            case .stopReading: "stopReading"
            case .resumeReading: "resumeReading"
            case .drain: "drain"
            case .dropped: "dropped"
            }
        }
    }

    private func written(_ action: Machine.DeliverAction) -> String? {
        if case .write(let outbound) = action { return describe(outbound) }
        return nil
    }

    @Test("snapshot first, then only the batches after it; the fast path writes without queueing")
    func snapshotThenBatches() {
        var machine = machine()
        // Not held yet: nothing.
        #expect(written(machine.deliver(.tick(tick(1)), topic: "T")) == nil)
        _ = machine.received(.subscribe(subject: Self.tickSubject, id: nil))
        _ = machine.subscribed(Self.tickSubject, topic: "T", id: nil)
        // Held, but no base yet: a batch alone would show a partial state.
        guard case .ignore = machine.deliver(.tick(tick(11)), topic: "T") else { Issue.record("batch before snapshot"); return }
        _ = machine.deliver(.snapshot(snapshot(10), replay: [tick(9), tick(11), tick(12)], repair: false), topic: "T")
        // The replay after the base goes out as one merged batch (conflate).
        #expect(writes(&machine) == ["snapshot 10", "merged 11...12"])
        guard case .ignore = machine.deliver(.tick(tick(12)), topic: "T") else { Issue.record("duplicate written"); return }
        #expect(written(machine.deliver(.tick(tick(13)), topic: "T")) == "tick 13")
        // A second, non-repair snapshot is for clients still waiting: not this one.
        guard case .ignore = machine.deliver(.snapshot(snapshot(13), replay: [], repair: false), topic: "T") else { Issue.record("resent"); return }
        #expect(machine.queuedCount == 0)
    }

    @Test("a new epoch: batches of the new run wait for its snapshot, which is taken though its seq is lower")
    func newEpoch() {
        var machine = following()
        #expect(written(machine.deliver(.tick(tick(11)), topic: "T")) == "tick 11")
        // The producer restarted without its stream: seq 1 of epoch 8.
        guard case .ignore = machine.deliver(.tick(tick(1, epoch: 8)), topic: "T") else { Issue.record("new-epoch batch without base"); return }
        _ = machine.deliver(.snapshot(snapshot(1, epoch: 8), replay: [tick(2, epoch: 8)], repair: true), topic: "T")
        #expect(writes(&machine) == ["snapshot 1", "tick 2"])
        #expect(machine.position(topic: "T", group: "demo") == .init(epoch: 8, seq: 2))
        #expect(written(machine.deliver(.tick(tick(3, epoch: 8)), topic: "T")) == "tick 3")
        // A straggler of the old run is not applied.
        guard case .ignore = machine.deliver(.tick(tick(12, epoch: 7)), topic: "T") else { Issue.record("old epoch applied"); return }
    }

    @Test("conflate: batches queued behind a full socket merge into one covering the range")
    func conflate() {
        var machine = following()
        #expect(kinds(machine.writabilityChanged(false)) == ["armSlowConsumer"])
        for seq in UInt64(11)...14 { _ = machine.deliver(.tick(tick(seq)), topic: "T") }
        #expect(machine.queuedCount == 1)
        #expect(writes(&machine) == [])
        #expect(kinds(machine.writabilityChanged(true)) == ["cancelSlowConsumer", "drain"])
        #expect(writes(&machine) == ["merged 11...14"])
        #expect(kinds(machine.drained()).isEmpty)
        #expect(machine.queuedCount == 0)
        #expect(written(machine.deliver(.tick(tick(15)), topic: "T")) == "tick 15")
    }

    @Test("a new base supersedes what was queued before it; a batch after it never merges across it (nor across epochs)")
    func noMergeAcrossEpochs() {
        var machine = following()
        _ = machine.writabilityChanged(false)
        _ = machine.deliver(.tick(tick(11)), topic: "T")
        _ = machine.deliver(.snapshot(snapshot(1, epoch: 8), replay: [], repair: true), topic: "T")
        _ = machine.deliver(.tick(tick(2, epoch: 8)), topic: "T")
        _ = machine.writabilityChanged(true)
        // The old run's queued batch is superseded by the new base; the new run's batch follows it, unmerged.
        #expect(writes(&machine) == ["snapshot 1", "tick 2"])
    }

    @Test("drop_oldest and drop_newest: a group that lost frames gets a fresh snapshot once the queue drains, never a hole", arguments: [
        GatewayConfiguration.BackpressurePolicy.dropOldest, .dropNewest,
    ])
    func dropPolicies(policy: GatewayConfiguration.BackpressurePolicy) {
        var machine = following(policy, queueMaxMessages: 2)
        _ = machine.writabilityChanged(false)
        var drops = Machine.Drops()
        for seq in UInt64(11)...15 {
            if case .queued(let dropped) = machine.deliver(.tick(tick(seq)), topic: "T") {
                drops.oldest += dropped.oldest
                drops.newest += dropped.newest
            }
        }
        #expect(drops.oldest + drops.newest == 3)
        _ = machine.writabilityChanged(true)
        // What is left of the lost group is superseded by the resnapshot.
        #expect(writes(&machine) == [])
        #expect(kinds(machine.drained()) == ["resnapshot T demo"])
        _ = machine.deliver(.snapshot(snapshot(15), replay: [], repair: true), topic: "T")
        #expect(writes(&machine) == ["snapshot 15"])
        #expect(written(machine.deliver(.tick(tick(16)), topic: "T")) == "tick 16")
    }

    @Test("slow consumer: the socket stays full for the timeout, the queue is dropped and 4008 is the next frame")
    func slowConsumer() {
        var machine = following()
        _ = machine.writabilityChanged(false)
        for seq in UInt64(11)...13 { _ = machine.deliver(.tick(tick(seq)), topic: "T") }
        let actions = machine.slowConsumerTimerFired()
        #expect(kinds(actions) == ["dropped", "armCloseDeadline", "close 4008"])
        guard case .sendClose(let frame, .slowConsumer) = actions.last else { Issue.record("cause"); return }
        #expect(frame.reason.hasPrefix("XYW003"))
        #expect(machine.state == .closing(frame))
        #expect(machine.queuedCount == 0)
        // A timer that fires after the socket drained does nothing.
        var recovered = following()
        _ = recovered.writabilityChanged(false)
        _ = recovered.writabilityChanged(true)
        #expect(recovered.slowConsumerTimerFired().isEmpty)
    }

    @Test("closing accepts nothing: requests, subscriptions completing late and deliveries after the close frame")
    func nothingAfterClose() {
        var machine = following()
        #expect(kinds(machine.received(.subscribe(subject: "xy.md.tick.more", id: "2"))) == ["subscribe"])
        // The client's close arrives while the hub is subscribing "more".
        #expect(kinds(machine.closeFrame(code: 1000, payloadLength: 2, reasonIsUTF8: true)) == ["armCloseDeadline", "close 1000"])
        #expect(kinds(machine.subscribed("xy.md.tick.more", topic: "M", id: "2")) == ["unsubscribe M"])
        #expect(machine.received(.subscribe(subject: "xy.md.tick.other", id: nil)).isEmpty)
        #expect(machine.received(.ping(id: nil)).isEmpty)
        #expect(machine.malformed("junk").isEmpty)
        guard case .ignore = machine.deliver(.tick(tick(11)), topic: "T") else { Issue.record("delivered while closing"); return }
        #expect(kinds(machine.closeWritten()) == ["shutdownOutput"])
        #expect(machine.channelClosed() == ["T"])
        #expect(machine.channelClosed().isEmpty)
    }

    @Test("the 1008 for repeated abuse: later subscribes never reach the hub")
    func abuseThenSubscribe() {
        var machine = machine()
        var closed = false
        for _ in 0..<21 where !closed {
            closed = kinds(machine.malformed("junk")).contains("close 1008")
        }
        #expect(closed)
        #expect(machine.received(.subscribe(subject: Self.tickSubject, id: nil)).isEmpty)
    }

    @Test("replies behind a full socket are bounded: reading stops, then a flood is closed")
    func controlQueueBound() {
        var machine = following()
        _ = machine.writabilityChanged(false)
        var stopped = 0
        var closedAt: Int?
        for index in 1...300 {
            let actions = kinds(machine.received(.ping(id: nil)))
            if actions.contains("stopReading") { stopped = index }
            if actions.contains("close 1008") { closedAt = index; break }
        }
        #expect(stopped == 64)
        #expect(closedAt == 257)
        #expect(machine.queuedCount == 0)
        #expect(machine.received(.ping(id: nil)).isEmpty)
    }

    @Test("reading resumes once the replies are written")
    func readingResumes() {
        var machine = following()
        _ = machine.writabilityChanged(false)
        for _ in 1...64 { _ = machine.received(.ping(id: nil)) }
        #expect(machine.readingPaused)
        _ = machine.writabilityChanged(true)
        #expect(writes(&machine).count == 64)
        #expect(kinds(machine.drained()) == ["resumeReading"])
        #expect(!machine.readingPaused)
    }

    @Test("heartbeat: pings, a client owed data that stops answering is a slow consumer, a silent idle one is closed 1001")
    func heartbeat() {
        let start = ContinuousClock.now
        var owed = following()
        #expect(kinds(owed.heartbeat(now: start)) == ["write:ping"])
        _ = owed.deliver(.tick(tick(11)), topic: "T")
        #expect(kinds(owed.heartbeat(now: start)) == ["write:ping"])
        #expect(kinds(owed.heartbeat(now: start)) == ["armCloseDeadline", "close 4008"])

        var silent = following()
        silent.pongFrame()
        _ = silent.heartbeat(now: start)
        _ = silent.heartbeat(now: start)
        #expect(kinds(silent.heartbeat(now: start)) == ["armCloseDeadline", "close 1001"])

        var answering = following()
        for _ in 0..<5 {
            #expect(kinds(answering.heartbeat(now: start)) == ["write:ping"])
            answering.pongFrame()
        }

        var idle = machine(now: start)
        #expect(kinds(idle.heartbeat(now: start + .seconds(30))) == ["write:ping"])
        idle.pongFrame()
        #expect(kinds(idle.heartbeat(now: start + .seconds(61))) == ["armCloseDeadline", "close 1000"])
    }

    @Test("token expiry: an orderly 4001 after what was queued; the close deadline still bounds it")
    func tokenExpiry() {
        var machine = following()
        _ = machine.writabilityChanged(false)
        _ = machine.deliver(.tick(tick(11)), topic: "T")
        #expect(kinds(machine.tokenExpired()) == ["cancelSlowConsumer", "armCloseDeadline", "drain"])
        guard case .draining(let frame, .tokenExpired) = machine.state else { Issue.record("not draining"); return }
        #expect(frame.code == 4001)
        #expect(frame.reason.hasPrefix("XYW005"))
        // Draining: nothing new.
        guard case .ignore = machine.deliver(.tick(tick(12)), topic: "T") else { Issue.record("delivered while draining"); return }
        #expect(machine.received(.subscribe(subject: "xy.md.tick.x", id: nil)).isEmpty)
        _ = machine.writabilityChanged(true)
        #expect(writes(&machine) == ["tick 11"])
        #expect(kinds(machine.drained()) == ["close 4001"])
        #expect(kinds(machine.closeWritten()) == ["shutdownOutput"])

        var stuck = following()
        _ = stuck.writabilityChanged(false)
        _ = stuck.deliver(.tick(tick(11)), topic: "T")
        _ = stuck.tokenExpired()
        #expect(kinds(stuck.closeDeadlineFired()) == ["closeChannel"])
    }

    @Test("close frames from the client: valid codes echoed, invalid codes and bad reasons are protocol errors (RFC 6455 §7.4)")
    func closeCodes() {
        for (code, expected) in [(1000, 1000), (1001, 1001), (3000, 3000), (4999, 4999), (1012, 1012)] as [(UInt16, UInt16)] {
            var machine = following()
            #expect(kinds(machine.closeFrame(code: code, payloadLength: 2, reasonIsUTF8: true)).last == "close \(expected)")
        }
        for code: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            var machine = following()
            #expect(kinds(machine.closeFrame(code: code, payloadLength: 2, reasonIsUTF8: true)).last == "close 1002", "\(code)")
        }
        var empty = following()
        #expect(kinds(empty.closeFrame(code: nil, payloadLength: 0, reasonIsUTF8: true)).last == "close 1000")
        var oneByte = following()
        #expect(kinds(oneByte.closeFrame(code: nil, payloadLength: 1, reasonIsUTF8: true)).last == "close 1002")
        var badReason = following()
        #expect(kinds(badReason.closeFrame(code: 1000, payloadLength: 4, reasonIsUTF8: false)).last == "close 1007")
        // The client's answer to our close closes the socket.
        var ours = following()
        _ = ours.goingAway()
        #expect(kinds(ours.closeFrame(code: 1001, payloadLength: 2, reasonIsUTF8: true)) == ["closeChannel"])
    }

    @Test("unsubscribe and quota: the slot comes back, a failed hub subscribe gives it back too")
    func quota() {
        var machine = machine(maxSubscriptions: 1)
        #expect(kinds(machine.received(.subscribe(subject: "xy.md.tick.a", id: nil))) == ["subscribe"])
        #expect(kinds(machine.subscribeFailed("xy.md.tick.a", id: nil)) == ["write:reply"])
        #expect(machine.subjects.isEmpty)
        #expect(kinds(machine.received(.subscribe(subject: "xy.md.tick.b", id: nil))) == ["subscribe"])
        _ = machine.subscribed("xy.md.tick.b", topic: "B", id: nil)
        let refused = machine.received(.subscribe(subject: "xy.md.tick.c", id: nil))
        guard case .write(.reply(let control)) = refused.first else { Issue.record("no refusal"); return }
        #expect(control.code == XYErrorCode.quotaExceeded.rawValue)
        #expect(kinds(machine.received(.unsubscribe(subject: "xy.md.tick.b", id: nil))) == ["unsubscribe B", "write:reply"])
        #expect(kinds(machine.received(.subscribe(subject: "xy.md.tick.c", id: nil))) == ["subscribe"])
    }

    @Test("subject shapes: only what the gateway's NATS user can subscribe is acknowledged")
    func subjectShapes() {
        for good in ["xy.md.tick.demo", "xy.md.tick.*", "xy.md.snapshot.demo", "xy.md.bar.AAPL", "xy.md.bar.BRK_B", "xy.md.tick.cli-demo"] {
            guard case .success = ClientSubject.kind(of: good) else { Issue.record("refused \(good)"); continue }
        }
        for bad in [
            "xy.md.tick.demo.extra", "xy.md.tick.>", "xy.md.tick", "xy.md.tick.", "xy.md.bar.aapl", "xy.md.bar.BRK.B",
            "xy.md.snapshot.get", "xy.md.snapshot.get.demo", "xy.md.event.AAPL", "xy.ctl.upstream.subscribe", "xy.md.tick.a b",
        ] {
            guard case .failure = ClientSubject.kind(of: bad) else { Issue.record("accepted \(bad)"); continue }
        }
    }

    @Test("a base and its replay always fit, even over the queue's bounds: a resnapshot never overflows into another one", arguments: [
        GatewayConfiguration.BackpressurePolicy.conflate, .dropOldest, .dropNewest,
    ])
    func baseAlwaysFits(policy: GatewayConfiguration.BackpressurePolicy) {
        var machine = following(policy, queueMaxMessages: 1, queueMaxBytes: 16)
        _ = machine.writabilityChanged(false)
        // Frames queued before the new base are superseded by it.
        _ = machine.deliver(.tick(tick(11)), topic: "T")
        _ = machine.deliver(.snapshot(snapshot(20), replay: [tick(19), tick(21), tick(22), tick(23)], repair: true), topic: "T")
        _ = machine.writabilityChanged(true)
        #expect(writes(&machine) == ["snapshot 20", "merged 21...23"])
        #expect(kinds(machine.drained()).isEmpty)
        #expect(machine.position(topic: "T", group: "demo") == .init(epoch: 7, seq: 23))
    }

    @Test("unsubscribe drops what was queued for the subject")
    func unsubscribeDropsQueued() {
        var machine = following()
        _ = machine.writabilityChanged(false)
        _ = machine.deliver(.tick(tick(11)), topic: "T")
        #expect(machine.queuedCount == 1)
        _ = machine.received(.unsubscribe(subject: Self.tickSubject, id: nil))
        _ = machine.writabilityChanged(true)
        #expect(writes(&machine) == ["reply unsubscribed"])
    }
}
