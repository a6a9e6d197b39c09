import NKeys

/// Operator-mode material: TEMPORARY stub until NATSJWT lands.
struct OperatorSetup: Sendable {
    let operatorJWTFile: String
    let accountPublicKey: String
    let accountJWT: String
    let accountSeed: String
    let userCredsFile: String

    static func generate(in directory: String) throws -> OperatorSetup {
        throw NATSServerError(.notConfigured, "operator mode not yet available")
    }
}
