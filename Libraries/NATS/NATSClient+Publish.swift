import NIOCore
import NIOPosix

extension NATSClient {
    // MARK: publish

    /// Queues one message for the socket: validation, encoding into the shared buffer under a short
    /// lock, and at most one event-loop wake-up per batch. Never suspends. A publisher on a plain
    /// thread that outruns the socket by `writeHighWaterMark` bytes sleeps until it catches up; in a
    /// Swift task (or on an event loop) it never blocks, so a task that publishes in bulk uses
    /// ``publishWithBackpressure(_:payload:replyTo:headers:)`` to be paced instead.
    public func publish(_ subject: String, payload: ByteBuffer, replyTo: String? = nil, headers: NATSHeaders? = nil) throws {
        try publish(subject, payload: payload, replyTo: replyTo, headers: headers, urgent: false)
    }

    /// ``publish(_:payload:replyTo:headers:)`` for async code: when the socket is
    /// `writeHighWaterMark` bytes behind, the task suspends (its thread goes back to the pool)
    /// until half of that is written, the connection drops, or the client closes.
    /// Inlinable so a publishing loop pays for a plain call, not an async frame, per message: the
    /// task suspends only on the rare publish that finds the buffer over the mark.
    @inlinable
    public func publishWithBackpressure(_ subject: String, payload: ByteBuffer, replyTo: String? = nil, headers: NATSHeaders? = nil) async throws {
        if try publish(subject, payload: payload, replyTo: replyTo, headers: headers, urgent: false) {
            await waitForSpace()
        }
    }

    /// Suspends until the outbound buffer is below half the high-water mark (see
    /// ``publishWithBackpressure(_:payload:replyTo:headers:)``); returns at once when it already is.
    public func waitUntilWritable() async {
        if mustWaitForSpace { await waitForSpace() }
    }

    /// Whether the outbound buffer is over the high-water mark while connected.
    private var mustWaitForSpace: Bool {
        lock.withLock { canWrite && outbound.readableBytes + inFlightBytes > options.writeHighWaterMark }
    }

    /// Parks the task until ``resumeSpaceWaitersLocked()`` (or returns when there is room already).
    @usableFromInline
    func waitForSpace() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            lock.lock()
            guard canWrite, closedError == nil, outbound.readableBytes + inFlightBytes > options.writeHighWaterMark / 2 else {
                lock.unlock()
                continuation.resume()
                return
            }
            spaceWaiters.append(continuation)
            let kick = !flushScheduled && outbound.readableBytes > 0
            if kick { flushScheduled = true }
            lock.unlock()
            if kick { eventLoop.execute { self.flushOutbound() } }
        }
    }

    /// Resumes every task waiting for space; the lock must be held (resuming only enqueues the task).
    func resumeSpaceWaitersLocked() {
        guard !spaceWaiters.isEmpty else { return }
        for waiter in spaceWaiters { waiter.resume() }
        spaceWaiters.removeAll(keepingCapacity: true)
    }

    /// Publishes to a subject checked once when it was made: for a hot path that sends to the same
    /// subjects over and over (the proxy's `xy.md.event.<SYMBOL>`), where checking every publish
    /// measured at 2 % of its time.
    public func publish(_ subject: NATSPublishSubject, payload: ByteBuffer) throws {
        try enqueuePublish(subject.text, payload: payload, replyTo: nil, headers: nil, urgent: false, subjectChecked: true)
    }

    /// The checked-subject publish, paced like ``publishWithBackpressure(_:payload:replyTo:headers:)``.
    @inlinable
    public func publishWithBackpressure(_ subject: NATSPublishSubject, payload: ByteBuffer) async throws {
        if try publishChecked(subject, payload: payload) {
            await waitForSpace()
        }
    }

    /// The checked-subject publish, telling whether a task should wait for space.
    @usableFromInline
    func publishChecked(_ subject: NATSPublishSubject, payload: ByteBuffer) throws -> Bool {
        try enqueuePublish(subject.text, payload: payload, replyTo: nil, headers: nil, urgent: false, subjectChecked: true)
    }

    /// `urgent` (requests) writes at once even while the flusher lingers over a stream. Returns
    /// true when the buffer is over the high-water mark and the caller did not wait for it (a task).
    @discardableResult
    @usableFromInline
    func publish(_ subject: String, payload: ByteBuffer, replyTo: String?, headers: NATSHeaders?, urgent: Bool) throws -> Bool {
        // The subject is checked in enqueuePublish, under the lock, unless it is the last one that passed.
        if let replyTo, !NATSSubjectValidation.isValidPublishSubject(replyTo) {
            throw NATSError(.invalidSubject, "invalid reply subject '\(replyTo.escapedForMessage)'")
        }
        return try enqueuePublish(subject, payload: payload, replyTo: replyTo, headers: headers, urgent: urgent, subjectChecked: false)
    }

    /// The part of a publish after its reply subject is known to be valid; `subjectChecked` when
    /// the subject is too (a ``NATSPublishSubject``). Returns true when the buffer is over the
    /// high-water mark and the caller (in a task) should suspend for it.
    @discardableResult
    private func enqueuePublish(
        _ subject: String, payload: ByteBuffer, replyTo: String?, headers: NATSHeaders?, urgent: Bool, subjectChecked: Bool
    ) throws -> Bool {
        var headerBlock: ByteBuffer?
        if let headers, !headers.fields.isEmpty {
            headerBlock = try headers.encoded()
        }
        let size = payload.readableBytes + (headerBlock?.readableBytes ?? 0)
        lock.lock()
        // A loop publishing to one subject has it checked once: comparing with the last subject
        // that passed (equal small strings compare as two words) is a fraction of the check.
        if !subjectChecked, subject != lastValidSubject {
            guard NATSSubjectValidation.isValidPublishSubject(subject) else {
                lock.unlock()
                throw NATSError(.invalidSubject, "invalid publish subject '\(subject.escapedForMessage)'")
            }
            lastValidSubject = subject
        }
        if let closedError {
            lock.unlock()
            throw closedError
        }
        guard size <= maxPayload else {
            let limit = maxPayload
            lock.unlock()
            throw NATSError(.payloadTooLarge, "payload of \(size) bytes exceeds the server's max_payload of \(limit)")
        }
        if !canWrite, outbound.readableBytes + size > options.reconnectBufferSize {
            lock.unlock()
            throw NATSError(.reconnectBufferFull, "disconnected and the reconnect buffer (\(options.reconnectBufferSize) bytes) is full")
        }
        if let headerBlock {
            outbound.writeNATSHeaderPublish(subject: subject, replyTo: replyTo, headers: headerBlock, payload: payload)
        } else {
            outbound.writeNATSPublish(subject: subject, replyTo: replyTo, payload: payload)
        }
        outMessages &+= 1
        outBytes &+= size
        let kick = canWrite && (!flushScheduled || urgent)
        if kick { flushScheduled = true }
        // Never sleep on an event-loop thread (ours or another client's): that would stall every
        // channel of the loop, and two clients publishing into each other could deadlock.
        if canWrite, outbound.readableBytes + inFlightBytes > options.writeHighWaterMark,
           MultiThreadedEventLoopGroup.currentEventLoop == nil {
            if Self.inSwiftTask {
                // A task must not hold its pool thread: the caller suspends (or buffers on).
                lock.unlock()
                if kick { eventLoop.execute { self.flushOutbound() } }
                return true
            }
            waitForSocketLocked(kicked: kick)
            lock.unlock()
            return false
        }
        lock.unlock()
        if kick { eventLoop.execute { self.flushOutbound() } }
        return false
    }

    /// True on a thread that runs a Swift task: blocking it would hold a thread of the shared pool.
    private static var inSwiftTask: Bool {
        withUnsafeCurrentTask { $0 != nil }
    }

    /// Publishes UTF-8 text.
    public func publish(_ subject: String, _ text: String, replyTo: String? = nil, headers: NATSHeaders? = nil) throws {
        try publish(subject, payload: ByteBuffer(string: text), replyTo: replyTo, headers: headers)
    }

    /// Publishes raw bytes.
    public func publish(_ subject: String, bytes: [UInt8], replyTo: String? = nil, headers: NATSHeaders? = nil) throws {
        try publish(subject, payload: ByteBuffer(bytes: bytes), replyTo: replyTo, headers: headers)
    }

    /// Sleeps (lock released) until the socket has taken enough bytes, the connection drops, or it closes.
    private func waitForSocketLocked(kicked: Bool) {
        if kicked { eventLoop.execute { self.flushOutbound() } }
        writersWaiting += 1
        while canWrite, closedError == nil, outbound.readableBytes + inFlightBytes > options.writeHighWaterMark / 2 {
            lock.wait(timeoutNanoseconds: 50_000_000)
            if canWrite, !flushScheduled, outbound.readableBytes > 0 {
                flushScheduled = true
                eventLoop.execute { self.flushOutbound() }
            }
        }
        writersWaiting -= 1
    }

    /// Hands everything buffered to the socket in one write; runs on the event loop.
    ///
    /// After a large write (a publisher is streaming) the flush stays scheduled and runs again after
    /// `flushLinger`, so a stream costs one write per interval and no wake-up per batch; an isolated
    /// publish or request still goes out at once.
    func flushOutbound(fromLinger: Bool = false) {
        if fromLinger { lingerScheduled = false }
        guard let channel else {
            lock.withLock { flushScheduled = false }
            return
        }
        lock.lock()
        guard canWrite, outbound.readableBytes > 0 else {
            flushScheduled = false
            lock.unlock()
            return
        }
        var data = spareBuffer ?? channel.allocator.buffer(capacity: max(64 * 1024, outbound.readableBytes))
        spareBuffer = nil
        swap(&data, &outbound)
        pingsInOutbound = 0
        let written = data.readableBytes
        let linger = written >= Self.lingerThreshold && options.flushLinger > .zero
        flushScheduled = linger
        inFlightBytes += written
        let writeGeneration = generation
        lock.unlock()
        let sent = data
        channel.writeAndFlush(data).whenComplete { _ in
            // The socket is done with the bytes: keep the storage for the next flush instead of
            // mapping fresh pages for every write.
            var recycled = sent
            recycled.clear()
            self.lock.lock()
            if self.spareBuffer == nil, recycled.capacity <= 4 * 1024 * 1024 {
                self.spareBuffer = recycled
            }
            if self.generation == writeGeneration {
                self.inFlightBytes -= written
            }
            if self.writersWaiting > 0 { self.lock.broadcast() }
            if !self.spaceWaiters.isEmpty {
                if self.outbound.readableBytes + self.inFlightBytes <= self.options.writeHighWaterMark / 2 {
                    self.resumeSpaceWaitersLocked()
                } else if !self.flushScheduled, self.outbound.readableBytes > 0 {
                    self.flushScheduled = true
                    self.eventLoop.execute { self.flushOutbound() }
                }
            }
            self.lock.unlock()
        }
        if linger, !lingerScheduled {
            lingerScheduled = true
            eventLoop.scheduleTask(in: options.flushLinger) { self.flushOutbound(fromLinger: true) }
        }
    }

    /// Bytes in one write from which the flusher assumes a stream and lingers.
    static let lingerThreshold = 2048

    /// Writes protocol bytes (SUB, UNSUB, PING) ahead of nothing in particular, if connected; returns
    /// whether the caller must schedule a flush. The lock must be held.
    func appendControlLocked(_ write: (inout ByteBuffer) -> Void) -> Bool {
        guard canWrite else { return false }
        write(&outbound)
        guard !flushScheduled else { return false }
        flushScheduled = true
        return true
    }

    /// Appends a PING and counts it; the lock must be held. Returns whether to schedule a flush.
    func appendPingLocked() -> Bool {
        guard canWrite else { return false }
        pingsInOutbound += 1
        return appendControlLocked { $0.writeNATSPing() }
    }

    func scheduleFlush() {
        eventLoop.execute { self.flushOutbound() }
    }

    // MARK: subscribe

    /// Subscribes; messages arrive through the returned `AsyncSequence`, batched, within `pendingLimits`.
    public func subscribe(_ subject: String, queue: String? = nil, pendingLimits: NATSPendingLimits? = nil) throws -> NATSSubscription {
        try makeSubscription(subject, queue: queue, pendingLimits: pendingLimits, handler: nil)
    }

    /// The fastest path: `handler` runs on the connection's event loop for every message, in order.
    /// It must not block; the sequence of the returned subscription yields nothing.
    @discardableResult
    public func subscribe(_ subject: String, queue: String? = nil, handler: @escaping @Sendable (NATSMessage) -> Void) throws -> NATSSubscription {
        try makeSubscription(subject, queue: queue, pendingLimits: nil, handler: handler)
    }

    func makeSubscription(_ subject: String, queue: String?, pendingLimits: NATSPendingLimits?,
                          handler: (@Sendable (NATSMessage) -> Void)?) throws -> NATSSubscription {
        guard NATSSubjectValidation.isValidSubscribeSubject(subject) else {
            throw NATSError(.invalidSubject, "invalid subscribe subject '\(subject.escapedForMessage)'")
        }
        if let queue, !NATSSubjectValidation.isValidQueueName(queue) {
            throw NATSError(.invalidQueue, "invalid queue group '\(queue.escapedForMessage)'")
        }
        lock.lock()
        if let closedError {
            lock.unlock()
            throw closedError
        }
        let sid = nextSID
        nextSID += 1
        let subscription = NATSSubscription(
            client: self, sid: sid, subject: subject, queue: queue,
            limits: pendingLimits ?? options.pendingLimits, handler: handler
        )
        subscriptions[sid] = subscription
        let kick = appendControlLocked { $0.writeNATSSubscribe(subject: subject, queue: queue, sid: sid) }
        lock.unlock()
        if kick { scheduleFlush() }
        return subscription
    }

    /// Removes a subscription now (`after == nil`) or once `after` messages in total have arrived.
    func unsubscribe(_ subscription: NATSSubscription, after: Int?) throws {
        let sid = subscription.sid
        var finishNow = false
        lock.lock()
        guard subscriptions[sid] != nil else {
            lock.unlock()
            throw NATSError(.subscriptionClosed, "subscription \(sid) on '\(subscription.subject)' is not active")
        }
        var kick = false
        if let after {
            let remaining = subscription.setMaxMessages(after)
            if remaining == 0 {
                subscriptions[sid] = nil
                finishNow = true
                kick = appendControlLocked { $0.writeNATSUnsubscribe(sid: sid, max: nil) }
            } else {
                kick = appendControlLocked { $0.writeNATSUnsubscribe(sid: sid, max: after) }
            }
        } else {
            subscriptions[sid] = nil
            finishNow = true
            kick = appendControlLocked { $0.writeNATSUnsubscribe(sid: sid, max: nil) }
        }
        lock.unlock()
        if kick { scheduleFlush() }
        if finishNow {
            forgetDelivery(sid)
            subscription.finish(discard: after == nil)
        }
    }

    /// Unsubscribes, then waits for a PONG so everything sent before the UNSUB has been delivered.
    func drain(_ subscription: NATSSubscription, timeout: TimeAmount) async throws {
        let sid = subscription.sid
        lock.lock()
        guard subscriptions[sid] != nil else {
            lock.unlock()
            throw NATSError(.subscriptionClosed, "subscription \(sid) on '\(subscription.subject)' is not active")
        }
        guard canWrite else {
            // Not connected: the server holds no interest for us, and leaving the table means the
            // reconnect will not subscribe it again.
            subscriptions[sid] = nil
            lock.unlock()
            forgetDelivery(sid)
            subscription.finish()
            return
        }
        let kick = appendControlLocked { $0.writeNATSUnsubscribe(sid: sid, max: nil) }
        lock.unlock()
        if kick { scheduleFlush() }
        defer {
            lock.withLock { subscriptions[sid] = nil }
            forgetDelivery(sid)
            subscription.finish()
        }
        try await flush(timeout: timeout)
    }

    /// Drops the event loop's cached route for a sid that left the table.
    func forgetDelivery(_ sid: UInt64) {
        eventLoop.execute { self.deliveryCache[sid] = nil }
    }

    // MARK: confirmed publish

    /// Publishes `count` copies and waits for the server to have processed them (a flush): throws
    /// `permissionsViolation` when the server refused the subject (`-ERR 'Permissions Violation for
    /// Publish to …'`, which it sends before the flush's PONG). A plain `publish` cannot know: the
    /// server answers nothing when it accepts, and the refusal arrives later, on the connection.
    public func publishConfirmed(
        _ subject: String, payload: ByteBuffer, replyTo: String? = nil, headers: NATSHeaders? = nil, count: Int = 1,
        timeout: TimeAmount = .seconds(10)
    ) async throws {
        let watch = PublishWatch(subject: subject)
        try await eventLoop.submit { self.publishWatches.append(watch) }.get()
        do {
            // Paced: a large `count` suspends on the socket instead of buffering every copy.
            for _ in 0..<max(0, count) {
                try await publishWithBackpressure(subject, payload: payload, replyTo: replyTo, headers: headers)
            }
            try await flush(timeout: timeout)
        } catch {
            eventLoop.execute { self.publishWatches.removeAll { $0 === watch } }
            throw error
        }
        let refusal = try await eventLoop.submit {
            self.publishWatches.removeAll { $0 === watch }
            return watch.refusal
        }.get()
        if let refusal { throw refusal }
    }

    // MARK: flush

    /// Round trip to the server: returns once everything published before it has been processed.
    /// While reconnecting it waits for the new connection (within `timeout`).
    public func flush(timeout: TimeAmount = .seconds(10)) async throws {
        let promise = eventLoop.makePromise(of: Void.self)
        eventLoop.execute {
            let waiter = PongWaiter(promise)
            switch self.machine.state {
            case .closed:
                promise.fail(self.lock.withLock { self.closedError } ?? NATSError(.connectionClosed, "connection closed"))
                return
            case .connected, .draining:
                let kick = self.lock.withLock { self.appendPingLocked() }
                self.pongWaiters.append(waiter)
                if kick { self.flushOutbound() }
            case .idle, .connecting, .waitingToReconnect:
                self.flushesAwaitingConnection.append(waiter)
            }
            let timer = self.eventLoop.scheduleTask(in: timeout) {
                self.flushesAwaitingConnection.removeAll { $0 === waiter }
                promise.fail(NATSError(.timeout, "flush: no PONG within \(timeout.prettyDescription)"))
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
        }
        try await promise.futureResult.get()
    }
}

extension String {
    /// Subject text safe to put in an error message: control characters shown as escapes, length capped.
    var escapedForMessage: String {
        var result = ""
        for scalar in unicodeScalars.prefix(128) {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                result += scalar.escaped(asASCII: true)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}

extension TimeAmount {
    /// `500ms`, `2s`: the notation the CLI accepts.
    var prettyDescription: String {
        let ns = nanoseconds
        if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
        if ns % 1_000_000 == 0 { return "\(ns / 1_000_000)ms" }
        return "\(ns / 1000)µs"
    }
}
