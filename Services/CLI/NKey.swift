import ArgumentParser
import Foundation
import NKeys

struct NKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nkey",
        abstract: "Generate NKeys and read public keys from seeds.",
        subcommands: [Gen.self, PublicKey.self]
    )

    struct Gen: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Generate a key pair; prints the seed, then the public key.")

        @Argument(help: "user, account, operator, server or cluster.") var type: String

        func run() throws {
            let kinds: [String: NKeyType] = ["user": .user, "account": .account, "operator": .operator, "server": .server, "cluster": .cluster]
            guard let kind = kinds[type.lowercased()] else {
                throw ValidationError("unknown key type '\(type)': use user, account, operator, server or cluster")
            }
            let pair = NKeyPair.generate(kind)
            printLine(pair.seed ?? "")
            printLine(pair.publicKey)
        }
    }

    struct PublicKey: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "pub", abstract: "Print the public key of a seed file.")

        @Argument(help: "Seed file.") var seedFile: String

        func run() throws {
            guard let text = try? String(contentsOfFile: seedFile, encoding: .utf8) else {
                throw ValidationError("cannot read seed file '\(seedFile)'")
            }
            let seedLine = text.split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.hasPrefix("S") }
            guard let seedLine else { throw ValidationError("no seed in '\(seedFile)'") }
            printLine(try NKeyPair(seed: seedLine).publicKey)
        }
    }
}
