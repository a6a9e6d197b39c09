import DequeModule
import NIOConcurrencyHelpers
import NIOCore

/// What an ordered consumer reads: which subjects, from where, and how often the server must prove it is alive.
public struct OrderedConsumerConfiguration: Sendable {
    public var filterSubject: String?
    public var deliverPolicy: ConsumerConfiguration.DeliverPolicy = .all
    /// Deliver headers and sizes only (key listing).
    public var headersOnly = false
    /// The server's idle heartbeat; three missed ones and the consumer is recreated.
    public var heartbeat: TimeAmount = .seconds(5)

    public init(filterSubject: String? = nil, deliverPolicy: ConsumerConfiguration.DeliverPolicy = .all) {
        self.filterSubject = filterSubject
        self.deliverPolicy = deliverPolicy
    }
}

/// Reads a stream in order, every message exactly once, across gaps, server restarts and lost
/// consumers: an ephemeral push consumer with flow control and idle heartbeats, recreated from the
/// next stream sequence whenever `OrderedConsumerStateMachine` sees trouble. Replay and watching use it.
public final class JetStreamOrderedConsumer: AsyncSequence, @unchecked Sendable {
    public typealias Element = JetStreamMessage

    /// Deliveries and flow-control points travel in one queue, so flow control is answered only
    /// once the reader has consumed everything before it: the server never runs ahead of the reader.
    enum Item {
        case message(JetStreamMessage)
        case flowControl(String)
    }

    public let stream: String
    public let configuration: OrderedConsumerConfiguration
    /// Messages pending when the first server-side consumer was made (0: nothing to replay).
    public private(set) var initialPending: UInt64 = 0

    /// How many times the server-side consumer was recreated (gaps, missed heartbeats, restarts).
    public var resets: Int { lock.withLock { machine.generation - 1 } }

    private let jetStream: JetStream
    private let lock = NIOLock()
    private var machine = OrderedConsumerStateMachine()
    private var subscription: NATSSubscription?
    private var consumerName: String?
    private var timer: RepeatedTask?
    private var stopped = false
    /// Items waiting for the reader, and the reader waiting for items (one at a time, like a subscription).
    private var buffer: Deque<Item> = []
    private var waiter: UnsafeContinuation<Item?, any Error>?
    private var failure: (any Error)?

    init(jetStream: JetStream, stream: String, configuration: OrderedConsumerConfiguration) {
        self.jetStream = jetStream
        self.stream = stream
        self.configuration = configuration
    }

    deinit {
        timer?.cancel()
        try? subscription?.unsubscribe()
    }

    /// Makes the first server-side consumer (errors such as an unknown stream surface here) and starts the heartbeat watch.
    nonisolated(nonsending) func start() async throws {
        let generation = lock.withLock { machine.beginGeneration() }
        let info = try await createServerConsumer(generation: generation, startSequence: nil)
        let heartbeat = configuration.heartbeat
        lock.withLock {
            initialPending = info.pending
            machine.recreated()
            timer = jetStream.client.eventLoop.scheduleRepeatedTask(initialDelay: heartbeat, delay: heartbeat) { [weak self] _ in
                self?.tick()
            }
        }
    }

    /// Ends the sequence and removes the server-side consumer.
    public func stop() {
        let (subscription, name): (NATSSubscription?, String?) = lock.withLock {
            guard !stopped else { return (nil, nil) }
            stopped = true
            timer?.cancel()
            defer {
                self.subscription = nil
                consumerName = nil
            }
            return (self.subscription, consumerName)
        }
        try? subscription?.unsubscribe()
        finish(nil)
        if let name { deleteServerConsumer(name) }
    }

    /// Iterators may follow one another (read 100, then go on reading); only one reads at a time.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(consumer: self)
    }

    /// Yields messages in stream order; answers flow control as the reader passes it.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: JetStreamOrderedConsumer

        public mutating func next() async throws -> JetStreamMessage? {
            while let item = try await consumer.nextItem() {
                switch item {
                case .message(let message):
                    return message
                case .flowControl(let reply):
                    try? consumer.jetStream.client.publish(reply, payload: ByteBuffer())
                }
            }
            return nil
        }
    }

    // MARK: the reader's queue

    private func enqueue(_ item: Item) {
        lock.lock()
        if let waiter {
            self.waiter = nil
            lock.unlock()
            waiter.resume(returning: item)
        } else {
            buffer.append(item)
            lock.unlock()
        }
    }

    /// Ends the sequence once the reader has taken what is queued; `error` is thrown after that.
    private func finish(_ error: (any Error)?) {
        lock.lock()
        stopped = true
        timer?.cancel()
        if failure == nil { failure = error }
        let waiter = self.waiter
        self.waiter = nil
        let failure = buffer.isEmpty ? self.failure : nil
        if waiter != nil { self.failure = nil }
        lock.unlock()
        if let waiter {
            if let failure { waiter.resume(throwing: failure) } else { waiter.resume(returning: nil) }
        }
    }

    private func nextItem() async throws -> Item? {
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                lock.lock()
                if let item = buffer.popFirst() {
                    lock.unlock()
                    continuation.resume(returning: item)
                } else if stopped || Task.isCancelled {
                    let failure = self.failure
                    self.failure = nil
                    lock.unlock()
                    if let failure { continuation.resume(throwing: failure) } else { continuation.resume(returning: nil) }
                } else {
                    precondition(waiter == nil, "a JetStreamOrderedConsumer supports one reader at a time")
                    waiter = continuation
                    lock.unlock()
                }
            }
        } onCancel: {
            lock.lock()
            let waiter = self.waiter
            self.waiter = nil
            lock.unlock()
            waiter?.resume(returning: nil)
        }
    }

    // MARK: event-loop side

    private func handle(_ message: NATSMessage, generation: Int) {
        let action: OrderedConsumerStateMachine.Action
        var delivered: JetStreamMessage?
        switch message.status {
        case 100?:
            let headers = message.headers
            action = lock.withLock {
                machine.control(
                    generation: generation, reply: message.replyTo,
                    lastConsumerSequence: headers?[JetStreamHeader.lastConsumer].flatMap(UInt64.init),
                    stalled: headers?[JetStreamHeader.consumerStalled]
                )
            }
        case .some:
            action = lock.withLock { machine.consumerLost(generation: generation) }
        case nil:
            guard let message = JetStreamMessage(message, client: jetStream.client) else { return }
            delivered = message
            action = lock.withLock {
                machine.delivered(
                    generation: generation, consumerSequence: message.metadata.consumerSequence,
                    streamSequence: message.metadata.streamSequence
                )
            }
        }
        perform(action, delivered)
    }

    private func tick() {
        let action = lock.withLock { stopped ? .ignore : machine.tick() }
        perform(action, nil)
    }

    private func perform(_ action: OrderedConsumerStateMachine.Action, _ message: JetStreamMessage?) {
        switch action {
        case .deliver:
            if let message { enqueue(.message(message)) }
        case .ignore:
            break
        case .flowControl(let reply):
            enqueue(.flowControl(reply))
        case .resumeStalled(let subject):
            try? jetStream.client.publish(subject, payload: ByteBuffer())
        case .recreate(let sequence):
            Task { await self.recreate(fromStreamSequence: sequence) }
        }
    }

    private func recreate(fromStreamSequence sequence: UInt64) async {
        let prepared: (Int, NATSSubscription?, String?)? = lock.withLock {
            guard !stopped else { return nil }
            let old = (subscription, consumerName)
            subscription = nil
            consumerName = nil
            return (machine.beginGeneration(), old.0, old.1)
        }
        guard let (generation, oldSubscription, oldName) = prepared else { return }
        try? oldSubscription?.unsubscribe()
        if let oldName { deleteServerConsumer(oldName) }
        do {
            // Nothing delivered yet: start where the caller asked; otherwise right after the last delivery.
            _ = try await createServerConsumer(generation: generation, startSequence: sequence > 1 ? sequence : nil)
            lock.withLock { machine.recreated() }
        } catch let error as NATSError where error.code == .connectionClosed {
            finish(JetStreamError(.closed, "connection closed: \(error.message)"))
        } catch {
            lock.withLock { machine.recreationFailed() }
        }
    }

    nonisolated(nonsending) private func createServerConsumer(generation: Int, startSequence: UInt64?) async throws -> ConsumerInfo {
        let client = jetStream.client
        let inbox = client.newInbox()
        let subscription = try client.subscribe(inbox) { [weak self] message in
            self?.handle(message, generation: generation)
        }
        var config = ConsumerConfiguration()
        config.deliverSubject = inbox
        config.deliverPolicy = startSequence.map { .byStartSequence($0) } ?? configuration.deliverPolicy
        config.ackPolicy = .none
        config.maxDeliver = 1
        config.flowControl = true
        config.idleHeartbeat = configuration.heartbeat
        config.filterSubject = configuration.filterSubject
        config.headersOnly = configuration.headersOnly
        config.memoryStorage = true
        config.replicas = 1
        config.inactiveThreshold = .minutes(2)
        do {
            let info = try await jetStream.createConsumer(stream: stream, config)
            let keep = lock.withLock { () -> Bool in
                guard !stopped else { return false }
                self.subscription = subscription
                consumerName = info.name
                return true
            }
            if !keep {
                try? subscription.unsubscribe()
                deleteServerConsumer(info.name)
            }
            return info
        } catch {
            try? subscription.unsubscribe()
            throw error
        }
    }

    private func deleteServerConsumer(_ name: String) {
        let jetStream = jetStream
        let stream = stream
        Task { try? await jetStream.deleteConsumer(stream: stream, name: name) }
    }
}

extension JetStream {
    /// Starts an ordered consumer on `stream`; fails at once if the stream does not exist.
    nonisolated(nonsending) public func orderedConsumer(
        stream: String, _ configuration: OrderedConsumerConfiguration = OrderedConsumerConfiguration()
    ) async throws -> JetStreamOrderedConsumer {
        try JetStreamNames.validate(stream, what: "stream")
        let consumer = JetStreamOrderedConsumer(jetStream: self, stream: stream, configuration: configuration)
        try await consumer.start()
        return consumer
    }
}
