import NIOCore

/// What the server sends once connected; every method runs on `eventLoop`.
extension NATSClient {
    /// Routes one MSG/HMSG to its subscription without taking the client lock on a cache hit.
    func deliver(_ message: NATSMessage) {
        let sid = message.sid
        let subscription: NATSSubscription
        if let cached = deliveryCache[sid] {
            subscription = cached
        } else {
            guard let found = lock.withLock({ subscriptions[sid] }) else { return }
            deliveryCache[sid] = found
            subscription = found
        }
        switch subscription.deliver(message) {
        case .delivered:
            break
        case .deliveredLast:
            deliveryCache[sid] = nil
            lock.withLock { subscriptions[sid] = nil }
            subscription.finish()
        case .dropped(let first, let last):
            droppedMessages.wrappingIncrement(ordering: .relaxed)
            if first {
                logger.warning("slow consumer: dropping messages", metadata: ["sid": "\(sid)", "subject": "\(subscription.subject)"])
                emit(.slowConsumer(sid: sid, subject: subscription.subject))
            }
            if last {
                deliveryCache[sid] = nil
                lock.withLock { subscriptions[sid] = nil }
                subscription.finish()
            }
        case .closed:
            deliveryCache[sid] = nil
        }
    }

    /// Counted once per socket read, not per message.
    func countInbound(messages: Int, bytes: Int) {
        inMessages.wrappingIncrement(by: messages, ordering: .relaxed)
        inBytes.wrappingIncrement(by: bytes, ordering: .relaxed)
    }

    /// A PONG on the live connection: the oldest flush (or keep-alive PING) is answered.
    func receivedPong() {
        if let waiter = pongWaiters.popFirst() {
            waiter?.promise.succeed(())
        }
    }

    /// An INFO while connected: cluster changes and, when the machine says it just began, lame duck mode.
    func receivedInfo(_ info: NATSServerInfo, from address: NATSServerAddress, lameDuckStarted: Bool) {
        if let urls = info.connectURLs { pool.addDiscovered(urls, template: address) }
        lock.withLock {
            maxPayload = info.maxPayload
            lockedServerInfo = info
        }
        if lameDuckStarted { enteredLameDuck(address) }
    }

    /// The server will close soon: try it last when reconnecting, and tell the application.
    func enteredLameDuck(_ address: NATSServerAddress) {
        pool.markLameDuck(address)
        logger.info("server entered lame duck mode", metadata: ["server": "\(address)"])
        emit(.lameDuckMode(server: address.description))
    }

    /// `-ERR` on the live connection, as the machine classified it: permission violations stay on
    /// the subscription or request they concern; a stale connection reconnects; a fatal one closes.
    func receivedServerError(_ text: String, _ response: NATSConnectionStateMachine.ServerErrorResponse) {
        switch response {
        case .report:
            let lower = text.lowercased()
            guard lower.hasPrefix("permissions violation") else {
                logger.warning("server error", metadata: ["error": "\(text)"])
                noteConnectionError(NATSError(.serverError, text))
                emit(.serverError(text))
                return
            }
            logger.warning("permissions violation", metadata: ["error": "\(text)"])
            emit(.serverError(text))
            let subject = Self.quotedSubject(in: text)
            if lower.contains("for subscription"), let subject {
                let denied: [NATSSubscription] = lock.withLock {
                    let matches = subscriptions.values.filter { $0.subject == subject }
                    for match in matches { subscriptions[match.sid] = nil }
                    return matches
                }
                for subscription in denied {
                    deliveryCache[subscription.sid] = nil
                    subscription.finish(error: NATSError(.permissionsViolation, text))
                }
            } else if lower.contains("for publish"), let subject {
                failRequests(toSubject: subject, NATSError(.permissionsViolation, text))
                for watch in publishWatches where watch.subject == subject && watch.refusal == nil {
                    watch.refusal = NATSError(.permissionsViolation, text)
                }
            }
        case .reconnect:
            // The server closes the socket after these; a new connection (with a re-read creds
            // file) is the remedy, as in nats.go.
            noteConnectionError(NATSError(.serverError, text))
            emit(.serverError(text))
            channel?.close(promise: nil)
        case .close(let error):
            logger.error("server refused the credentials; closing", metadata: ["error": "\(text)"])
            emit(.serverError(text))
            teardownAfterFatalError(error)
        }
    }

    /// The subject in the first pair of double quotes (`… to "a.b" using queue "q"`).
    static func quotedSubject(in text: String) -> String? {
        guard let first = text.firstIndex(of: "\"") else { return nil }
        let rest = text[text.index(after: first)...]
        guard let close = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<close])
    }
}
