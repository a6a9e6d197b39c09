import ArgumentParser
import Foundation
import NATS
import NKeys

/// The `xy` command: NATS tools plus the xy stack's developer utilities.
@main
struct XY: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xy",
        abstract: "xy market-data stack: NATS tools, benchmarks and developer utilities.",
        version: NATSClient.version,
        subcommands: [Pub.self, Sub.self, Req.self, Reply.self, JS.self, KV.self, NKey.self, Token.self, Bench.self, Demo.self, Contracts.self, Sim.self, Dev.self]
    )

    /// Runs the command; failures print one line on stderr and exit non-zero.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as NATSError {
            FileHandle.standardError.write(Data("xy: \(error.message)\n".utf8))
            Foundation.exit(1)
        } catch let error as JetStreamError {
            FileHandle.standardError.write(Data("xy: \(error)\n".utf8))
            Foundation.exit(1)
        } catch let error as NKeyError {
            FileHandle.standardError.write(Data("xy: \(error)\n".utf8))
            Foundation.exit(1)
        } catch {
            Contracts.exitOnUsageError(error)
            exit(withError: error)
        }
    }
}

/// Parses `Key:Value` header flags.
func parseHeaders(_ values: [String]) throws -> NATSHeaders? {
    guard !values.isEmpty else { return nil }
    var headers = NATSHeaders()
    for value in values {
        guard let colon = value.firstIndex(of: ":"), colon != value.startIndex else {
            throw ValidationError("header '\(value)' is not Key:Value")
        }
        let name = String(value[..<colon])
        let headerValue = String(value[value.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        headers.append(headerValue, for: name)
    }
    return headers
}

/// Writes a line to stdout without buffering surprises when piped.
func printLine(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
