import NIOConcurrencyHelpers
import NIOCore

/// Request/reply through one wildcard inbox subscription (`<prefix>.<nuid>.*`) shared by every request.
struct RequestMux {
    struct Pending {
        var promise: EventLoopPromise<NATSMessage>
        var subject: String
        var timeout: Scheduled<Void>?
    }

    var inbox: String?
    var nextID: UInt64 = 0
    var pending: [String: Pending] = [:]
}

extension NATSClient {
    /// Sends a request and waits for the first reply. A 503 status means nobody listens: `noResponders`.
    ///
    /// It runs on the caller's executor (`nonisolated(nonsending)`): called from an actor that runs on
    /// the client's event loop (`eventLoop.executor`), a request costs no thread hop at all.
    nonisolated(nonsending) public func request(
        _ subject: String,
        payload: ByteBuffer = ByteBuffer(),
        headers: NATSHeaders? = nil,
        timeout: TimeAmount = .seconds(5)
    ) async throws -> NATSMessage {
        let (future, token) = try startRequest(subject, payload: payload, headers: headers, timeout: timeout)
        return try await withTaskCancellationHandler {
            // Not `future.get()`: that would resume on the global executor, not the caller's.
            try await withUnsafeThrowingContinuation { continuation in
                future.whenComplete { continuation.resume(with: $0) }
            }
        } onCancel: {
            self.cancelRequest(token, CancellationError())
        }
    }

    /// The request as a future, for callers that keep many in flight without a task each
    /// (JetStream's windowed publish). Returns the token that `cancelRequest` takes.
    func startRequest(
        _ subject: String, payload: ByteBuffer, headers: NATSHeaders?, timeout: TimeAmount
    ) throws -> (EventLoopFuture<NATSMessage>, String) {
        let inbox = try ensureRequestInbox()
        let promise = eventLoop.makePromise(of: NATSMessage.self)
        let token: String = requests.withLockedValue { mux in
            mux.nextID += 1
            let token = NUID.token(mux.nextID)
            mux.pending[token] = RequestMux.Pending(promise: promise, subject: subject)
            return token
        }
        do {
            try publish(subject, payload: payload, replyTo: "\(inbox).\(token)", headers: headers, urgent: true)
        } catch {
            _ = requests.withLockedValue { $0.pending.removeValue(forKey: token) }
            promise.fail(error)
            throw error
        }
        let timer = eventLoop.scheduleTask(in: timeout) { [weak self] in
            guard let self, let entry = self.requests.withLockedValue({ $0.pending.removeValue(forKey: token) }) else { return }
            entry.promise.fail(NATSError(.timeout, "no reply on '\(subject)' within \(timeout.prettyDescription)"))
        }
        let answeredAlready = requests.withLockedValue { mux -> Bool in
            guard mux.pending[token] != nil else { return true }
            mux.pending[token]?.timeout = timer
            return false
        }
        if answeredAlready { timer.cancel() }
        return (promise.futureResult, token)
    }

    /// Fails one pending request (task cancellation).
    func cancelRequest(_ token: String, _ error: any Error) {
        if let entry = requests.withLockedValue({ $0.pending.removeValue(forKey: token) }) {
            entry.timeout?.cancel()
            entry.promise.fail(error)
        }
    }

    /// Sends UTF-8 text as a request.
    nonisolated(nonsending) public func request(_ subject: String, _ text: String, headers: NATSHeaders? = nil, timeout: TimeAmount = .seconds(5)) async throws -> NATSMessage {
        try await request(subject, payload: ByteBuffer(string: text), headers: headers, timeout: timeout)
    }

    /// Subscribes the shared inbox on first use. The SUB is queued under the mux lock, so no request
    /// can publish its reply subject before the subscription is on the wire ahead of it.
    private func ensureRequestInbox() throws -> String {
        try requests.withLockedValue { mux in
            if let inbox = mux.inbox { return inbox }
            let inbox = newInbox()
            try subscribe("\(inbox).*") { [weak self] message in self?.receivedReply(message) }
            mux.inbox = inbox
            return inbox
        }
    }

    private func receivedReply(_ message: NATSMessage) {
        guard let dot = message.subject.lastIndex(of: ".") else { return }
        let token = String(message.subject[message.subject.index(after: dot)...])
        guard let entry = requests.withLockedValue({ $0.pending.removeValue(forKey: token) }) else { return }
        entry.timeout?.cancel()
        if message.status == 503 {
            entry.promise.fail(NATSError(.noResponders, "no responders on '\(entry.subject)'"))
        } else {
            entry.promise.succeed(message)
        }
    }

    func failRequests(toSubject subject: String, _ error: NATSError) {
        let failed: [RequestMux.Pending] = requests.withLockedValue { mux in
            let tokens = mux.pending.filter { $0.value.subject == subject }.map(\.key)
            return tokens.compactMap { mux.pending.removeValue(forKey: $0) }
        }
        for entry in failed {
            entry.timeout?.cancel()
            entry.promise.fail(error)
        }
    }

    func failAllRequests(_ error: NATSError) {
        let all: [RequestMux.Pending] = requests.withLockedValue { mux in
            defer { mux.pending.removeAll() }
            return Array(mux.pending.values)
        }
        for entry in all {
            entry.timeout?.cancel()
            entry.promise.fail(error)
        }
    }
}
