import Foundation

/// Plain HTTP/1.1 against a service's loopback port, for tests that read `/healthz` and
/// `/metrics` of the executables they start.
public enum HTTPProbe {
    /// `GET path`: status code and body.
    public static func get(port: Int, _ path: String) throws -> (status: Int, body: String) {
        let connection = try LoopbackConnection(port: port)
        try connection.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let text = String(decoding: try connection.readToEnd(), as: UTF8.self)
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, body)
    }

    /// Sum of a metric's samples in a Prometheus text body (all label sets, or those containing
    /// `labels`), or nil when absent.
    public static func metric(_ name: String, labels: String? = nil, in body: String) -> Double? {
        var total: Double?
        for line in body.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2 else { continue }
            let series = parts[0]
            guard series == name || series.hasPrefix(name + "{") else { continue }
            if let labels, !series.contains(labels) { continue }
            total = (total ?? 0) + (Double(parts[1]) ?? 0)
        }
        return total
    }
}
