import AdminAPI
import Foundation
import OpenAPIRuntime
import XYContracts

/// What the `/admin/…` operations read and change: the feature flags with their audit stream, the
/// sessions log and the heartbeat table. Opened once at start (``open(jetStream:configuration:logger:)``).
struct OperatorState: Sendable {
    let flags: FeatureFlags
    let sessions: SessionLog
    let health: HealthBoard
}

/// The operators' API (`/admin/…`): admin role only, 401 XYW001/XYW005 without a token or with a
/// bad one, 403 XYA007 with a user's token.
extension AdminAPIHandler {
    func listFeatureFlags(_ input: Operations.ListFeatureFlags.Input) async throws -> Operations.ListFeatureFlags.Output {
        _ = try await requireAdmin()
        let flags = try await guarded { try await operators.flags.list() }
        return .ok(.init(body: .json(.init(flags: flags.map(Self.flag)))))
    }

    func getFeatureFlag(_ input: Operations.GetFeatureFlag.Input) async throws -> Operations.GetFeatureFlag.Output {
        _ = try await requireAdmin()
        let flag = try await guarded { try await operators.flags.get(input.path.name) }
        return .ok(.init(body: .json(Self.flag(flag))))
    }

    func putFeatureFlag(_ input: Operations.PutFeatureFlag.Input) async throws -> Operations.PutFeatureFlag.Output {
        let admin = try await requireAdmin()
        guard case .json(let body) = input.body else { throw APIFailure.malformed("a JSON body is required") }
        _ = try FeatureFlags.checkName(input.path.name)
        let value = try Self.value(of: body)
        let flag = try await guarded { try await operators.flags.put(input.path.name, value: value, by: admin) }
        return .ok(.init(body: .json(Self.flag(flag))))
    }

    func deleteFeatureFlag(_ input: Operations.DeleteFeatureFlag.Input) async throws -> Operations.DeleteFeatureFlag.Output {
        let admin = try await requireAdmin()
        try await guarded { try await operators.flags.delete(input.path.name, by: admin) }
        return .noContent(.init())
    }

    func getFeatureFlagHistory(_ input: Operations.GetFeatureFlagHistory.Input) async throws -> Operations.GetFeatureFlagHistory.Output {
        _ = try await requireAdmin()
        let name = try FeatureFlags.checkName(input.path.name)
        let changes = try await guarded { try await operators.flags.history(name) }
        return .ok(.init(body: .json(.init(name: name, changes: changes.map(Self.change)))))
    }

    func listSessions(_ input: Operations.ListSessions.Input) async throws -> Operations.ListSessions.Output {
        _ = try await requireAdmin()
        let limit = input.query.limit ?? SessionLog.defaultLimit
        guard SessionLog.limitRange.contains(limit) else {
            throw APIFailure(.badRequest, .invalidSessionLimit, "limit is 1 to \(SessionLog.limitRange.upperBound)")
        }
        let events = try await guarded { try await operators.sessions.events() }
        let (sessions, connected) = SessionLog.fold(events, limit: limit)
        let listed = sessions.map { session in
            Components.Schemas.Session(
                sessionId: session.id, user: session.user, gateway: session.gateway, remoteAddress: session.remoteAddress,
                connectedAt: Date(nanoseconds: session.connectedNanoseconds),
                disconnectedAt: session.disconnectedNanoseconds.map { Date(nanoseconds: $0) }, reason: session.reason)
        }
        return .ok(.init(body: .json(.init(sessions: listed, connected: connected))))
    }

    func getHealth(_ input: Operations.GetHealth.Input) async throws -> Operations.GetHealth.Output {
        _ = try await requireAdmin()
        let board = operators.health
        let now = board.now
        let instances = board.instances().map { entry in
            let health = entry.health
            return Components.Schemas.InstanceHealth(
                service: health.service, instance: health.instance, version: health.version.isEmpty ? nil : health.version,
                status: Self.status(health.status), ready: health.status == .ready, uptimeMs: health.uptimeNs / 1_000_000,
                lastSeen: Date(nanoseconds: entry.receivedNanoseconds), intervalMs: entry.intervalNanoseconds / 1_000_000,
                stale: entry.isStale(now: now), details: health.details.isEmpty ? nil : .init(additionalProperties: health.details))
        }
        return .ok(.init(body: .json(.init(instances: instances, observedSince: Date(nanoseconds: board.observedSinceNanoseconds)))))
    }

    // MARK: helpers

    /// The caller's `sub` when its token carries the admin role; 401 without a valid token, 403
    /// XYA007 for any other role.
    func requireAdmin() async throws(APIFailure) -> String {
        let claims = try await authenticate()
        guard claims.role == "admin" else { throw APIFailure(.forbidden, .adminRequired, "this operation needs the admin role") }
        return claims.username
    }

    /// The body's one value, or XYA042 when it holds none or several.
    static func value(of body: Components.Schemas.FeatureFlagValue) throws(APIFailure) -> Xy_Flags_V1_FeatureFlag.OneOf_Value {
        let values: [Xy_Flags_V1_FeatureFlag.OneOf_Value?] = [
            body.boolValue.map { .boolValue($0) }, body.intValue.map { .intValue($0) },
            body.doubleValue.map { .doubleValue($0) }, body.stringValue.map { .stringValue($0) },
        ]
        let set = values.compactMap { $0 }
        guard set.count == 1, let value = set.first else {
            throw APIFailure(.badRequest, .invalidFlagValue, "a flag value is exactly one of bool_value, int_value, double_value and string_value")
        }
        return value
    }

    static func flag(_ flag: Xy_Flags_V1_FeatureFlag) -> Components.Schemas.FeatureFlag {
        let fields = fields(flag.value)
        let type: Components.Schemas.FeatureFlag._TypePayload
        switch flag.value {
        case .boolValue?, nil: type = .bool
        case .intValue?: type = .int
        case .doubleValue?: type = .double
        case .stringValue?: type = .string
        }
        return .init(
            name: flag.name, _type: type, boolValue: fields.boolValue, intValue: fields.intValue, doubleValue: fields.doubleValue,
            stringValue: fields.stringValue, updatedAt: Date(nanoseconds: flag.updatedAtNs), updatedBy: flag.updatedBy)
    }

    static func fields(_ value: Xy_Flags_V1_FeatureFlag.OneOf_Value?) -> Components.Schemas.FeatureFlagValue {
        switch value {
        case .boolValue(let value)?: .init(boolValue: value)
        case .intValue(let value)?: .init(intValue: value)
        case .doubleValue(let value)?: .init(doubleValue: value)
        case .stringValue(let value)?: .init(stringValue: value)
        case nil: .init()
        }
    }

    static func change(_ change: Xy_Flags_V1_FeatureFlagChange) -> Components.Schemas.FeatureFlagChange {
        let action: Components.Schemas.FeatureFlagChange.ActionPayload =
            !change.hasOld ? .created : (change.hasNew ? .changed : .deleted)
        return .init(
            action: action, at: Date(nanoseconds: change.timeNs), by: change.changedBy,
            old: change.hasOld ? fields(change.old.value) : nil, new: change.hasNew ? fields(change.new.value) : nil)
    }

    static func status(_ status: Xy_Exec_V1_HealthStatus) -> Components.Schemas.InstanceHealth.StatusPayload {
        switch status {
        case .unspecified, .UNRECOGNIZED: .unspecified
        case .starting: .starting
        case .ready: .ready
        case .degraded: .degraded
        case .stopping: .stopping
        }
    }
}
