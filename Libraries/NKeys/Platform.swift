#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The operating-system calls NKeys needs to read a creds or seed file, so the library does not
/// pull in Foundation.
enum Platform {
    /// Creds and seed files are a few hundred bytes; anything far larger is not one.
    static let maxFileSize = 64 * 1024

    /// Reads the whole file at `path`, refusing files over `maxFileSize`.
    static func readFile(_ path: String) throws(NKeyError) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw NKeyError(.unreadableFile, "cannot open \(path): \(errorText(errno))")
        }
        defer { close(fd) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        defer { Sodium.wipe(&chunk) }
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                Sodium.wipe(&contents)
                throw NKeyError(.unreadableFile, "cannot read \(path): \(errorText(errno))")
            }
            if count == 0 { return contents }
            contents.append(contentsOf: chunk[..<count])
            if contents.count > maxFileSize {
                Sodium.wipe(&contents)
                throw NKeyError(.unreadableFile, "\(path) is larger than \(maxFileSize) bytes")
            }
        }
    }

    private static func errorText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}
