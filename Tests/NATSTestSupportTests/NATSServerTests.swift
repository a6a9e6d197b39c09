import Foundation
import Testing

@testable import NATSTestSupport

/// Lifecycle of the harness: start, stop, restart, release, failures.
@Suite struct NATSServerTests {
    @Test func startsOnAFreeLoopbackPortAndStops() async throws {
        let server = try await NATSServer.start()
        let port = server.port
        #expect(port > 0)
        #expect(server.url == "nats://127.0.0.1:\(port)")
        #expect(server.monitorPort > 0 && server.monitorPort != port)
        #expect(server.websocketPort == nil)
        #expect(FileManager.default.fileExists(atPath: server.configFile))
        #expect(server.isRunning)

        let connection = try LoopbackConnection(port: port)
        let info = try connection.readInfo()
        #expect(info["port"]?.int == port)
        #expect(info["server_id"]?.string?.hasPrefix("N") == true)
        #expect(info["auth_required"]?.bool != true)
        #expect(info["tls_required"]?.bool != true)
        #expect(try connection.connect() == "PONG")

        let varz = try await server.varz()
        #expect(varz["port"]?.int == port)
        #expect(varz["version"]?.string == info["version"]?.string)
        #expect(server.log.contains("Server is ready"))

        await server.stop()
        #expect(!server.isRunning)
        #expect(!LoopbackConnection.canConnect(port: port))
        await server.stop()  // idempotent
        #expect(server.log.contains("Server Exiting"))
    }

    @Test func monitoringEndpointsAnswerJSON() async throws {
        let server = try await NATSServer.start()
        let connection = try LoopbackConnection(port: server.port)
        _ = try connection.readInfo()
        #expect(try connection.connect(#"{"verbose":false,"name":"probe"}"#) == "PONG")
        #expect(try connection.subscribe("harness.probe", sid: 1) == "PONG")

        let connz = try await server.connz(subs: true)
        #expect(connz["num_connections"]?.int == 1)
        let client = try #require(connz["connections"]?[0])
        #expect(client["name"]?.string == "probe")
        #expect(client["subscriptions_list"]?[0]?.string == "harness.probe")
        #expect(try await server.healthz()["status"]?.string == "ok")
        #expect(try await server.jsz()["disabled"]?.bool == true)  // JetStream is off
    }

    @Test func readToEndWithATimeoutWaitsForThePeerToCloseAndNoLonger() async throws {
        let server = try await NATSServer.start()
        let connection = try LoopbackConnection(port: server.port)
        // The server says INFO and waits for CONNECT: still open after the timeout.
        await #expect(throws: WaitTimeout.self) { try await connection.readToEnd(timeout: .milliseconds(300)) }
        // A line it does not know gets -ERR and a close: everything unread comes back.
        try connection.send("NOT-A-VERB\r\n")
        let rest = String(decoding: try await connection.readToEnd(timeout: .seconds(10)), as: UTF8.self)
        #expect(rest.hasPrefix("INFO "), "\(rest)")
        #expect(rest.contains("-ERR"), "\(rest)")
        await server.stop()
    }

    @Test func restartKeepsPortsAndJetStreamStore() async throws {
        let server = try await NATSServer.start(.init(jetStream: true, websocketPort: true))
        let (port, monitorPort, websocketPort) = (server.port, server.monitorPort, server.websocketPort)

        do {
            let connection = try LoopbackConnection(port: port)
            _ = try connection.readInfo()
            #expect(try connection.connect() == "PONG")
            let created = try connection.jetStreamRequest(
                "STREAM.CREATE.HARNESS",
                #"{"name":"HARNESS","subjects":["harness.>"],"storage":"file"}"#
            )
            #expect(created["config"]?["name"]?.string == "HARNESS", "\(created)")
            #expect(try connection.publish("harness.one", "kept") == "PONG")
        }
        #expect(try await server.jsz()["streams"]?.int == 1)

        try await server.restart()
        #expect(server.port == port)
        #expect(server.monitorPort == monitorPort)
        #expect(server.websocketPort == websocketPort)
        #expect(server.isRunning)
        let connection = try LoopbackConnection(port: port)
        _ = try connection.readInfo()
        #expect(try connection.connect() == "PONG")
        let jsz = try await server.jsz()
        #expect(jsz["streams"]?.int == 1)
        #expect(jsz["messages"]?.int == 1)
        #expect(server.log.components(separatedBy: "Server is ready").count == 3)
    }

    @Test func restartAfterStopStartsAgain() async throws {
        let server = try await NATSServer.start()
        let port = server.port
        await server.stop()
        #expect(!LoopbackConnection.canConnect(port: port))
        try await server.restart()
        #expect(server.port == port)
        #expect(LoopbackConnection.canConnect(port: port))
        try await server.restart()  // while running: stops, then starts
        #expect(LoopbackConnection.canConnect(port: port))
    }

    @Test func lameDuckModeIsAnnouncedToClients() async throws {
        let server = try await NATSServer.start()
        let connection = try LoopbackConnection(port: server.port)
        _ = try connection.readInfo()
        // Only clients that announce protocol 1 get INFO updates.
        #expect(try connection.connect(#"{"verbose":false,"protocol":1}"#) == "PONG")
        server.enterLameDuckMode()
        let update = try connection.readLine { $0.hasPrefix("INFO ") }
        let info = try MonitoringJSON.parse(Array(update.dropFirst(5).utf8))
        #expect(info["ldm"]?.bool == true)
    }

    @Test func concurrentServersGetDistinctPorts() async throws {
        let servers = try await withThrowingTaskGroup(of: NATSServer.self) { group in
            for _ in 0..<4 { group.addTask { try await NATSServer.start() } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let ports = servers.flatMap { [$0.port, $0.monitorPort] }
        #expect(Set(ports).count == 8)
        #expect(Set(servers.map(\.directory)).count == 4)
        for server in servers { await server.stop() }
    }

    @Test func releasingTheServerKillsItAndRemovesItsDirectory() async throws {
        var server: NATSServer? = try await NATSServer.start()
        let port = try #require(server?.port)
        let directory = try #require(server?.directory)
        #expect(LoopbackConnection.canConnect(port: port))
        server = nil
        #expect(!LoopbackConnection.canConnect(port: port))
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    @Test func aConfigTheServerRejectsFailsWithItsLog() async throws {
        let error = await #expect(throws: NATSServerError.self) {
            _ = try await NATSServer.start(.init(extra: "no_such_option_xy: 1"))
        }
        #expect(error?.code == .exitedEarly)
        #expect(error?.log?.contains("no_such_option_xy") == true)
        #expect(error?.description.contains("nats-server log") == true)
    }

    @Test func missingServerBinaryFailsWithInstallHint() throws {
        let error = #expect(throws: NATSServerError.self) {
            _ = try NATSServer.locateExecutable(environment: ["PATH": "/nonexistent"], standardDirectories: [])
        }
        #expect(error?.code == .executableNotFound)
        #expect(
            error?.message
                == "nats-server not found: run 'make test' (it installs it) or 'apt-get install -y nats-server'"
        )
        #expect(throws: NATSServerError.self) {
            _ = try NATSServer.locateExecutable(environment: ["XY_NATS_SERVER": "/nonexistent/nats-server"])
        }
    }

    @Test func portsAreParsedFromTheLog() {
        let log = """
            [1] 2026/01/01 00:00:00.000000 [INF] Starting http monitor on 127.0.0.1:41535
            [1] 2026/01/01 00:00:00.000000 [INF] Listening for websocket clients on ws://127.0.0.1:37109
            [1] 2026/01/01 00:00:00.000000 [INF] Listening for client connections on 127.0.0.1:34635
            [1] 2026/01/01 00:00:00.000000 [INF] Server is ready
            """
        let ports = NATSServer.parsePorts(log)
        #expect(ports.client == 34635)
        #expect(ports.monitor == 41535)
        #expect(ports.websocket == 37109)
    }
}
