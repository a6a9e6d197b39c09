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
        connection = .connecting
        let promise = eventLoop.makePromise(of: Void.self)
        connectInitial(remaining: pool.entries.count, lastError: nil, promise: promise)
        return promise.futureResult
    }

    private func connectInitial(remaining: Int, lastError: (any Error)?, promise: EventLoopPromise<Void>) {
        guard remaining > 0 else {
            connection = .closed
            lock.withLock { closedError = NATSError(.connectionClosed, "never connected") }
            eventContinuation.finish()
            if let error = lastError as? NATSError, error.code != .connectFailed, error.code != .timeout {
                promise.fail(error)
            } else {
                let reason = lastError.map { "\($0)" } ?? "no server"
                promise.fail(NATSError(.connectFailed, "could not connect to \(options.servers.map(\.description).joined(separator: ", ")): \(reason)"))
            }
            return
        }
        let address = pool.next()
        attemptConnect(to: address).whenComplete { result in
            switch result {
            case .success(let (channel, info)):
                self.didConnect(channel: channel, info: info, address: address, isReconnect: false)
                promise.succeed(())
            case .failure(let error):
                self.logger.debug("connect failed", metadata: ["server": "\(address)", "error": "\(error)"])
                // Refused credentials will be refused by every server: stop at once.
                let fatal = (error as? NATSError)?.code == .authorizationViolation
                self.connectInitial(remaining: fatal ? 0 : remaining - 1, lastError: error, promise: promise)
            }
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

    /// Opens a socket and runs the handshake; succeeds once the server answered our CONNECT's PING.
    func attemptConnect(to address: NATSServerAddress) -> EventLoopFuture<(any Channel, NATSServerInfo)> {
        let handshake = eventLoop.makePromise(of: NATSServerInfo.self)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(options.connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(.maxMessagesPerRead, value: readBurst.reads)
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: min(2048, readBurst.bytesPerRead), maximum: readBurst.bytesPerRead))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NATSChannelHandler(client: self, address: address, handshake: handshake)
                    )
                }
            }
        let connectTimeout = options.connectTimeout
        return bootstrap.connect(host: address.host, port: address.port).flatMap { channel in
            let timer = channel.eventLoop.scheduleTask(in: connectTimeout) {
                handshake.fail(NATSError(.timeout, "no handshake from \(address) within \(connectTimeout.prettyDescription)"))
                channel.close(promise: nil)
            }
            return handshake.futureResult.map { info in
                timer.cancel()
                return (channel, info)
            }.flatMapErrorThrowing { error in
                timer.cancel()
                channel.close(promise: nil)
                throw error
            }
        }.flatMapErrorThrowing { error in
            // The socket never opened: nobody else will complete the handshake promise.
            handshake.fail(error)
            if error is NATSError { throw error }
            throw NATSError(.connectFailed, "\(address): \(error)")
        }
    }

    // MARK: connected

    /// Installs a fresh socket: resubscribes everything, then sends what was buffered, then pending flushes.
    func didConnect(channel: any Channel, info: NATSServerInfo, address: NATSServerAddress, isReconnect: Bool) {
        if case .closed = connection {
            channel.close(promise: nil)
            return
        }
        connection = .connected(channel)
        reconnectAttempts = 0
        pingsOutstanding = 0
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
        }
        if info.lameDuckMode == true { receivedInfo(info, from: address) }
    }

    private func startPingTimer() {
        pingTask?.cancel()
        let interval = options.pingInterval
        pingTask = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in
            self?.sendKeepAlivePing()
        }
    }

    /// PING on a timer; too many without a PONG means the link is dead even if TCP has not noticed.
    private func sendKeepAlivePing() {
        guard case .connected(let channel) = connection else { return }
        if pingsOutstanding >= options.maxPingsOutstanding {
            logger.warning("stale connection: no PONG", metadata: ["outstanding": "\(pingsOutstanding)"])
            noteConnectionError(NATSError(.timeout, "stale connection: \(pingsOutstanding) PINGs without PONG"))
            channel.close(promise: nil)
            return
        }
        pingsOutstanding += 1
        let kick = lock.withLock { appendPingLocked() }
        pongWaiters.append(nil)
        if kick { flushOutbound() }
    }

    // MARK: loss and reconnect

    func noteConnectionError(_ error: any Error) {
        lastConnectionError = "\(error)"
    }

    /// The socket closed: keep what is buffered, fail what waited on this socket, and start reconnecting.
    func channelClosed(_ channel: any Channel) {
        guard case .connected(let current) = connection, current === channel else { return }
        lock.withLock {
            canWrite = false
            generation += 1
            inFlightBytes = 0
            if writersWaiting > 0 { lock.broadcast() }
        }
        pingTask?.cancel()
        pingTask = nil
        let error = NATSError(.connectionClosed, "disconnected before PONG")
        while let waiter = pongWaiters.popFirst() { waiter?.promise.fail(error) }
        let reason = lastConnectionError ?? "connection lost"
        lastConnectionError = nil
        logger.warning("disconnected", metadata: ["reason": "\(reason)"])
        emit(.disconnected(reason: reason))
        guard options.allowReconnect else {
            closeNow(error: NATSError(.connectionClosed, "disconnected: \(reason)"))
            return
        }
        connection = .reconnecting
        scheduleReconnect()
    }

    /// Backoff before attempt n: none for the first, then doubling from `reconnectWaitInitial`, capped, with jitter.
    func reconnectDelay(attempt: Int) -> TimeAmount {
        guard attempt > 1 else { return .zero }
        let base = Double(options.reconnectWaitInitial.nanoseconds) * pow(2.0, Double(min(attempt - 2, 30)))
        let capped = min(base, Double(options.reconnectWaitMax.nanoseconds))
        let jitter = options.reconnectJitter > 0 ? Double.random(in: -options.reconnectJitter...options.reconnectJitter) : 0
        return .nanoseconds(Int64(max(0, capped * (1 + jitter))))
    }

    private func scheduleReconnect() {
        guard case .reconnecting = connection else { return }
        reconnectAttempts += 1
        if options.maxReconnectAttempts >= 0, reconnectAttempts > options.maxReconnectAttempts {
            closeNow(error: NATSError(.connectFailed, "gave up after \(options.maxReconnectAttempts) reconnect attempts"))
            return
        }
        let address = pool.next()
        let delay = reconnectDelay(attempt: reconnectAttempts)
        reconnectTask = eventLoop.scheduleTask(in: delay) {
            guard case .reconnecting = self.connection else { return }
            self.attemptConnect(to: address).whenComplete { result in
                switch result {
                case .success(let (channel, info)):
                    self.didConnect(channel: channel, info: info, address: address, isReconnect: true)
                case .failure(let error):
                    self.logger.debug("reconnect attempt failed", metadata: ["server": "\(address)", "error": "\(error)"])
                    if let natsError = error as? NATSError, natsError.code == .authorizationViolation {
                        self.emit(.serverError(natsError.message))
                    }
                    self.scheduleReconnect()
                }
            }
        }
    }

    // MARK: close and drain

    /// Closes the socket and ends everything: subscriptions finish after their queued messages,
    /// requests and flushes fail, events end. Safe to call more than once.
    public func close() async {
        try? await eventLoop.submit { self.closeNow(error: nil) }.get()
    }

    func closeNow(error: NATSError?) {
        if case .closed = connection { return }
        let channel: (any Channel)?
        if case .connected(let c) = connection { channel = c } else { channel = nil }
        connection = .closed
        reconnectTask?.cancel()
        pingTask?.cancel()
        let closing = error ?? NATSError(.connectionClosed, "connection closed")
        let subscriptionsToFinish: [NATSSubscription] = lock.withLock {
            canWrite = false
            if closedError == nil { closedError = closing }
            if writersWaiting > 0 { lock.broadcast() }
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
        emit(.closed(reason: error?.message))
        eventContinuation.finish()
    }

    /// Graceful shutdown: unsubscribe everything, deliver what the server already sent, stop accepting
    /// publishes, send what is buffered, then close.
    public func drain(timeout: TimeAmount = .seconds(10)) async throws {
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
