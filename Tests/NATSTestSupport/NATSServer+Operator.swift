/// Operator mode: more users with their own permissions.
extension NATSServer {
    /// In operator mode, writes a creds file (JWT + seed) for a new user of the server's
    /// account with `permissions`, and returns its path. The server accepts it at once (the
    /// account is trusted, user JWTs need no registration). Throws when not in operator mode.
    public func makeCredsFile(name: String? = nil, permissions: Permissions) throws -> String {
        guard let setup = material.operatorSetup else {
            throw NATSServerError(.notConfigured, "makeCredsFile needs NATSServerConfiguration(operatorMode: true)")
        }
        let index = nextCredsIndex()
        let path = directory + "/user-\(index).creds"
        try setup.makeUserCreds(name: name ?? "xy-test-user-\(index)", permissions: permissions, path: path)
        return path
    }

    /// In operator mode, writes a creds file for a new user with these permissions (empty
    /// allow lists mean no restriction) and returns its path.
    public func makeCredsFile(
        name: String? = nil,
        publishAllow: [String] = [],
        publishDeny: [String] = [],
        subscribeAllow: [String] = [],
        subscribeDeny: [String] = [],
        allowResponses: Bool = false
    ) throws -> String {
        try makeCredsFile(
            name: name,
            permissions: Permissions(
                publishAllow: publishAllow,
                publishDeny: publishDeny,
                subscribeAllow: subscribeAllow,
                subscribeDeny: subscribeDeny,
                allowResponses: allowResponses
            )
        )
    }
}
