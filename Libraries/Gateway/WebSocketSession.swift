import Atomics
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatewayAuth
import Logging
import MarketData
import NIOCore
import NIOWebSocket
import XYContracts
import XYCore

/// One browser connection after the upgrade, on its event loop. Every decision is
/// ``StateMachine``'s; this handler turns socket events into machine events and performs the
/// actions it returns: writes (shared frames, no flush per message), hub membership, snapshot
/// repair, timers (heartbeat, slow consumer, token expiry, close deadline), reading on or off,
/// and the session events on `xy.session.*`.
final class WebSocketSession: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = ByteBuffer
    typealias Machine = StateMachine<ObjectIdentifier>

    private let hub: FanoutHub
    private let shard: LoopShard
    private let settings: Settings
    /// The token's `sub` (session events).
    private let subject: String
    /// The token's `exp` plus leeway: the session ends then.
    private let validUntil: Date
    private let encoding: FrameEncoding
    private let sessionEvents: SessionEventPublisher
    private let metrics: GatewayMetrics
    let sessionID: String
    let remoteAddress: String

    private var context: ChannelHandlerContext?
    private var machine: Machine
    /// The topics the machine's identities stand for.
    private var topics: [ObjectIdentifier: Topic] = [:]
    /// When each topic was subscribed, until its first frame (the first-message histogram).
    private var subscribedAt: [ObjectIdentifier: NIODeadline] = [:]
    private var heartbeat: RepeatedTask?
    /// The one-shot timers, allocated the first time one is armed: most connections never arm
    /// one, and an idle connection's size is what 10,000 of them cost.
    private var timers: Timers?
    private var needsFlush = false
    private var flushRequested = false
    private var unflushedBytes = 0
    /// True inside the drain loop: a write can change writability synchronously and re-enter.
    private var draining = false
    private var tornDown = false
    private var closeReason = "client closed"
    /// Unflushed bytes after which a write flushes at once instead of at the end of the loop turn.
    static let eagerFlushBytes = 256 * 1024

    init(
        hub: FanoutHub, shard: LoopShard, settings: Settings, upgrade: AuthenticatedUpgrade,
        sessionEvents: SessionEventPublisher, sessionID: String, remoteAddress: String
    ) {
        self.hub = hub
        self.shard = shard
        self.settings = settings
        self.subject = upgrade.claims.subject
        self.validUntil = upgrade.validUntil
        self.encoding = FrameEncoding(subprotocol: upgrade.applicationSubprotocol)
        self.sessionEvents = sessionEvents
        self.metrics = hub.metrics
        self.sessionID = sessionID
        self.remoteAddress = remoteAddress
        let grants = upgrade.grants
        self.machine = Machine(
            settings: settings, maxSubscriptions: upgrade.claims.maxSubscriptions ?? settings.defaultMaxSubscriptions,
            now: .now
        ) { subject in
            do throws(GatewayAuthError) {
                try grants.authorize(subject)
            } catch {
                return (code: .subjectDenied, message: error.message)
            }
            if case .failure(let refusal) = ClientSubject.kind(of: subject) {
                return (code: .subjectDenied, message: refusal.message)
            }
            return nil
        }
    }

    // MARK: lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        shard.add(self)
        metrics.activeConnections.increment()
        hub.clients.wrappingIncrement(ordering: .relaxed)
        perform(machine.writabilityChanged(context.channel.isWritable))
        let interval = TimeAmount(settings.pingInterval)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        heartbeat = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            let session = bound.value
            session.perform(session.machine.heartbeat(now: .now))
            session.armTokenExpiryIfDue()
            session.flushNow()
        }
        armTokenExpiryIfDue()
        sessionEvents.publish(.connected, session: self, subject: subject, reason: "")
        if !hub.isNATSConnected {
            sendShared(hub.encoder.control(.init(.status, code: XYErrorCode.natsUnavailable.rawValue, state: "degraded"), nowNs: Self.now()))
            flushNow()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        tearDown()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        tearDown()
        self.context = nil
    }

    private func tearDown() {
        guard context != nil, !tornDown else { return }
        tornDown = true
        heartbeat?.cancel()
        heartbeat = nil
        timers?.slowConsumer?.cancel()
        timers?.slowConsumer = nil
        timers?.closeDeadline?.cancel()
        timers?.closeDeadline = nil
        timers?.tokenExpiry?.cancel()
        timers?.tokenExpiry = nil
        for id in machine.channelClosed() {
            if let topic = topics.removeValue(forKey: id) {
                hub.unsubscribe(self, topic: topic, encoding: encoding, shard: shard)
            }
        }
        topics.removeAll()
        subscribedAt.removeAll()
        shard.remove(self)
        metrics.activeConnections.decrement()
        hub.clients.wrappingDecrement(ordering: .relaxed)
        sessionEvents.publish(.disconnected, session: self, subject: subject, reason: closeReason)
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        machine.inbound(now: .now)
        switch frame.opcode {
        case .text:
            let payload = frame.unmaskedData
            guard String(validating: payload.readableBytesView, as: UTF8.self) != nil else {
                perform(machine.protocolViolation(code: 1007, reason: "text frame is not valid UTF-8"))
                return
            }
            do {
                perform(machine.received(try ClientRequest.parse(payload)))
            } catch {
                perform(machine.malformed(error.reason))
            }
        case .binary:
            guard encoding == .proto else {
                perform(machine.malformed("binary frames are requests only on xy.v1.proto; send JSON text"))
                return
            }
            do {
                perform(machine.received(try Self.request(fromProto: frame.unmaskedData)))
            } catch {
                perform(machine.malformed(error.reason))
            }
        case .ping:
            perform(machine.pingFrame(frame.unmaskedData))
        case .pong:
            machine.pongFrame()
        case .connectionClose:
            var payload = frame.unmaskedData
            let length = payload.readableBytes
            let code = length >= 2 ? payload.readInteger(as: UInt16.self) : nil
            let reasonIsUTF8 = String(validating: payload.readableBytesView, as: UTF8.self) != nil
            if let code, machine.isOpen { closeReason = "client closed (\(code))" }
            perform(machine.closeFrame(code: code, payloadLength: length, reasonIsUTF8: reasonIsUTF8))
        default:
            // Continuations were joined by the aggregator and reserved opcodes refused by
            // ``WebSocketFrameValidator`` before this handler.
            perform(machine.protocolViolation(code: 1002, reason: "unexpected opcode"))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushNow()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case NIOWebSocketError.invalidFrameLength, NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge:
            metrics.closedByPolicy.increment()
            closeReason = "\(XYErrorCode.malformedClientMessage) message too large"
            perform(machine.protocolViolation(code: 1009, reason: "message larger than \(settings.maxInboundMessageBytes) bytes"))
        case let violation as WebSocketFrameValidator.Violation:
            closeReason = "protocol error: \(violation.reason)"
            perform(machine.protocolViolation(code: 1002, reason: violation.reason))
        case is NIOWebSocketError, is NIOWebSocketFrameAggregator.Error:
            closeReason = "protocol error"
            perform(machine.protocolViolation(code: 1002, reason: "protocol error"))
        default:
            closeReason = "connection error"
            context.close(promise: nil)
        }
        flushNow()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        perform(machine.writabilityChanged(context.channel.isWritable))
        context.fireChannelWritabilityChanged()
    }

    static func request(fromProto payload: ByteBuffer) throws(ClientRequest.ParseError) -> ClientRequest {
        guard payload.readableBytes <= ClientRequest.maximumLength,
            let request = try? Xy_Gateway_V1_ClientRequest(serializedBytes: Array(payload.readableBytesView))
        else { throw ClientRequest.ParseError(reason: "not an xy.gateway.v1.ClientRequest") }
        let id = request.id.isEmpty ? nil : request.id
        switch request.op {
        case .subscribe: return .subscribe(subject: request.subject, id: id)
        case .unsubscribe: return .unsubscribe(subject: request.subject, id: id)
        case .ping: return .ping(id: id)
        case .unspecified, .UNRECOGNIZED: throw ClientRequest.ParseError(reason: "unknown op (subscribe, unsubscribe, ping)")
        }
    }

    // MARK: actions

    private func perform(_ actions: [Machine.Action]) {
        for action in actions { perform(action) }
    }

    private func perform(_ action: Machine.Action) {
        guard let context else { return }
        switch action {
        case .write(let outbound):
            write(outbound)
        case .subscribe(let subject, let id):
            subscribe(subject, id: id)
        case .unsubscribe(let id):
            subscribedAt[id] = nil
            if let topic = topics.removeValue(forKey: id) {
                hub.unsubscribe(self, topic: topic, encoding: encoding, shard: shard)
            }
        case .resnapshot(let id, _, let group):
            guard let topic = topics[id] else { return }
            metrics.resnapshots.increment()
            if let replay = topic.state.withLockedValue({ $0.caches[group]?.replay }) {
                deliver(.snapshot(replay.snapshot, replay: replay.batches, repair: true), topic: topic)
            } else {
                // No base right now: wait for the next snapshot the hub delivers to waiting subscribers.
                machine.awaitSnapshot(topic: id, group: group)
                hub.requestSnapshot(topic, group: group, repair: false)
            }
        case .sendClose(let frame, let cause):
            noteClose(cause)
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(WebSocketWire.close(code: frame.code, reason: frame.reason)), promise: written)
            needsFlush = false
            unflushedBytes = 0
            written.futureResult.assumeIsolated().whenComplete { [weak self] _ in
                guard let self else { return }
                self.perform(self.machine.closeWritten())
            }
        case .closeChannel:
            timers?.closeDeadline?.cancel()
            timers?.closeDeadline = nil
            context.close(promise: nil)
        case .shutdownOutput:
            // The close deadline stays armed: a client that never closes its side is closed then.
            let shutdown = context.eventLoop.makePromise(of: Void.self)
            context.close(mode: .output, promise: shutdown)
            shutdown.futureResult.assumeIsolated().whenFailure { [weak self] _ in
                self?.context?.close(promise: nil)
            }
        case .armSlowConsumerTimer:
            timers?.slowConsumer?.cancel()
            armedTimers.slowConsumer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(settings.slowConsumerTimeout)) { [weak self] in
                guard let self else { return }
                self.timers?.slowConsumer = nil
                self.perform(self.machine.slowConsumerTimerFired())
            }
        case .cancelSlowConsumerTimer:
            timers?.slowConsumer?.cancel()
            timers?.slowConsumer = nil
        case .armCloseDeadline:
            guard timers?.closeDeadline == nil else { return }
            armedTimers.closeDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(settings.closeTimeout)) { [weak self] in
                guard let self else { return }
                self.timers?.closeDeadline = nil
                self.perform(self.machine.closeDeadlineFired())
            }
        case .stopReading:
            metrics.readsPaused.increment()
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        case .resumeReading:
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
            context.read()
        case .drain:
            drain()
        case .dropped(let drops):
            count(drops)
        }
    }

    /// Arms the token-expiry timer once `exp` (plus leeway) falls before the next heartbeat: an
    /// exact close without a timer per connection for the hours a token usually lives (the
    /// heartbeat already wakes each connection).
    private func armTokenExpiryIfDue() {
        guard timers?.tokenExpiry == nil, machine.isOpen, let context else { return }
        let remaining = validUntil.timeIntervalSinceNow
        let interval = Double(settings.pingInterval.components.seconds) + Double(settings.pingInterval.components.attoseconds) * 1e-18
        guard remaining <= interval * 1.5 else { return }
        armedTimers.tokenExpiry = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(max(0, remaining) * 1e9))) { [weak self] in
            guard let self else { return }
            self.perform(self.machine.tokenExpired())
            self.flushNow()
        }
    }

    private func subscribe(_ subject: String, id: String?) {
        guard case .success(let kind) = ClientSubject.kind(of: subject) else { return }
        let topic: Topic
        let initial: [Delivery]
        do {
            (topic, initial) = try hub.subscribe(self, subject: subject, kind: kind, encoding: encoding, shard: shard)
        } catch {
            perform(machine.subscribeFailed(subject, id: id))
            return
        }
        let key = ObjectIdentifier(topic)
        topics[key] = topic
        subscribedAt[key] = .now()
        perform(machine.subscribed(subject, topic: key, id: id))
        for delivery in initial { _ = deliver(delivery, topic: topic) }
    }

    /// Records why the connection closes (logs, metrics, the session event).
    private func noteClose(_ cause: Machine.CloseCause) {
        switch cause {
        case .client(let code):
            closeReason = "client closed (\(code))"
        case .protocolViolation:
            metrics.closedByPolicy.increment()
        case .policy:
            metrics.closedByPolicy.increment()
            closeReason = "\(XYErrorCode.malformedClientMessage) too many refused requests"
        case .slowConsumer(let dropped):
            metrics.slowConsumers.increment()
            metrics.droppedSlowConsumer.increment(by: dropped)
            hub.noteError(XYErrorCode.backpressure.rawValue)
            closeReason = "\(XYErrorCode.backpressure) slow consumer"
            hub.logger.warning("slow consumer closed", metadata: [
                "code": "\(XYErrorCode.backpressure)", "session": "\(sessionID)", "queued": "\(dropped)",
            ])
        case .controlOverflow:
            metrics.closedByPolicy.increment()
            hub.noteError(XYErrorCode.backpressure.rawValue)
            closeReason = "\(XYErrorCode.backpressure) replies not read"
            hub.logger.warning("connection closed: requests faster than it reads replies", metadata: [
                "code": "\(XYErrorCode.backpressure)", "session": "\(sessionID)",
            ])
        case .missedPongs:
            closeReason = "missed pongs"
        case .idle:
            closeReason = "idle"
        case .tokenExpired:
            closeReason = "\(XYErrorCode.jwtInvalid) token expired"
            metrics.tokenExpiries.increment()
        case .goingAway:
            closeReason = "gateway shutting down"
        }
    }

    private func count(_ drops: Machine.Drops) {
        if drops.conflated > 0 { metrics.droppedConflated.increment(by: drops.conflated) }
        if drops.oldest > 0 { metrics.droppedOldest.increment(by: drops.oldest) }
        if drops.newest > 0 { metrics.droppedNewest.increment(by: drops.newest) }
    }

    // MARK: outbound

    /// Called by the shard on this loop; true when a data frame was written or queued.
    @discardableResult
    func deliver(_ delivery: Delivery, topic: Topic) -> Bool {
        let key = ObjectIdentifier(topic)
        switch machine.deliver(delivery, topic: key) {
        case .ignore:
            return false
        case .write(let outbound):
            write(outbound)
        case .queued(let drops):
            if !drops.isEmpty { count(drops) }
            if machine.writable { drain() }
            metrics.sendQueueSize.record(machine.queuedCount)
        }
        switch delivery {
        case .snapshot, .frames:
            if !subscribedAt.isEmpty { recordFirstMessage(key) }
        case .tick:
            break
        }
        return true
    }

    private func recordFirstMessage(_ key: ObjectIdentifier) {
        guard let start = subscribedAt.removeValue(forKey: key) else { return }
        metrics.firstMessage.recordNanoseconds((NIODeadline.now() - start).nanoseconds)
    }

    /// A frame every connection of the loop gets (status), ahead of queued data.
    func sendShared(_ frames: EncodedFrames) {
        perform(machine.shared(frames))
    }

    /// Writes what was written since the last flush (the shard calls it once per loop turn).
    func flushNow() {
        flushRequested = false
        guard needsFlush, let context else { return }
        needsFlush = false
        unflushedBytes = 0
        context.flush()
    }

    private func write(_ outbound: Machine.Outbound) {
        guard let context else { return }
        let frame: ByteBuffer
        switch outbound {
        case .encoded(let frames): frame = frames[encoding]
        case .tick(let item): frame = item.frame(encoding, encoder: hub.encoder, nowNs: Self.now())
        case .merged(let batch): frame = hub.encoder.tickFrame(batch, subject: Topic.tickSubject(group: batch.group), nowNs: Self.now(), encoding)
        case .snapshot(let item): frame = item.frame(encoding, encoder: hub.encoder, nowNs: Self.now())
        case .reply(let control): frame = hub.encoder.control(control, nowNs: Self.now())[encoding]
        case .pong(let payload): frame = WebSocketWire.frame(.pong, payload: payload)
        case .ping: frame = WebSocketWire.frame(.ping, payload: ByteBuffer())
        }
        context.write(wrapOutboundOut(frame), promise: nil)
        needsFlush = true
        unflushedBytes += frame.readableBytes
        if unflushedBytes >= Self.eagerFlushBytes {
            // A long run of deliveries in one loop turn: let the socket take some now.
            flushNow()
            return
        }
        if !flushRequested {
            flushRequested = true
            shard.scheduleFlush(self)
        }
    }

    /// Writes queued frames while the socket takes them, then whatever the drained queue calls for.
    private func drain() {
        guard context != nil, !draining else { return }
        draining = true
        // A resnapshot the drained queue calls for is queued while `draining` holds, and written
        // by the next round: a loop, never a recursion, and bounded.
        for _ in 0..<4 {
            while let next = machine.nextToWrite() { write(next) }
            perform(machine.drained())
            guard machine.writable, machine.queuedCount > 0 else { break }
        }
        draining = false
        flushNow()
    }

    // MARK: closing

    /// The gateway is stopping: sends 1001 and returns the socket's close, for the server to await.
    func goingAway() -> EventLoopFuture<Void>? {
        perform(machine.goingAway())
        flushNow()
        return context?.channel.closeFuture
    }

    static func now() -> Int64 { wallClockNanoseconds() }

    /// The connection's timers, made when the first is armed.
    private var armedTimers: Timers {
        if let timers { return timers }
        let made = Timers()
        timers = made
        return made
    }

    /// The one-shot timers of a connection.
    private final class Timers {
        var slowConsumer: Scheduled<Void>?
        var closeDeadline: Scheduled<Void>?
        var tokenExpiry: Scheduled<Void>?
    }
}
