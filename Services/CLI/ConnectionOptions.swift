import ArgumentParser
import Foundation
import NATS

/// The flags every connecting subcommand takes, with the nats CLI's names and `NATS_URL` as the default server.
struct ConnectionOptions: ParsableArguments {
    @Option(name: [.customShort("s"), .long], help: "NATS server URL(s), comma separated (default: $NATS_URL, then nats://127.0.0.1:4222).")
    var server: String?

    @Option(help: "Credentials file (user JWT + NKey seed).")
    var creds: String?

    @Option(help: "NKey seed file.")
    var nkey: String?

    @Option(help: "User name.")
    var user: String?

    @Option(help: "Password.")
    var password: String?

    @Option(help: "Authentication token.")
    var token: String?

    @Option(name: .customLong("tls-ca"), help: "CA certificate (PEM) to verify the server.")
    var tlsCA: String?

    @Option(name: .customLong("tls-cert"), help: "Client certificate (PEM).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "Client private key (PEM).")
    var tlsKey: String?

    @Option(name: .customLong("inbox-prefix"), help: "Prefix for reply subjects (default _INBOX).")
    var inboxPrefix: String?

    @Option(help: "Connection name shown by the server.")
    var name: String?

    func clientOptions(defaultName: String) throws -> NATSClientOptions {
        let url = server ?? ProcessInfo.processInfo.environment["NATS_URL"] ?? "nats://127.0.0.1:4222"
        var options = try NATSClientOptions(url: url)
        options.name = name ?? defaultName
        let chosen = [creds != nil, nkey != nil, user != nil, token != nil].filter { $0 }.count
        guard chosen <= 1 else {
            throw ValidationError("choose one of --creds, --nkey, --user, --token")
        }
        if let creds {
            options.authentication = .credentialsFile(creds)
        } else if let nkey {
            options.authentication = .nkeySeedFile(nkey)
        } else if let user {
            options.authentication = .userPassword(user: user, password: password ?? "")
        } else if let token {
            options.authentication = .token(token)
        }
        if tlsCA != nil || tlsCert != nil || tlsKey != nil {
            options.tls = NATSTLSOptions(caFile: tlsCA, certificateFile: tlsCert, keyFile: tlsKey, required: true)
        }
        if let inboxPrefix {
            guard NATSSubjectValidation.isValidPublishSubject(inboxPrefix) else {
                throw ValidationError("--inbox-prefix '\(inboxPrefix)' is not a valid subject")
            }
            options.inboxPrefix = inboxPrefix
        }
        return options
    }

    func connect(name: String) async throws -> NATSClient {
        try await NATSClient.connect(clientOptions(defaultName: name))
    }
}
