import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import XYCore

/// The HTTP listener every service runs on `HTTP_PORT`: `GET /metrics` (Prometheus text) and
/// `GET /healthz` (JSON, 200 when ready, 503 with the unmet conditions otherwise).
///
/// A `Service`, so it starts and stops with the rest of the process in one `ServiceGroup`.
public struct ObservabilityServer: Service {
    private let application: Application<RouterResponder<BasicRequestContext>>

    /// - Parameters:
    ///   - histograms: served after the registry's metrics (hot-path histograms outside it).
    ///   - onListening: called with the bound port once the listener is up (port 0 picks one).
    public init(
        host: String,
        port: Int,
        serviceName: String,
        registry: PrometheusCollectorRegistry,
        histograms: [BatchHistogram] = [],
        readiness: ReadinessState,
        redactor: SecretRedactor,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            var buffer = ByteBuffer()
            buffer.writeBytes(registry.emitToBuffer())
            for histogram in histograms {
                buffer.writeString(histogram.exposition())
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: buffer)
            )
        }
        router.get("/healthz") { _, _ -> Response in
            let (ready, body) = Self.healthBody(serviceName: serviceName, readiness: readiness, redactor: redactor)
            return Response(
                status: ready ? .ok : .serviceUnavailable,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: body))
            )
        }
        var observabilityLogger = logger
        observabilityLogger[metadataKey: "component"] = "http"
        self.application = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: serviceName),
            onServerRunning: { channel in
                await onListening(channel.localAddress?.port ?? port)
            },
            logger: observabilityLogger
        )
    }

    public func run() async throws {
        try await application.run()
    }

    /// `{"status":"ready","service":…,"details":{…}}` or
    /// `{"status":"unavailable","service":…,"code":"XYW004","reason":"nats: disconnected","problems":[…],"details":{…}}`.
    /// The one `/healthz` body of every service (the gateway serves it beside `/ws` and adds its
    /// `fields`, each a name and an already rendered JSON value), every reason redacted.
    public static func healthBody(
        serviceName: String, readiness: ReadinessState, redactor: SecretRedactor, fields: [(name: String, json: String)] = []
    ) -> (Bool, String) {
        let problems = readiness.problems
        let stopping = readiness.isStopping
        let ready = problems.isEmpty && !stopping
        var out = "{\"status\":"
        out += ready ? "\"ready\"" : (stopping ? "\"stopping\"" : "\"unavailable\"")
        out += ",\"service\":" + JSONText.quoted(serviceName)
        for field in fields { out += "," + JSONText.quoted(field.name) + ":" + field.json }
        if !ready {
            let reasons = problems.map { "\($0.condition): \($0.reason)" } + (stopping ? ["shutting down"] : [])
            out += ",\"code\":" + (problems.first.map { JSONText.quoted($0.code.rawValue) } ?? "null")
            out += ",\"reason\":" + JSONText.quoted(redactor.redact(reasons.joined(separator: "; ")))
            out += ",\"problems\":["
            out += problems.map {
                "{\"condition\":\(JSONText.quoted($0.condition)),\"code\":\(JSONText.quoted($0.code.rawValue)),\"reason\":\(JSONText.quoted(redactor.redact($0.reason)))}"
            }.joined(separator: ",")
            out += "]"
        }
        out += ",\"details\":{"
        out += readiness.details.sorted { $0.key < $1.key }.map {
            JSONText.quoted($0.key) + ":" + JSONText.quoted(redactor.redact($0.value))
        }.joined(separator: ",")
        out += "}}"
        return (ready, out)
    }
}
