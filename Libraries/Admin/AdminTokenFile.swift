import Foundation
import Logging

/// Development only (ADMIN_TOKEN_FILE): keeps a valid admin token for the built-in operator
/// principal in a file, so `make up` leaves one in its run folder and the admin endpoints can be
/// tried at once. The token is signed by the key ring like any other (so the gateway and every
/// copy of xy-admin accept it), written mode 0600 and replaced atomically (a new file renamed over
/// the old one: a reader sees the old token or the new one, never half of either), and renewed
/// at half its lifetime and whenever the signing key changed (a retired key's tokens stop
/// verifying).
struct AdminTokenFile: Sendable {
    /// The token's `sub`: not a valid username (no account can be registered under it), so it
    /// names the operator in audit records and never collides with a user.
    static let principal = "operator@xy-admin"

    let path: String
    let lifetime: Duration
    let issuer: TokenIssuer
    let logger: Logger

    /// Writes a token now, then renews it until cancelled; a failed write is logged and retried
    /// after the ring's refresh period (not every second: the log would fill).
    func run() async {
        var written: (kid: String, at: ContinuousClock.Instant)?
        while !Task.isCancelled {
            var pause: Duration = .seconds(1)
            let kid = await issuer.currentKeyID
            let due = written.map { $0.kid != kid || ContinuousClock.now - $0.at >= lifetime / 2 } ?? true
            if due, let kid {
                do {
                    try await writeToken()
                    written = (kid, .now)
                    logger.info("admin token written (development only)", metadata: ["path": "\(path)", "kid": "\(kid)"])
                } catch {
                    logger.error("admin token not written", metadata: ["path": "\(path)", "error": "\(error)"])
                    pause = TokenIssuer.refreshPeriod
                }
            }
            // Checking costs one actor call: a rotation is noticed within a second of this copy
            // loading the new ring.
            try? await Task.sleep(for: pause)
        }
    }

    /// Issues a token and replaces the file with it.
    func writeToken() async throws {
        let token = try await issuer.issue(username: Self.principal, role: "admin", lifetime: lifetime).token
        try Self.replace(path, with: Array((token + "\n").utf8))
    }

    /// Writes `bytes` to a new file beside `path` (mode 0600 from its creation, never readable by
    /// others even for a moment), flushes it and renames it over `path`.
    static func replace(_ path: String, with bytes: [UInt8]) throws {
        // A random name: copies sharing the folder (containers all pid 1) never share a temporary file.
        let temporary = path + ".tmp-" + randomBytes(8).map { String(format: "%02x", $0) }.joined()
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw FileError(path: temporary, errno: errno) }
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else {
                let failure = FileError(path: temporary, errno: errno)
                close(descriptor)
                unlink(temporary)
                throw failure
            }
            offset += count
        }
        let synced = fsync(descriptor) == 0
        let closed = close(descriptor) == 0
        guard synced, closed else {
            let failure = FileError(path: temporary, errno: errno)
            unlink(temporary)
            throw failure
        }
        guard rename(temporary, path) == 0 else {
            let failure = FileError(path: path, errno: errno)
            unlink(temporary)
            throw failure
        }
    }

    /// A system call on the token file failed.
    struct FileError: Error, CustomStringConvertible {
        var path: String
        var errno: Int32
        var description: String { "\(path): \(String(cString: strerror(errno)))" }
    }
}
