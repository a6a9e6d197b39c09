import ArgumentParser
import Foundation
import Logging
import PolygonSim
import ServiceLifecycle

/// `xy sim …`: local stand-ins for outside services, for development and tests.
struct Sim: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulators of outside services.",
        subcommands: [Polygon.self]
    )

    /// `xy sim polygon`: the vendor's WebSocket at /stocks and its REST paths, from a seeded market.
    struct Polygon: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Simulate the Polygon/Massive stocks feed: WebSocket at /stocks plus the REST aggregates and snapshot paths.",
            discussion: """
            Prints `listening HOST:PORT` once the socket is bound (use --listen 127.0.0.1:0 for a free port). Stops on SIGINT/SIGTERM.

            The market holds about 430 real US tickers with reference prices approximating mid-2025 and a relative activity each; any other ticker shaped like a US one (1 to 5 capitals, optionally .A or .B) trades as a walk seeded by its name. It trades only what clients subscribe to: a `*` wildcard means the --symbols list, a named ticker just that one.

            The same --seed always gives a symbol the same events (prices, sizes, sequence numbers) whatever else trades; only timestamps follow the wall clock.
            """
        )

        @Option(help: "Address to listen on, HOST:PORT (port 0 picks a free one).")
        var listen: String = "127.0.0.1:9100"

        @Option(name: .customLong("api-key"), help: "The API key `auth` accepts.")
        var apiKey: String = "sim-key"

        @Option(help: "What a `*` subscription trades: comma-separated tickers, or a count N meaning the N most active names of the universe (past its end, generated S0001, S0002, …).")
        var symbols: String = "10"

        @Option(help: "Events per second over the --symbols list when all of it trades; each symbol gets a share by activity (busy names busier), and a ticker named outside the list trades at the same per-activity rate.")
        var rate: Double = 1000

        @Option(help: "Seed of the deterministic random walk.")
        var seed: UInt64 = 1

        @Option(name: .customLong("max-connections"), help: "Connections allowed at once; more get max_connections.")
        var maxConnections: Int = 1

        @Option(name: .customLong("auth-timeout"), help: "Time a client has to authenticate (e.g. 5s).")
        var authTimeout: DurationArgument = "5s"

        @Option(name: .customLong("drop-every"), help: "Fault: close every connection this long after it opened (e.g. 3s).")
        var dropEvery: DurationArgument?

        @Option(name: .customLong("stall-after"), help: "Fault: stop sending data this long after authentication, without closing.")
        var stallAfter: DurationArgument?

        @Flag(name: .customLong("reject-auth"), help: "Fault: answer every auth with auth_failed and close.")
        var rejectAuth = false

        @Option(name: .customLong("malformed-every"), help: "Fault: add a malformed event after every N events.")
        var malformedEvery: Int?

        @Option(name: .customLong("oversized-message"), help: "Fault: after each auth, send one text message of this many bytes in 64 KiB fragments.")
        var oversizedMessage: Int?

        @Option(name: .customLong("events-per-frame"), help: "Most events in one WebSocket frame.")
        var eventsPerFrame: Int = 1000

        func validate() throws {
            guard parseListen() != nil else { throw ValidationError("--listen must be HOST:PORT") }
            guard SimSymbols.parse(symbols) != nil else { throw ValidationError("--symbols must be a list of tickers or a count (1…100000)") }
            guard rate >= 0, rate.isFinite else { throw ValidationError("--rate must be a non-negative number") }
            guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
            if let malformedEvery, malformedEvery < 1 { throw ValidationError("--malformed-every must be at least 1") }
            if let oversizedMessage, oversizedMessage < 2 { throw ValidationError("--oversized-message must be at least 2 bytes") }
            guard eventsPerFrame >= 1 else { throw ValidationError("--events-per-frame must be at least 1") }
        }

        func run() async throws {
            guard let (host, port) = parseListen(), let list = SimSymbols.parse(symbols) else { return }
            var configuration = PolygonSimConfiguration()
            configuration.host = host
            configuration.port = port
            configuration.apiKey = apiKey
            configuration.symbols = list
            configuration.rate = rate
            configuration.seed = seed
            configuration.maxConnections = maxConnections
            configuration.authTimeout = authTimeout.duration
            configuration.dropEvery = dropEvery?.duration
            configuration.stallAfter = stallAfter?.duration
            configuration.rejectAuth = rejectAuth
            configuration.malformedEvery = malformedEvery
            configuration.oversizedMessageBytes = oversizedMessage
            configuration.maxEventsPerFrame = eventsPerFrame
            // Logs go to stderr so stdout carries only the `listening` line scripts wait for.
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = .notice
                return handler
            }
            let logger = Logger(label: "xy.sim.polygon")
            let server = PolygonSimServer(configuration: configuration, logger: logger) { bound in
                printLine("listening \(host):\(bound)")
            }
            let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
        }

        private func parseListen() -> (String, Int)? {
            guard let colon = listen.lastIndex(of: ":") else { return nil }
            let host = String(listen[..<colon])
            guard !host.isEmpty, let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else { return nil }
            return (host, port)
        }
    }
}
