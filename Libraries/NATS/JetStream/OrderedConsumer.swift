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
public final class JetStreamOrderedConsumer: AsyncSequence, SingleConsumerQueueOwner, @unchecked Sendable {
    public typealias Element = JetStreamMessage

    /// Deliveries and flow-control points travel in one queue, so flow control is answered only
    /// once the reader has consumed everything before it: the server never runs ahead of the reader.
    enum Item: Sendable {
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
    /// Items waiting for the reader (one at a time, like a subscription, and with the same queue).
    private var queue = SingleConsumerQueue<Item>()

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

    /// Iterators may follow one another (read 100, then go on reading); only one reads at a time,
    /// and what one had taken but not yielded when it stopped goes to the next.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(consumer: self)
    }

    /// Yields messages in stream order; answers flow control as the reader passes it.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: JetStreamOrderedConsumer
        private let batch: ConsumerBatch<JetStreamOrderedConsumer>

        init(consumer: JetStreamOrderedConsumer) {
            self.consumer = consumer
            self.batch = ConsumerBatch(owner: consumer)
        }

        public mutating func next() async throws -> JetStreamMessage? {
            while true {
                guard let item = batch.popFirst() else {
                    try await batch.refill()
                    if batch.isEmpty { return nil }
                    continue
                }
                switch item {
                case .message(let message):
                    return message
                case .flowControl(let reply):
                    try? consumer.jetStream.client.publish(reply, payload: ByteBuffer())
                }
            }
        }
    }

    // MARK: the reader's queue

    func withQueueLocked<R>(_ body: (inout SingleConsumerQueue<Item>) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&queue)
    }

    static func queueWeight(of element: Item) -> Int { 0 }

    private func enqueue(_ item: Item) {
        lock.withLock { queue.isFinished ? nil : queue.append(item, weight: 0) }?.resume()
    }

    /// Ends the sequence once the reader has taken what is queued; `error` is thrown after that.
    private func finish(_ error: (any Error)?) {
        let resumption: SingleConsumerQueue<Item>.Resumption? = lock.withLock {
            stopped = true
            timer?.cancel()
            return queue.finish(error: error, discard: false)
        }
        resumption?.resume()
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
