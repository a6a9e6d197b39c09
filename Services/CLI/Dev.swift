import ArgumentParser
import Foundation
import NKeys

/// `xy dev …`: what a local deployment runs on, for `make up` and compose.yaml.
struct Dev: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Developer deployment helpers.",
        subcommands: [Init.self]
    )

    /// `xy dev init`: NATS configuration with one NKey user per service, seeds, a signing key and a token.
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a local deployment: nats-server configuration (JetStream, one least-privilege NKey user per service), seeds, a development signing key and token.",
            discussion: """
            Writes, under --out:
              nats/nats.conf           one server: listeners, JetStream store, includes authorization.conf
              nats/cluster.conf        with --cluster-routes: the same plus a cluster block (start each node with --server_name)
              nats/authorization.conf  copied from --templates: the users and their permissions
              nats/nkeys.conf          the public NKey of each user the template names ($XY_NKEY_<USER>)
              seeds/<user>.nk          each user's NKey seed, mode 0600 (NATS_NKEY_SEED_FILE)
              jwt/dev.pem, dev.pub.pem ES256 signing key (0600) and its public key (JWT_PUBLIC_KEY)
              dev.token                a gateway token signed by jwt/dev.pem, mode 0600
            Seeds and the signing key already there are kept (so running services and issued tokens stay
            valid) unless --new-keys; the configuration and the token are written every time.
            No admin token: xy-admin signs those with its own key ring, made at its first start, and
            writes one itself when ADMIN_TOKEN_FILE names a file (docs/admin.md).
            """
        )

        @Option(help: "Folder to write into (created when missing).") var out: String
        @Option(help: "Folder holding authorization.conf.") var templates: String = "deploy/nats"
        @Option(help: "Client listener, HOST:PORT.") var listen = DevDeployment.Listen(argument: "127.0.0.1:4222")!
        @Option(help: "Monitoring listener, HOST:PORT, or 'off'.") var http: String = "127.0.0.1:8222"
        @Option(name: .customLong("store-dir"), help: "JetStream store folder (default: <out>/nats-data).") var storeDirectory: String?
        @Option(name: .customLong("cluster-routes"), help: "Also write nats/cluster.conf with routes to these nodes, HOST:PORT,HOST:PORT,…")
        var clusterRoutes: String?
        @Option(name: .customLong("cluster-listen"), help: "Route listener of each cluster node.")
        var clusterListen = DevDeployment.Listen(argument: "0.0.0.0:6222")!
        @Option(name: .customLong("cluster-name"), help: "Cluster name.") var clusterName: String = "xy"
        @Option(name: .customLong("token-sub"), help: "sub of the development token.") var tokenSub: String = "dev"
        @Option(name: .customLong("token-subjects"), help: "Subject patterns the token grants, comma separated.") var tokenSubjects: String = "xy.md.>"
        @Option(name: .customLong("token-ttl"), help: "Lifetime of the development token.")
        var tokenTTL: DurationArgument = "24h"
        @Flag(name: .customLong("new-keys"), help: "Replace existing seeds and the signing key.") var newKeys = false

        func validate() throws {
            if http != "off", DevDeployment.Listen(argument: http) == nil { throw ValidationError("--http must be HOST:PORT or 'off'") }
            if let clusterRoutes, routes(clusterRoutes) == nil { throw ValidationError("--cluster-routes must be HOST:PORT,HOST:PORT,…") }
            guard tokenTTL.amount.nanoseconds > 0 else { throw ValidationError("--token-ttl must be more than zero") }
        }

        func run() async throws {
            let templatePath = (templates as NSString).appendingPathComponent("authorization.conf")
            guard let template = try? String(contentsOfFile: templatePath, encoding: .utf8) else {
                throw Token.Failure("cannot read \(templatePath): run from the repository root or pass --templates")
            }
            let users = DevDeployment.users(inAuthorizationTemplate: template)
            guard !users.isEmpty else { throw Token.Failure("\(templatePath) names no user ($XY_NKEY_<USER>)") }

            let root = Self.absolute(out)
            let natsDirectory = (root as NSString).appendingPathComponent("nats")
            let seedsDirectory = (root as NSString).appendingPathComponent("seeds")
            let jwtDirectory = (root as NSString).appendingPathComponent("jwt")
            try Self.makeDirectory(natsDirectory, permissions: 0o755)
            try Self.makeDirectory(seedsDirectory, permissions: 0o700)
            try Self.makeDirectory(jwtDirectory, permissions: 0o700)

            var publicKeys: [(user: String, publicKey: String)] = []
            for user in users {
                let path = (seedsDirectory as NSString).appendingPathComponent("\(user).nk")
                publicKeys.append((user, try seed(at: path).publicKey))
            }
            try Token.write(DevDeployment.nkeysConfiguration(publicKeys), to: (natsDirectory as NSString).appendingPathComponent("nkeys.conf"), permissions: 0o644)
            try Token.write(template, to: (natsDirectory as NSString).appendingPathComponent("authorization.conf"), permissions: 0o644)

            let server = DevDeployment.Server(
                listen: listen, http: http == "off" ? nil : DevDeployment.Listen(argument: http),
                storeDirectory: Self.absolute(storeDirectory ?? (root as NSString).appendingPathComponent("nats-data")))
            try Token.write(DevDeployment.serverConfiguration(server), to: (natsDirectory as NSString).appendingPathComponent("nats.conf"), permissions: 0o644)
            if let clusterRoutes, let routes = routes(clusterRoutes) {
                let cluster = DevDeployment.Cluster(name: clusterName, listen: clusterListen, routes: routes)
                try Token.write(
                    DevDeployment.serverConfiguration(server, cluster: cluster),
                    to: (natsDirectory as NSString).appendingPathComponent("cluster.conf"), permissions: 0o644)
            }

            let keyPath = (jwtDirectory as NSString).appendingPathComponent("dev.pem")
            if newKeys || !FileManager.default.fileExists(atPath: keyPath) {
                try Token.writeNewKeyPair(to: keyPath)
            }
            let subjects = tokenSubjects.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let token = try await Token.mint(keyPath: keyPath, sub: tokenSub, subjects: subjects, ttl: tokenTTL.amount)
            try Token.write(token, to: (root as NSString).appendingPathComponent("dev.token"), permissions: 0o600)

            printLine("\(root): nats/nats.conf\(clusterRoutes == nil ? "" : ", nats/cluster.conf"), users \(users.joined(separator: ", ")), jwt/dev.pub.pem, dev.token")
        }

        /// The seed at `path`, made (0600) when missing or when --new-keys says so.
        private func seed(at path: String) throws -> NKeyPair {
            if !newKeys, let text = try? String(contentsOfFile: path, encoding: .utf8) {
                let line = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix("S") }
                guard let line else { throw Token.Failure("no seed in '\(path)': remove it or pass --new-keys") }
                return try NKeyPair(seed: line)
            }
            let pair = NKeyPair.generate(.user)
            try Token.write(pair.seed ?? "", to: path, permissions: 0o600)
            return pair
        }

        private func routes(_ text: String) -> [DevDeployment.Listen]? {
            let routes = text.split(separator: ",").map { DevDeployment.Listen(argument: String($0).trimmingCharacters(in: .whitespaces)) }
            guard !routes.isEmpty, !routes.contains(where: { $0 == nil }) else { return nil }
            return routes.compactMap { $0 }
        }

        private static func absolute(_ path: String) -> String {
            let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path)
            return url.standardizedFileURL.path
        }

        private static func makeDirectory(_ path: String, permissions: Int) throws {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: path)
            } catch {
                throw Token.Failure("cannot create '\(path)': \(error.localizedDescription)")
            }
        }
    }
}
