/// The ordered consumer's rules as a value: it sees each delivery, heartbeat and timer tick, and says
/// what to do; the consumer object only does the I/O. A gap in the consumer sequence, a heartbeat that
/// reports deliveries we never saw, or silence longer than the heartbeat allows means the server-side
/// consumer lost messages or vanished (a restart): recreate it from the stream sequence after the
/// last delivered message, so nothing is lost or repeated.
struct OrderedConsumerStateMachine {
    enum Action: Equatable {
        case deliver
        case ignore
        /// Answer the server's flow-control request once the consumer reaches this point.
        case flowControl(reply: String)
        /// Tell a stalled server-side consumer to resume (heartbeat with `Nats-Consumer-Stalled`).
        case resumeStalled(subject: String)
        /// Drop the current server-side consumer and make a new one starting at this stream sequence.
        case recreate(fromStreamSequence: UInt64)
    }

    /// Each recreated server-side consumer is a new generation; deliveries of older ones are ignored.
    private(set) var generation = 0
    /// Consumer sequence of the last delivery of this generation.
    private(set) var consumerSequence: UInt64 = 0
    /// Stream sequence of the last delivered message (across generations).
    private(set) var streamSequence: UInt64 = 0
    /// Timer ticks (of one heartbeat interval) since anything arrived.
    private var silentTicks = 0
    /// Whether a (re)creation is under way (no second one until it finishes); true until the first one.
    private(set) var recreating = true
    /// Silent heartbeat intervals tolerated before the consumer counts as gone.
    let maxSilentTicks: Int

    init(maxSilentTicks: Int = 3) {
        self.maxSilentTicks = maxSilentTicks
    }

    /// A message of generation `generation` with the consumer and stream sequences of its ack subject.
    mutating func delivered(generation: Int, consumerSequence: UInt64, streamSequence: UInt64) -> Action {
        guard generation == self.generation else { return .ignore }
        silentTicks = 0
        guard consumerSequence == self.consumerSequence + 1 else {
            return recreating ? .ignore : startRecreation()
        }
        self.consumerSequence = consumerSequence
        self.streamSequence = streamSequence
        return .deliver
    }

    /// A status 100 message: flow-control request (`reply` set) or idle heartbeat.
    mutating func control(generation: Int, reply: String?, lastConsumerSequence: UInt64?, stalled: String?) -> Action {
        guard generation == self.generation, !recreating else { return .ignore }
        silentTicks = 0
        if let reply { return .flowControl(reply: reply) }
        if let lastConsumerSequence, lastConsumerSequence != consumerSequence { return startRecreation() }
        if let stalled { return .resumeStalled(subject: stalled) }
        return .ignore
    }

    /// A terminal status for the server-side consumer (409 consumer deleted, 404/408 on a push consumer).
    mutating func consumerLost(generation: Int) -> Action {
        guard generation == self.generation, !recreating else { return .ignore }
        return startRecreation()
    }

    /// One heartbeat interval passed.
    mutating func tick() -> Action {
        guard !recreating else { return .ignore }
        silentTicks += 1
        return silentTicks > maxSilentTicks ? startRecreation() : .ignore
    }

    /// A new server-side consumer is about to be made: from now on only its deliveries count, and
    /// they start at consumer sequence 1 (they may arrive before the create call returns).
    mutating func beginGeneration() -> Int {
        generation += 1
        consumerSequence = 0
        silentTicks = 0
        recreating = true
        return generation
    }

    /// The new server-side consumer exists.
    mutating func recreated() {
        recreating = false
        silentTicks = 0
    }

    /// Creating the replacement failed; the next tick tries again.
    mutating func recreationFailed() {
        recreating = false
        silentTicks = maxSilentTicks
    }

    private mutating func startRecreation() -> Action {
        recreating = true
        return .recreate(fromStreamSequence: streamSequence + 1)
    }
}
