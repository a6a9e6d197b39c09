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

    func receivedPong() {
        pingsOutstanding = 0
        if let waiter = pongWaiters.popFirst() {
            waiter?.promise.succeed(())
        }
    }

    /// An INFO while connected: cluster changes and lame duck mode.
    func receivedInfo(_ info: NATSServerInfo, from address: NATSServerAddress) {
        if let urls = info.connectURLs { pool.addDiscovered(urls, template: address) }
        lock.withLock {
            maxPayload = info.maxPayload
            lockedServerInfo = info
        }
        if info.lameDuckMode == true {
            pool.markLameDuck(address)
            logger.info("server entered lame duck mode", metadata: ["server": "\(address)"])
            emit(.lameDuckMode(server: address.description))
        }
    }

    /// `-ERR`: permission violations stay on the subscription or request they concern; a stale
    /// connection reconnects; anything else is fatal, as in the official clients.
    func receivedServerError(_ text: String) {
        let lower = text.lowercased()
        if lower.hasPrefix("permissions violation") {
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
            return
        }
        if lower.hasPrefix("stale connection") || lower.contains("authentication expired")
            || lower.contains("maximum connections") || lower.contains("slow consumer") {
            // The server closes the socket after these; a new connection (with a re-read creds
            // file) is the remedy, as in nats.go.
            noteConnectionError(NATSError(.serverError, text))
            emit(.serverError(text))
            if case .connected(let channel) = connection { channel.close(promise: nil) }
            return
        }
        if lower.contains("authorization violation") {
            logger.error("server refused the credentials; closing", metadata: ["error": "\(text)"])
            emit(.serverError(text))
            closeNow(error: Self.errorForServerText(text))
            return
        }
        // Anything else (e.g. "maximum subscriptions exceeded") is reported; if the server also
        // closes the socket, the usual reconnect follows.
        logger.warning("server error", metadata: ["error": "\(text)"])
        noteConnectionError(NATSError(.serverError, text))
        emit(.serverError(text))
    }

    /// Maps `-ERR` text to an error code (authorization failures get their own).
    static func errorForServerText(_ text: String) -> NATSError {
        let lower = text.lowercased()
        if lower.contains("authorization violation") || lower.contains("authentication") || lower.contains("user authentication") {
            return NATSError(.authorizationViolation, "server refused the credentials: \(text)")
        }
        if lower.hasPrefix("permissions violation") {
            return NATSError(.permissionsViolation, text)
        }
        return NATSError(.serverError, text)
    }

    /// The subject in the first pair of double quotes (`… to "a.b" using queue "q"`).
    static func quotedSubject(in text: String) -> String? {
        guard let first = text.firstIndex(of: "\"") else { return nil }
        let rest = text[text.index(after: first)...]
        guard let close = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<close])
    }
}
