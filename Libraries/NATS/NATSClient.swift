import Atomics
import DequeModule
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A connection to a NATS server (or cluster) that publishes without a task hop, delivers in batches,
/// and survives server restarts: the xy services' only way onto the bus.
///
/// Threading: the outbound buffer and the subscription table sit behind one short lock so `publish`
/// and `subscribe` work from any thread; everything about the socket (handshake, reconnects, PONGs,
/// delivery) runs on one event loop, in the `+Lifecycle` and `+Inbound` extensions.
public final class NATSClient: @unchecked Sendable {
    /// Reported in CONNECT.
    public static let version = "0.1.0"

    public let options: NATSClientOptions
    /// The loop that owns the socket; an actor on `eventLoop.executor` talks to the client without hops.
    public let eventLoop: any EventLoop
    var logger: Logger { options.logger }

    // MARK: state behind `lock` (any thread)
    //
    // Each `var` below is touched only with `lock` held (this section) or only on `eventLoop` (the
    // next), which already makes every access exclusive. Those that every publish or delivered
    // message touches are `@exclusivity(unchecked)`: Swift checks each access to a class's stored
    // property at run time otherwise, a runtime call of about 100 instructions (callgrind), two
    // per publish and one per delivery here, against about 1,000 for a whole 16-byte publish.

    let lock = ConditionMutex()
    /// Protocol bytes not yet handed to the socket; while disconnected, the reconnect buffer.
    @exclusivity(unchecked) var outbound: ByteBuffer
    /// A written buffer kept for reuse by the next flush.
    var spareBuffer: ByteBuffer?
    /// True once CONNECT was answered; publishes then schedule a flush.
    @exclusivity(unchecked) var canWrite = false
    @exclusivity(unchecked) var flushScheduled = false
    /// Bytes handed to the channel whose write has not completed.
    @exclusivity(unchecked) var inFlightBytes = 0
    /// Bumped at every (dis)connection so late write completions of an old socket are ignored.
    var generation = 0
    /// Set by `close()`/`drain()`: publishing and subscribing then fail with it.
    @exclusivity(unchecked) var closedError: NATSError?
    @exclusivity(unchecked) var maxPayload = 1024 * 1024
    var subscriptions: [UInt64: NATSSubscription] = [:]
    var nextSID: UInt64 = 1
    var writersWaiting = 0
    /// Tasks in ``publishWithBackpressure(_:payload:replyTo:headers:)`` waiting for the socket to catch up.
    var spaceWaiters: [UnsafeContinuation<Void, Never>] = []
    /// PINGs written into `outbound` but not yet handed to a socket: after a reconnect their PONGs
    /// come back first, so they get placeholder waiters.
    var pingsInOutbound = 0
    @exclusivity(unchecked) var outMessages = 0
    @exclusivity(unchecked) var outBytes = 0
    /// The last publish subject that passed `NATSSubjectValidation`, so a loop to one subject skips the check.
    @exclusivity(unchecked) var lastValidSubject: String?
    var lockedServerInfo: NATSServerInfo?

    // MARK: state on the event loop only

    /// Every lifecycle decision; the sockets and timers below only carry them out.
    var machine: NATSConnectionStateMachine
    /// The live socket, set when the machine says its handshake completed.
    var channel: (any Channel)?
    /// The first `connect`'s result, completed by the handshake or the machine giving up.
    var initialConnect: EventLoopPromise<Void>?
    var handshakeTimer: Scheduled<Void>?
    var pool: NATSServerPool
    var pongWaiters: Deque<PongWaiter?> = []
    var flushesAwaitingConnection: [PongWaiter] = []
    /// A lingering flush is already scheduled; an urgent flush in between must not start a second chain.
    var lingerScheduled = false
    var pingTask: RepeatedTask?
    var reconnectTask: Scheduled<Void>?
    /// Event-loop copy of the subscription table: sids are never reused, so a hit stays valid.
    @exclusivity(unchecked) var deliveryCache: [UInt64: NATSSubscription] = [:]
    /// Why the current socket is being closed, reported in the `disconnected` event.
    var lastConnectionError: String?
    /// Subjects whose publish refusal a `publishConfirmed` call is waiting to hear about.
    var publishWatches: [PublishWatch] = []

    // MARK: counters read from any thread

    let inMessages = ManagedAtomic<Int>(0)
    let inBytes = ManagedAtomic<Int>(0)
    let reconnects = ManagedAtomic<Int>(0)
    let droppedMessages = ManagedAtomic<Int>(0)

    let requests = NIOLockedValueBox(RequestMux())
    let eventStream: AsyncStream<NATSConnectionEvent>
    let eventContinuation: AsyncStream<NATSConnectionEvent>.Continuation

    /// One `publishConfirmed` call's subject, and the server's refusal once it arrives (event loop only).
    final class PublishWatch: @unchecked Sendable {
        let subject: String
        var refusal: NATSError?
        init(subject: String) { self.subject = subject }
    }

    /// Completes one `flush()` when its PONG arrives, whichever of PONG or timeout comes first.
    final class PongWaiter: Sendable {
        let promise: EventLoopPromise<Void>
        init(_ promise: EventLoopPromise<Void>) { self.promise = promise }
    }

    init(options: NATSClientOptions, eventLoop: any EventLoop) {
        self.options = options
        self.eventLoop = eventLoop
        self.outbound = ByteBufferAllocator().buffer(capacity: 64 * 1024)
        self.pool = NATSServerPool(options.servers, randomize: !options.noRandomize)
        self.machine = NATSConnectionStateMachine(configuration: .init(options))
        (self.eventStream, self.eventContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1024))
    }

    /// Connects to the first reachable server of the pool; throws when none accepts us.
    public static func connect(
        _ options: NATSClientOptions,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> NATSClient {
        let client = NATSClient(options: options, eventLoop: eventLoopGroup.next())
        try await client.eventLoop.flatSubmit { client.startInitialConnect() }.get()
        return client
    }

    /// Convenience for one URL (or a comma-separated list) with default options.
    public static func connect(url: String) async throws -> NATSClient {
        try await connect(NATSClientOptions(url: url))
    }

    // MARK: observation

    /// Connection events (connected, disconnected, reconnected, lame duck, slow consumer, server errors); one consumer.
    public var events: AsyncStream<NATSConnectionEvent> { eventStream }

    /// The latest INFO from the current server.
    public var serverInfo: NATSServerInfo? { lock.withLock { lockedServerInfo } }

    public var isConnected: Bool { lock.withLock { canWrite } }

    public var statistics: NATSStatistics {
        let (outMessages, outBytes) = lock.withLock { (self.outMessages, self.outBytes) }
        return NATSStatistics(
            inMessages: inMessages.load(ordering: .relaxed),
            inBytes: inBytes.load(ordering: .relaxed),
            outMessages: outMessages,
            outBytes: outBytes,
            reconnects: reconnects.load(ordering: .relaxed),
            droppedMessages: droppedMessages.load(ordering: .relaxed)
        )
    }

    /// A fresh unique subject under the configured inbox prefix.
    public func newInbox() -> String {
        "\(options.inboxPrefix).\(NUID.next())"
    }

    func emit(_ event: NATSConnectionEvent) {
        eventContinuation.yield(event)
    }
}

/// Counters since the client was created.
public struct NATSStatistics: Sendable, Hashable {
    public var inMessages: Int
    public var inBytes: Int
    public var outMessages: Int
    public var outBytes: Int
    public var reconnects: Int
    public var droppedMessages: Int
}

/// What happened to the connection, for logs, metrics and health.
public enum NATSConnectionEvent: Sendable, Hashable {
    case connected(server: String)
    case disconnected(reason: String)
    case reconnected(server: String)
    /// The server is shutting down gracefully; it will close the connection, and the client then
    /// reconnects, to another server of the pool first.
    case lameDuckMode(server: String)
    /// A subscription reached its pending limits and started dropping.
    case slowConsumer(sid: UInt64, subject: String)
    /// A non-fatal `-ERR` such as a permissions violation.
    case serverError(String)
    case closed(reason: String?)
}
