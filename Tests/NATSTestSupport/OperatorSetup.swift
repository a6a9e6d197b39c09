import Foundation
import NKeys

/// Operator-mode material made with NKeys: an operator, a system account, an application
/// account (JetStream enabled) and a user of it allowed everything, written as files.
struct OperatorSetup: Sendable {
    /// An account JWT for `resolver_preload`.
    struct PreloadedAccount: Sendable {
        let publicKey: String
        let jwt: String
    }

    let operatorJWTFile: String
    let accounts: [PreloadedAccount]
    /// The application account, which signs user JWTs.
    let account: NKeyPair
    let userCredsFile: String

    static func generate(in directory: String) throws -> OperatorSetup {
        do {
            let operatorKey = NKeyPair.generate(.operator)
            let systemAccount = NKeyPair.generate(.account)
            let account = NKeyPair.generate(.account)
            let operatorJWT = try NATSJWT.operatorJWT(
                name: "xy-test-operator",
                operator: operatorKey,
                systemAccount: systemAccount.publicKey
            )
            let accounts = [
                PreloadedAccount(
                    publicKey: systemAccount.publicKey,
                    jwt: try NATSJWT.accountJWT(
                        name: "SYS", account: systemAccount.publicKey, signedBy: operatorKey, jetStream: false
                    )
                ),
                PreloadedAccount(
                    publicKey: account.publicKey,
                    jwt: try NATSJWT.accountJWT(name: "XY", account: account.publicKey, signedBy: operatorKey)
                ),
            ]
            let setup = OperatorSetup(
                operatorJWTFile: directory + "/operator.jwt",
                accounts: accounts,
                account: account,
                userCredsFile: directory + "/user.creds"
            )
            try write(operatorJWT, to: setup.operatorJWTFile)
            try setup.makeUserCreds(name: "xy-test-user", permissions: Permissions(), path: setup.userCredsFile)
            return setup
        } catch let error as NKeyError {
            throw NATSServerError(.setupFailed, "cannot create operator-mode JWTs: \(error)")
        }
    }

    /// Writes a creds file for a new user of the application account with `permissions`.
    func makeUserCreds(name: String, permissions: Permissions, path: String) throws {
        let user = NKeyPair.generate(.user)
        do {
            let jwt = try NATSJWT.userJWT(
                name: name,
                user: user.publicKey,
                signedBy: account,
                publishAllow: permissions.publishAllow,
                publishDeny: permissions.publishDeny,
                subscribeAllow: permissions.subscribeAllow,
                subscribeDeny: permissions.subscribeDeny,
                allowResponses: permissions.allowResponses
            )
            guard let seed = user.seed else {
                throw NATSServerError(.setupFailed, "a generated user key has no seed")
            }
            try Self.write(NATSCredentials.format(jwt: jwt, seed: seed), to: path)
        } catch let error as NKeyError {
            throw NATSServerError(.setupFailed, "cannot create the user JWT for \(name): \(error)")
        }
    }

    private static func write(_ text: String, to path: String) throws {
        guard FileManager.default.createFile(
            atPath: path,
            contents: Data(text.utf8),
            attributes: [.posixPermissions: 0o600]
        ) else {
            throw NATSServerError(.setupFailed, "cannot write \(path)")
        }
    }
}
