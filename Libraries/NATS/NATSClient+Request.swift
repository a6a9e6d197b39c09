import HeapModule
import NIOConcurrencyHelpers
import NIOCore

/// Request/reply through one wildcard inbox subscription (`<prefix>.<nuid>.*`) shared by every request.
///
/// Timeouts share one timer: deadlines go into a heap and a single scheduled task fires for the
/// earliest. A scheduled task per request (created, then cancelled by the reply) cost a linear
/// search of the event loop's timer queue per reply: with 256 acks in flight it dominated
/// `xy bench js-pub`. Answered requests leave their heap entry behind; it is dropped when due.
struct RequestMux {
    struct Pending {
        var promise: EventLoopPromise<NATSMessage>
        var subject: String
        var deadline: NIODeadline
        var timeout: TimeAmount
    }

    struct Deadline: Comparable {
        var deadline: NIODeadline
        var id: UInt64

        static func < (lhs: Deadline, rhs: Deadline) -> Bool {
            (lhs.deadline, lhs.id) < (rhs.deadline, rhs.id)
        }
    }

    var inbox: String?
    var nextID: UInt64 = 0
    var pending: [UInt64: Pending] = [:]
    var deadlines = Heap<Deadline>()
    /// The one timer, set for `timerDeadline`.
    var timer: Scheduled<Void>?
    var timerDeadline: NIODeadline?

    /// Removes and returns the requests whose deadline has passed.
    mutating func expire(now: NIODeadline) -> [Pending] {
        var expired: [Pending] = []
        while let first = deadlines.min, first.deadline <= now {
            _ = deadlines.removeMin()
            if let entry = pending[first.id], entry.deadline == first.deadline {
                pending.removeValue(forKey: first.id)
                expired.append(entry)
            }
        }
        // Nothing pending: forget the answered requests' entries at once.
        if pending.isEmpty { deadlines = Heap() }
        return expired
    }
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
    ) throws -> (EventLoopFuture<NATSMessage>, UInt64) {
        let inbox = try ensureRequestInbox()
        let promise = eventLoop.makePromise(of: NATSMessage.self)
        let deadline = NIODeadline.now() + timeout
        let id: UInt64 = requests.withLockedValue { mux in
            mux.nextID += 1
            let id = mux.nextID
            mux.pending[id] = RequestMux.Pending(promise: promise, subject: subject, deadline: deadline, timeout: timeout)
            mux.deadlines.insert(RequestMux.Deadline(deadline: deadline, id: id))
            if mux.timerDeadline.map({ deadline < $0 }) ?? true {
                armTimerLocked(&mux, at: deadline)
            }
            return id
        }
        do {
            try publish(subject, payload: payload, replyTo: "\(inbox).\(NUID.token(id))", headers: headers, urgent: true)
        } catch {
            _ = requests.withLockedValue { $0.pending.removeValue(forKey: id) }
            promise.fail(error)
            throw error
        }
        return (promise.futureResult, id)
    }

    /// Points the one timeout timer at `deadline`; the mux lock is held.
    private func armTimerLocked(_ mux: inout RequestMux, at deadline: NIODeadline) {
        mux.timer?.cancel()
        mux.timerDeadline = deadline
        mux.timer = eventLoop.scheduleTask(deadline: deadline) { [weak self] in self?.requestTimerFired() }
    }

    private func requestTimerFired() {
        let expired: [RequestMux.Pending] = requests.withLockedValue { mux in
            mux.timer = nil
            mux.timerDeadline = nil
            let expired = mux.expire(now: .now())
            if let next = mux.deadlines.min { armTimerLocked(&mux, at: next.deadline) }
            return expired
        }
        for entry in expired {
            entry.promise.fail(NATSError(.timeout, "no reply on '\(entry.subject)' within \(entry.timeout.prettyDescription)"))
        }
    }

    /// Fails one pending request (task cancellation).
    func cancelRequest(_ id: UInt64, _ error: any Error) {
        if let entry = requests.withLockedValue({ $0.pending.removeValue(forKey: id) }) {
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
        let utf8 = message.subject.utf8
        guard let dot = utf8.lastIndex(of: UInt8(ascii: ".")),
              let id = NUID.number(fromToken: utf8[utf8.index(after: dot)...]),
              let entry = requests.withLockedValue({ mux -> RequestMux.Pending? in
                  let entry = mux.pending.removeValue(forKey: id)
                  if mux.pending.isEmpty, !mux.deadlines.isEmpty {
                      // Idle again: the heap holds only answered requests.
                      mux.deadlines = Heap()
                      mux.timer?.cancel()
                      mux.timer = nil
                      mux.timerDeadline = nil
                  }
                  return entry
              })
        else { return }
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
            entry.promise.fail(error)
        }
    }

    func failAllRequests(_ error: NATSError) {
        let all: [RequestMux.Pending] = requests.withLockedValue { mux in
            defer {
                mux.pending.removeAll()
                mux.deadlines = Heap()
                mux.timer?.cancel()
                mux.timer = nil
                mux.timerDeadline = nil
            }
            return Array(mux.pending.values)
        }
        for entry in all {
            entry.promise.fail(error)
        }
    }
}
