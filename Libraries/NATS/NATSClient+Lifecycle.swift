#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import NIOPosix
import NIOSSL
import NKeys
import XYCore

/// Connecting, reconnecting with backoff, and closing. Every method here runs on `eventLoop`.
extension NATSClient {
    // MARK: initial connect

    /// Tries each server of the pool once, as nats.go does for the first connection.
    func startInitialConnect() -> EventLoopFuture<Void> {
        eventLoop.assertInEventLoop()
        let promise = eventLoop.makePromise(of: Void.self)
        initialConnect = promise
        perform(machine.start(servers: pool.entries.count), after: nil, address: nil)
        return promise.futureResult
    }

    /// Performs what the machine decided for the lifecycle; `error` and `address` say which socket
    /// failed, if one did.
    func perform(_ action: NATSConnectionStateMachine.LifecycleAction, after error: NATSError?, address: NATSServerAddress?) {
        if let error {
            logger.debug("connect attempt failed", metadata: ["server": "\(address.map(\.description) ?? "?")", "error": "\(error)"])
        }
        switch action {
        case .none:
            break
        case .openSocket(let id):
            openSocket(id: id)
        case .scheduleReconnect(let delay):
            if let error, error.code == .authorizationViolation { emit(.serverError(error.message)) }
            reconnectTask = eventLoop.scheduleTask(in: delay) {
                self.perform(self.machine.reconnectDue(), after: nil, address: nil)
            }
        case .failInitialConnect(let lastError):
            lock.withLock { closedError = NATSError(.connectionClosed, "never connected") }
            eventContinuation.finish()
            let failure: NATSError
            if lastError.code != .connectFailed, lastError.code != .timeout {
                failure = lastError
            } else {
                failure = NATSError(.connectFailed, "could not connect to \(options.servers.map(\.description).joined(separator: ", ")): \(lastError.message)")
            }
            initialConnect?.fail(failure)
            initialConnect = nil
        case .close(let closing):
            teardown(error: closing)
        }
    }

    /// `readBurstBytes` as SwiftNIO's knobs: reads per wake-up, and the largest buffer of each (a
    /// power of two, as SwiftNIO's allocator would round it up to one), never above the option.
    var readBurst: (reads: UInt, bytesPerRead: Int) { Self.readBurst(options.readBurstBytes) }

    static func readBurst(_ bytes: Int) -> (reads: UInt, bytesPerRead: Int) {
        let burst = max(1024, bytes)
        var bytesPerRead = 65536
        while bytesPerRead > burst { bytesPerRead /= 2 }
        return (UInt(burst / bytesPerRead), bytesPerRead)
    }

    /// Opens socket `id` to the next server of the pool; its handler drives the handshake through
    /// the machine, and a handshake that has not finished within `connectTimeout` fails it.
    private func openSocket(id: Int) {
        let address = pool.next()
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(options.connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(.maxMessagesPerRead, value: readBurst.reads)
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: min(2048, readBurst.bytesPerRead), maximum: readBurst.bytesPerRead))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NATSChannelHandler(client: self, address: address, id: id))
                }
            }
        let connectTimeout = options.connectTimeout
        bootstrap.connect(host: address.host, port: address.port).whenComplete { result in
            switch result {
            case .success(let channel):
                self.handshakeTimer = self.eventLoop.scheduleTask(in: connectTimeout) {
                    guard self.machine.connectionID != id else { return }
                    channel.close(promise: nil)
                    let error = NATSError(.timeout, "no handshake from \(address) within \(connectTimeout.prettyDescription)")
                    self.perform(self.machine.socketFailed(id: id, error: error), after: error, address: address)
                }
            case .failure(let error):
                let wrapped = NATSChannelHandler.natsError(error, address: address)
                self.perform(self.machine.socketFailed(id: id, error: wrapped), after: wrapped, address: address)
            }
        }
    }

    // MARK: connected

    /// Installs a fresh socket: resubscribes everything, then sends what was buffered, then pending flushes.
    func handshakeCompleted(channel: any Channel, info: NATSServerInfo, address: NATSServerAddress, isReconnect: Bool, lameDuck: Bool) {
        self.channel = channel
        handshakeTimer?.cancel()
        handshakeTimer = nil
        pool.clearLameDuck(address)
        if let urls = info.connectURLs { pool.addDiscovered(urls, template: address) }
        let waiting = flushesAwaitingConnection
        flushesAwaitingConnection = []
        lock.lock()
        var prelude = channel.allocator.buffer(capacity: outbound.readableBytes + 1024)
        for (sid, subscription) in subscriptions.sorted(by: { $0.key < $1.key }) {
            prelude.writeNATSSubscribe(subject: subscription.subject, queue: subscription.queue, sid: sid)
            if let remaining = subscription.remainingMessages {
                prelude.writeNATSUnsubscribe(sid: sid, max: remaining)
            }
        }
        prelude.writeBuffer(&outbound)
        let earlierPings = pingsInOutbound
        if !waiting.isEmpty {
            prelude.writeNATSPing()
            pingsInOutbound += 1
        }
        outbound = prelude
        canWrite = true
        generation += 1
        inFlightBytes = 0
        maxPayload = info.maxPayload
        lockedServerInfo = info
        lock.unlock()
        // PONGs for PINGs that were buffered before the loss come back first and answer nobody.
        for _ in 0..<earlierPings { pongWaiters.append(nil) }
        if !waiting.isEmpty {
            let combined = PongWaiter(eventLoop.makePromise(of: Void.self))
            combined.promise.futureResult.whenComplete { result in
                for waiter in waiting { waiter.promise.completeWith(result) }
            }
            pongWaiters.append(combined)
        }
        flushOutbound()
        startPingTimer()
        if isReconnect {
            reconnects.wrappingIncrement(ordering: .relaxed)
            logger.info("reconnected", metadata: ["server": "\(address)"])
            emit(.reconnected(server: address.description))
        } else {
            logger.debug("connected", metadata: ["server": "\(address)"])
            emit(.connected(server: address.description))
            initialConnect?.succeed(())
            initialConnect = nil
        }
        if lameDuck { enteredLameDuck(address) }
    }

    private func startPingTimer() {
        pingTask?.cancel()
        let interval = options.pingInterval
        pingTask = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in
            self?.sendKeepAlivePing()
        }
    }

    /// PING on a timer; the machine counts those without a PONG and says when the link is dead.
    private func sendKeepAlivePing() {
        switch machine.pingTimerFired() {
        case .none:
            return
        case .closeStale(let outstanding):
            logger.warning("stale connection: no PONG", metadata: ["outstanding": "\(outstanding)"])
            noteConnectionError(NATSError(.timeout, "stale connection: \(outstanding) PINGs without PONG"))
            channel?.close(promise: nil)
        case .sendPing:
            let kick = lock.withLock { appendPingLocked() }
            pongWaiters.append(nil)
            if kick { flushOutbound() }
        }
    }

    // MARK: loss and reconnect

    func noteConnectionError(_ error: any Error) {
        lastConnectionError = "\(error)"
    }

    /// Socket `id` closed: during its handshake the next attempt follows; the live connection's
    /// loss keeps what is buffered, fails what waited on that socket, and reconnects (or closes).
    func socketClosed(id: Int, address: NATSServerAddress) {
        let reason = lastConnectionError ?? "connection lost"
        switch machine.socketClosed(id: id, reason: reason) {
        case .none:
            break
        case .handshakeFailed(let next):
            perform(next, after: NATSError(.connectFailed, "\(address) closed the connection during the handshake"), address: address)
        case .connectionLost(let next):
            lastConnectionError = nil
            channel = nil
            lock.withLock {
                canWrite = false
                generation += 1
                inFlightBytes = 0
                if writersWaiting > 0 { lock.broadcast() }
                resumeSpaceWaitersLocked()
            }
            pingTask?.cancel()
            pingTask = nil
            let error = NATSError(.connectionClosed, "disconnected before PONG")
            while let waiter = pongWaiters.popFirst() { waiter?.promise.fail(error) }
            logger.warning("disconnected", metadata: ["reason": "\(reason)"])
            emit(.disconnected(reason: reason))
            perform(next, after: nil, address: nil)
        }
    }

    /// Backoff before attempt n with the options' settings (see ``NATSConnectionStateMachine/reconnectDelay(attempt:initial:maximum:jitter:random:)``).
    func reconnectDelay(attempt: Int, random: Double = Double.random(in: 0..<1)) -> TimeAmount {
        NATSConnectionStateMachine.reconnectDelay(
            attempt: attempt, initial: options.reconnectWaitInitial, maximum: options.reconnectWaitMax,
            jitter: options.reconnectJitter, random: random
        )
    }

    // MARK: close and drain

    /// Closes the socket and ends everything: subscriptions finish after their queued messages,
    /// requests and flushes fail, events end. Safe to call more than once.
    public func close() async {
        try? await eventLoop.submit { self.closeNow(error: nil) }.get()
    }

    func closeNow(error: NATSError?) {
        guard machine.closeRequested() else { return }
        teardown(error: error)
    }

    /// The machine closed on a fatal `-ERR`: end the client with that error.
    func teardownAfterFatalError(_ error: NATSError) {
        teardown(error: error)
    }

    /// Ends the client once the machine is closed: sends what was accepted, finishes
    /// subscriptions, fails waiters and requests, ends the events.
    private func teardown(error: NATSError?) {
        let channel = self.channel
        self.channel = nil
        reconnectTask?.cancel()
        pingTask?.cancel()
        // A socket still in its handshake is left to its timer, which closes it.
        let closing = error ?? NATSError(.connectionClosed, "connection closed")
        let subscriptionsToFinish: [NATSSubscription] = lock.withLock {
            canWrite = false
            if closedError == nil { closedError = closing }
            if writersWaiting > 0 { lock.broadcast() }
            resumeSpaceWaitersLocked()
            let all = Array(subscriptions.values)
            subscriptions.removeAll()
            return all
        }
        deliveryCache.removeAll()
        if let channel {
            // What `publish` accepted before `close()` still goes out, then the socket closes.
            let remaining: ByteBuffer = lock.withLock {
                var taken = ByteBuffer()
                swap(&taken, &outbound)
                return taken
            }
            if remaining.readableBytes > 0 {
                channel.writeAndFlush(remaining).whenComplete { _ in channel.close(promise: nil) }
            } else {
                channel.close(promise: nil)
            }
        }
        for subscription in subscriptionsToFinish { subscription.finish(error: error) }
        while let waiter = pongWaiters.popFirst() { waiter?.promise.fail(closing) }
        for waiter in flushesAwaitingConnection { waiter.promise.fail(closing) }
        flushesAwaitingConnection = []
        failAllRequests(closing)
        initialConnect?.fail(closing)
        initialConnect = nil
        emit(.closed(reason: error?.message))
        eventContinuation.finish()
    }

    /// Graceful shutdown: unsubscribe everything, deliver what the server already sent, stop accepting
    /// publishes, send what is buffered, then close.
    public func drain(timeout: TimeAmount = .seconds(10)) async throws {
        try? await eventLoop.submit { self.machine.drainStarted() }.get()
        let draining: [NATSSubscription] = lock.withLock { Array(subscriptions.values) }
        let kick = lock.withLock {
            var kick = false
            for subscription in draining {
                kick = appendControlLocked { $0.writeNATSUnsubscribe(sid: subscription.sid, max: nil) } || kick
            }
            return kick
        }
        if kick { scheduleFlush() }
        var failure: (any Error)?
        do {
            try await flush(timeout: timeout)
        } catch {
            failure = error
        }
        lock.withLock {
            for subscription in draining { subscriptions[subscription.sid] = nil }
            if closedError == nil { closedError = NATSError(.connectionClosed, "connection drained") }
        }
        for subscription in draining { subscription.finish() }
        if failure == nil {
            do {
                try await flush(timeout: timeout)
            } catch {
                failure = error
            }
        }
        await close()
        if let failure { throw failure }
    }

    // MARK: handshake helpers (called by the channel handler)

    /// CONNECT's JSON for this server: credentials chosen by the options, nonce signed when asked.
    func connectCommand(info: NATSServerInfo, address: NATSServerAddress, tls: Bool) throws -> String {
        var connect = NATSConnectOptions(tlsRequired: tls, name: options.name, echo: options.echo)
        if let user = address.user {
            connect.user = user
            connect.pass = address.password
        }
        switch options.authentication {
        case .none:
            break
        case .userPassword(let user, let password):
            connect.user = user
            connect.pass = password
        case .token(let token):
            connect.authToken = token
        case .nkeySeed(let seed):
            try sign(nonce: info.nonce, with: try Self.keyPair(seed: seed), into: &connect)
        case .nkeySeedFile(let path):
            try sign(nonce: info.nonce, with: try Self.keyPair(seed: try Self.readSeedFile(path)), into: &connect)
        case .credentialsFile(let path):
            let credentials: NATSCredentials
            do {
                credentials = try NATSCredentials(contentsOfFile: path)
            } catch {
                throw NATSError(.invalidConfiguration, "credentials file '\(path)': \(error)")
            }
            connect.jwt = credentials.jwt
            try sign(nonce: info.nonce, with: credentials.keyPair, into: &connect)
        }
        return connect.json()
    }

    private static func keyPair(seed: String) throws -> NKeyPair {
        do {
            return try NKeyPair(seed: seed)
        } catch {
            throw NATSError(.invalidConfiguration, "invalid NKey seed: \(error.code)")
        }
    }

    private func sign(nonce: String?, with pair: NKeyPair, into connect: inout NATSConnectOptions) throws {
        if connect.jwt == nil { connect.nkey = pair.publicKey }
        guard let nonce else { return }
        do {
            connect.sig = Base64URL.encode(try pair.sign(Array(nonce.utf8)))
        } catch {
            throw NATSError(.invalidConfiguration, "cannot sign the server nonce: \(error.code)")
        }
    }

    /// The first line of a seed file that looks like a seed (`S…`), so comment lines are allowed.
    static func readSeedFile(_ path: String) throws -> String {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw NATSError(.invalidConfiguration, "cannot read NKey seed file '\(path)'")
        }
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingSpaces()
            if trimmed.hasPrefix("S"), trimmed.count > 50 { return trimmed }
        }
        throw NATSError(.invalidConfiguration, "no NKey seed in '\(path)'")
    }

    func makeSSLContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        let tls = options.tls ?? NATSTLSOptions(required: false)
        do {
            if let ca = tls.caFile {
                configuration.trustRoots = .file(ca)
            }
            if let certificate = tls.certificateFile {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            }
            if let key = tls.keyFile {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw NATSError(.tlsError, "cannot set up TLS: \(error)")
        }
    }
}
