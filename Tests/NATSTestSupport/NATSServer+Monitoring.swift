/// The HTTP monitoring endpoints, read over a plain socket (no FoundationNetworking).
extension NATSServer {
    /// `GET /varz`: server settings and counters (`tls_required`, `auth_required`,
    /// `max_payload`, `jetstream`, `websocket`, …).
    public func varz() async throws -> MonitoringJSON {
        try await monitor("/varz")
    }

    /// `GET /connz`, with each connection's subscriptions when `subs` is true.
    public func connz(subs: Bool = false) async throws -> MonitoringJSON {
        try await monitor(subs ? "/connz?subs=1" : "/connz")
    }

    /// `GET /jsz`: JetStream usage (streams, consumers, messages) — add `?streams=1` etc.
    /// through ``monitor(_:)`` for details.
    public func jsz() async throws -> MonitoringJSON {
        try await monitor("/jsz")
    }

    /// `GET /healthz`: `{"status":"ok"}` when healthy (returned as-is for other statuses too).
    public func healthz() async throws -> MonitoringJSON {
        try await monitor("/healthz")
    }

    /// `GET <pathAndQuery>` on the monitoring port, parsed as JSON whatever the HTTP status.
    public func monitor(_ pathAndQuery: String) async throws -> MonitoringJSON {
        let port = monitorPort
        let connection = try LoopbackConnection(port: port)
        defer { connection.close() }
        try connection.send("GET \(pathAndQuery) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n")
        let response = try await connection.readToEnd(timeout: .seconds(5))
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let headerEnd = response.firstRange(of: separator) else {
            throw NATSServerError(.monitoringFailed, "GET \(pathAndQuery): no HTTP response", log: log)
        }
        let head = String(decoding: response[..<headerEnd.lowerBound], as: UTF8.self)
        let body = response[headerEnd.upperBound...]
        do {
            return try MonitoringJSON.parse(body)
        } catch {
            throw NATSServerError(
                .monitoringFailed,
                "GET \(pathAndQuery): not JSON (\(head.split(separator: "\r\n").first ?? "")): \(String(decoding: body.prefix(200), as: UTF8.self))"
            )
        }
    }
}
