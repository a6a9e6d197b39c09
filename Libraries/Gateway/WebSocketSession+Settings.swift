extension WebSocketSession {
    /// The limits and timers every connection of one gateway shares: one instance per server,
    /// referenced by each connection (a copy of the configuration in each would cost hundreds of
    /// bytes per idle connection).
    final class Settings: Sendable {
        let defaultMaxSubscriptions: Int
        let maxStrikes: Int
        let queueMaxMessages: Int
        let queueMaxBytes: Int
        let backpressure: GatewayConfiguration.BackpressurePolicy
        /// Closing an idle connection (no subscription, nothing read) after this long.
        let idleTimeout: Duration
        /// Replies queued behind a full socket before the connection stops reading requests.
        let controlPauseAt: Int
        /// Replies queued (reading already paused) at which the connection is closed instead.
        let controlCloseAt: Int
        /// Heartbeat pings left unanswered before the connection is closed.
        let missedPongsAllowed: Int
        let pingInterval: Duration
        let slowConsumerTimeout: Duration
        let closeTimeout: Duration
        let maxInboundMessageBytes: Int

        convenience init(_ configuration: GatewayConfiguration) {
            self.init(
                defaultMaxSubscriptions: configuration.maxSubscriptions, queueMaxMessages: configuration.queueMaxMessages,
                queueMaxBytes: configuration.queueMaxBytes, backpressure: configuration.backpressure,
                idleTimeout: configuration.idleTimeout, pingInterval: configuration.pingInterval,
                slowConsumerTimeout: configuration.slowConsumerTimeout, closeTimeout: configuration.closeTimeout,
                maxInboundMessageBytes: configuration.maxInboundMessageBytes)
        }

        init(
            defaultMaxSubscriptions: Int = 64, maxStrikes: Int = 20, queueMaxMessages: Int, queueMaxBytes: Int,
            backpressure: GatewayConfiguration.BackpressurePolicy, idleTimeout: Duration, controlPauseAt: Int = 64,
            controlCloseAt: Int = 256, missedPongsAllowed: Int = 2, pingInterval: Duration = .seconds(15),
            slowConsumerTimeout: Duration = .seconds(5), closeTimeout: Duration = .seconds(5), maxInboundMessageBytes: Int = 1 << 20
        ) {
            self.defaultMaxSubscriptions = defaultMaxSubscriptions
            self.maxStrikes = maxStrikes
            self.queueMaxMessages = queueMaxMessages
            self.queueMaxBytes = queueMaxBytes
            self.backpressure = backpressure
            self.idleTimeout = idleTimeout
            self.controlPauseAt = controlPauseAt
            self.controlCloseAt = controlCloseAt
            self.missedPongsAllowed = missedPongsAllowed
            self.pingInterval = pingInterval
            self.slowConsumerTimeout = slowConsumerTimeout
            self.closeTimeout = closeTimeout
            self.maxInboundMessageBytes = maxInboundMessageBytes
        }
    }
}
