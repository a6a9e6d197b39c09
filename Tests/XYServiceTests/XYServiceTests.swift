import Foundation
import Logging
import NATS
import NATSTestSupport
import NIOCore
import SwiftProtobuf
import Testing
import XYContracts
import XYCore
@testable import XYService

@Suite("Service configuration from the environment")
struct ServiceConfigurationTests {
    @Test("defaults when nothing is set")
    func defaults() throws {
        let configuration = try ServiceConfiguration(serviceName: "xy-test", defaultHTTPPort: 9999, environment: EnvironmentReader([:]))
        #expect(configuration.natsURLs == "nats://127.0.0.1:4222")
        #expect(configuration.httpPort == 9999)
        #expect(configuration.logLevel == .info)
        #expect(configuration.healthInterval == .seconds(5))
        #expect(configuration.shutdownTimeout == .seconds(10))
        #expect(configuration.natsCredentialsFile == nil)
    }

    @Test("the service's replies come to its own inbox subtree, which its NATS user is granted")
    func inboxPerService() async throws {
        let configuration = try ServiceConfiguration(serviceName: "xy-test", defaultHTTPPort: 9999, environment: EnvironmentReader([:]))
        let options = try configuration.natsClientOptions(logger: Logger(label: "test"))
        #expect(options.inboxPrefix == "_INBOX.xy-test")
        // A request made with these options really waits on that subtree.
        let server = try await NATSServer.start()
        var live = options
        live.servers = [try NATSServerAddress(parsing: server.url)]
        let client = try await NATSClient.connect(live)
        let responder = try client.subscribe("svc.echo") { message in
            guard let reply = message.replyTo else { return }
            try? client.publish(reply, payload: message.payload)
        }
        let watcher = try client.subscribe("_INBOX.xy-test.>")
        try await client.flush()
        let answer = try await client.request("svc.echo", payload: ByteBuffer(string: "ping"), timeout: .seconds(5))
        #expect(String(buffer: answer.payload) == "ping")
        // The watcher got its copy of the reply in the same read as the request did.
        var replies = watcher.makeAsyncIterator()
        let seen = try #require(try await replies.next())
        #expect(seen.subject.hasPrefix("_INBOX.xy-test."))
        try responder.unsubscribe()
        await client.close()
        await server.stop()
    }

    @Test("each malformed value names its variable", arguments: [
        ("HTTP_PORT", "eighty"), ("HTTP_PORT", "70000"), ("LOG_LEVEL", "loud"), ("HEALTH_INTERVAL", "soon"),
        ("SHUTDOWN_TIMEOUT", "0s"), ("NATS_URLS", "http://[::1"), ("NATS_CREDS", "/nonexistent/file.creds"), ("NATS_TLS_CA", "/nonexistent/ca.pem"),
    ])
    func malformed(variable: String, value: String) {
        #expect {
            _ = try ServiceConfiguration(serviceName: "xy-test", defaultHTTPPort: 1, environment: EnvironmentReader([variable: value]))
        } throws: { error in
            (error as? ConfigurationError)?.variable == variable
        }
    }

    @Test("a TLS certificate without its key names the missing variable")
    func certificateWithoutKey() {
        #expect {
            _ = try ServiceConfiguration(serviceName: "xy-test", defaultHTTPPort: 1, environment: EnvironmentReader(["NATS_TLS_CERT": "/etc/hostname"]))
        } throws: { error in
            (error as? ConfigurationError)?.variable == "NATS_TLS_KEY"
        }
    }

    @Test("--help lists every variable with its default")
    func help() {
        let variables = ServiceConfiguration.variables(defaultHTTPPort: 9101) + [EnvironmentVariable("UPSTREAM_URL", required: true, help: "Vendor URL.")]
        let text = ServiceRuntime.helpText(serviceName: "xy-x", summary: "does x", variables: variables)
        for variable in variables {
            #expect(text.contains(variable.name))
        }
        #expect(text.contains("(default: nats://127.0.0.1:4222)"))
        #expect(text.contains("HTTP_PORT") && text.contains("(default: 9101)"))
        #expect(text.contains("(required)"))
    }
}

@Suite("JSON log lines")
struct JSONLogHandlerTests {
    @Test("one object per line with ts, level, service, code, msg and metadata; secrets redacted")
    func shapeAndRedaction() throws {
        let handler = JSONLogHandler(label: "test", service: "xy-test", level: .info, redactor: SecretRedactor(secrets: ["sk_live_123456"]))
        let line = handler.line(
            level: .error,
            message: "auth failed for sk_live_123456",
            metadata: ["code": "XYW101", "api_key": "whatever", "url": "ws://x/?key=sk_live_123456", "attempt": "3", "nested": ["password": "p", "ok": "v"]],
            source: "t"
        )
        #expect(line.hasPrefix("{\"ts\":\""))
        #expect(line.contains("\"level\":\"error\""))
        #expect(line.contains("\"service\":\"xy-test\""))
        #expect(line.contains("\"code\":\"XYW101\""))
        #expect(line.contains("\"msg\":\"auth failed for [REDACTED]\""))
        #expect(line.contains("\"api_key\":\"[REDACTED]\""))
        #expect(line.contains("\"attempt\":\"3\""))
        #expect(line.contains("\"password\":\"[REDACTED]\""))
        #expect(!line.contains("sk_live_123456"))
        #expect(!line.contains("\n"))
        let uncoded = handler.line(level: .info, message: "quote \" and \n newline", metadata: [:], source: "t")
        #expect(uncoded.contains("\"code\":null"))
        #expect(uncoded.contains(#"quote \" and \n newline"#))
    }
}

@Suite("Readiness and /healthz bodies")
struct ReadinessTests {
    @Test("ready only when every condition holds; 503 body names the reason and code")
    func healthBody() {
        let readiness = ReadinessState()
        readiness.setDetail("upstream", "streaming")
        var (ready, body) = ObservabilityServer.healthBody(serviceName: "xy-t", readiness: readiness, redactor: SecretRedactor())
        #expect(ready)
        #expect(body == #"{"status":"ready","service":"xy-t","details":{"upstream":"streaming"}}"#)
        readiness.markNotReady("nats", reason: "disconnected", code: .natsUnavailable)
        (ready, body) = ObservabilityServer.healthBody(serviceName: "xy-t", readiness: readiness, redactor: SecretRedactor())
        #expect(!ready)
        #expect(body.contains(#""status":"unavailable""#))
        #expect(body.contains(#""code":"XYW004""#))
        #expect(body.contains(#""reason":"nats: disconnected""#))
        readiness.markReady("nats")
        readiness.markStopping()
        (ready, body) = ObservabilityServer.healthBody(serviceName: "xy-t", readiness: readiness, redactor: SecretRedactor())
        #expect(!ready)
        #expect(body.contains(#""status":"stopping""#))
    }

    @Test("a service's own fields follow the service name; reasons are redacted (the gateway's /healthz is this body)")
    func healthBodyFieldsAndRedaction() throws {
        let readiness = ReadinessState()
        readiness.markNotReady("upstream", reason: "auth failed with key s3cr3t-key", code: .natsUnavailable)
        let (ready, body) = ObservabilityServer.healthBody(
            serviceName: "xy-gateway", readiness: readiness, redactor: SecretRedactor(secrets: ["s3cr3t-key"]),
            fields: [("clients", "3"), ("subjects", #"["xy.md.tick.demo"]"#)])
        #expect(!ready)
        #expect(body.hasPrefix(#"{"status":"unavailable","service":"xy-gateway","clients":3,"subjects":["xy.md.tick.demo"],"#))
        #expect(!body.contains("s3cr3t-key"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(object["clients"] as? Int == 3)
    }
}

@Suite("Batch histogram")
struct BatchHistogramTests {
    @Test("a batch lands in the right buckets; the exposition is cumulative, in seconds, with +Inf, sum and count")
    func exposition() {
        let histogram = BatchHistogram(name: "xy_t_seconds", buckets: [.milliseconds(1), .milliseconds(10)])
        histogram.record(nanoseconds: [500_000, 1_000_000, 2_000_000, -5, 20_000_000])
        histogram.record(nanoseconds: 10_000_000)
        #expect(histogram.count == 6)
        #expect(histogram.exposition() == """
            # TYPE xy_t_seconds histogram
            xy_t_seconds_bucket{le="0.001"} 3
            xy_t_seconds_bucket{le="0.01"} 5
            xy_t_seconds_bucket{le="+Inf"} 6
            xy_t_seconds_sum 0.0335
            xy_t_seconds_count 6

            """)
    }
}

@Suite("Health heartbeat on NATS")
struct HealthHeartbeatTests {
    @Test("beats on xy.exec.health with service, instance, status and details")
    func heartbeat() async throws {
        let server = try await NATSServer.start()
        let client = try await NATSClient.connect(url: server.url)
        let subscription = try client.subscribe(Subjects.health)
        try await client.flush()
        let readiness = ReadinessState()
        readiness.setDetail("nats", "connected")
        let heartbeat = HealthHeartbeat(
            client: client, serviceName: "xy-test", instance: "i-1", version: "0.1.0", interval: .milliseconds(100),
            readiness: readiness, logger: Logger(label: "test")
        )
        let running = Task { try await heartbeat.run() }
        var iterator = subscription.makeAsyncIterator()
        let first = try #require(try await iterator.next())
        let health = try Xy_Exec_V1_Health(serializedBytes: Array(first.payload.readableBytesView))
        #expect(health.service == "xy-test")
        #expect(health.instance == "i-1")
        #expect(health.status == .ready)
        #expect(health.details["nats"] == "connected")
        #expect(first.headers?[Subjects.schemaHeader] == "xy.exec.v1.Health")
        readiness.markNotReady("upstream", reason: "down", code: .upstreamDisconnected)
        var sawDegraded = false
        for _ in 0..<5 {
            guard let message = try await iterator.next() else { break }
            let beat = try Xy_Exec_V1_Health(serializedBytes: Array(message.payload.readableBytesView))
            if beat.status == .degraded, beat.details["upstream"] == "down" {
                sawDegraded = true
                break
            }
        }
        #expect(sawDegraded)
        running.cancel()
        _ = try? await running.value
        await client.close()
        await server.stop()
    }
}
