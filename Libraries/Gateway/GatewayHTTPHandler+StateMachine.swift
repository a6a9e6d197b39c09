import NIOCore

extension GatewayHTTPHandler {
    /// Why a connection that never upgraded was closed by its deadline (the `reason` label of
    /// `xy_ws_http_timeouts_total`).
    enum TimeoutReason: String, Sendable {
        /// Nothing, or not a whole request, arrived in time; or it was not answered in time.
        case request
        /// A kept-alive connection started no new request in time.
        case idle
    }

    /// The deadlines of a connection before its upgrade, as a pure machine: a connection must
    /// send a whole request and be answered within the request timeout (from its opening, or
    /// from the head of a later request), and between requests it may stay idle for the
    /// keep-alive timeout. Without them a socket that sends half a request line, or nothing,
    /// held a file descriptor for ever. The handler arms one timer per ``Action/arm(_:reason:generation:)``;
    /// a timer whose generation is not the current one is stale and ignored.
    struct DeadlineStateMachine {
        enum State: Equatable {
            /// Not active yet.
            case new
            /// Waiting for (the rest of) a request, or for our answer to it.
            case request
            /// Answered; waiting for the next request on a kept-alive connection.
            case idle
            /// Closed or upgraded: no deadline applies any more.
            case done
        }

        enum Action: Equatable {
            /// Nothing to do.
            case none
            /// Cancel any timer and arm one that fires after the timeout with this generation.
            case arm(TimeAmount, reason: TimeoutReason, generation: UInt64)
            /// Cancel any timer.
            case cancel
            /// The deadline passed: count, log and close.
            case close(TimeoutReason)
        }

        let requestTimeout: TimeAmount
        let keepAliveTimeout: TimeAmount
        private(set) var state: State = .new
        private var generation: UInt64 = 0

        init(requestTimeout: TimeAmount, keepAliveTimeout: TimeAmount) {
            self.requestTimeout = requestTimeout
            self.keepAliveTimeout = keepAliveTimeout
        }

        /// The channel became active (or was already when the handler was added).
        mutating func connectionOpened() -> Action {
            switch state {
            case .new:
                state = .request
                return arm(requestTimeout, .request)
            case .request, .idle, .done:
                return .none
            }
        }

        /// A request head arrived: after an idle keep-alive it starts a fresh request deadline;
        /// on a new connection the deadline that began at the opening goes on.
        mutating func requestHeadReceived() -> Action {
            switch state {
            case .idle:
                state = .request
                return arm(requestTimeout, .request)
            case .new:
                state = .request
                return arm(requestTimeout, .request)
            case .request, .done:
                return .none
            }
        }

        /// The last part of a response was written: the connection is idle until its next request
        /// (also when it is about to close, which bounds a client that never reads the answer).
        mutating func responseEnded() -> Action {
            switch state {
            case .request, .idle, .new:
                state = .idle
                return arm(keepAliveTimeout, .idle)
            case .done:
                return .none
            }
        }

        /// A timer fired.
        mutating func timerFired(generation fired: UInt64) -> Action {
            guard fired == generation else { return .none }
            switch state {
            case .request:
                state = .done
                return .close(.request)
            case .idle:
                state = .done
                return .close(.idle)
            case .new, .done:
                return .none
            }
        }

        /// The connection closed, or upgraded and left HTTP behind.
        mutating func finished() -> Action {
            switch state {
            case .new, .request, .idle:
                state = .done
                generation &+= 1
                return .cancel
            case .done:
                return .none
            }
        }

        private mutating func arm(_ timeout: TimeAmount, _ reason: TimeoutReason) -> Action {
            generation &+= 1
            return .arm(timeout, reason: reason, generation: generation)
        }
    }
}
