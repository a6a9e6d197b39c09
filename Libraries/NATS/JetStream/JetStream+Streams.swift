import NIOCore

extension JetStream {
    /// Creates a stream; the server answers with what it applied (defaults filled in).
    nonisolated(nonsending) public func createStream(_ config: StreamConfiguration) async throws -> StreamInfo {
        try JetStreamNames.validate(config.name, what: "stream")
        let info = try await apiRequest("STREAM.CREATE.\(config.name)", json: config, as: StreamInfo.self)
        remember(info)
        return info
    }

    /// Changes a stream's mutable settings (limits, subjects, …).
    nonisolated(nonsending) public func updateStream(_ config: StreamConfiguration) async throws -> StreamInfo {
        try JetStreamNames.validate(config.name, what: "stream")
        let info = try await apiRequest("STREAM.UPDATE.\(config.name)", json: config, as: StreamInfo.self)
        remember(info)
        return info
    }

    /// Makes the stream match `config` whether or not it exists yet: what a service does at start.
    nonisolated(nonsending) public func createOrUpdateStream(_ config: StreamConfiguration) async throws -> StreamInfo {
        do {
            return try await updateStream(config)
        } catch let error as JetStreamError where error.errorCode == .streamNotFound {
            return try await createStream(config)
        }
    }

    /// The stream's configuration and state; 10059 when it does not exist.
    nonisolated(nonsending) public func streamInfo(_ name: String) async throws -> StreamInfo {
        try JetStreamNames.validate(name, what: "stream")
        let info = try await apiRequest("STREAM.INFO.\(name)", as: StreamInfo.self)
        remember(info)
        return info
    }

    /// Deletes a stream and every message in it.
    nonisolated(nonsending) public func deleteStream(_ name: String) async throws {
        try JetStreamNames.validate(name, what: "stream")
        _ = try await apiRequest("STREAM.DELETE.\(name)", as: APISuccessResponse.self)
        directCache.withLockedValue { $0[name] = nil }
    }

    /// Removes messages: all of them, or those of one `subject`, keeping the newest `keep`, or
    /// those below `upToSequence`. Returns how many went.
    @discardableResult
    nonisolated(nonsending) public func purgeStream(
        _ name: String, subject: String? = nil, keep: UInt64? = nil, upToSequence: UInt64? = nil
    ) async throws -> UInt64 {
        try JetStreamNames.validate(name, what: "stream")
        let request = PurgeRequest(filter: subject, keep: keep, seq: upToSequence)
        return try await apiRequest("STREAM.PURGE.\(name)", json: request, as: PurgeResponse.self).purged
    }

    /// Every stream's name (optionally only those listening on `subject`), page by page.
    nonisolated(nonsending) public func streamNames(subject: String? = nil) async throws -> [String] {
        var names: [String] = []
        while true {
            let page = try await apiRequest(
                "STREAM.NAMES", json: ListRequest(offset: names.count, subject: subject), as: NamesPage.self
            )
            let batch = page.streams ?? []
            names += batch
            if batch.isEmpty || names.count >= page.total { return names }
        }
    }

    /// Every stream's info, page by page.
    nonisolated(nonsending) public func streams() async throws -> [StreamInfo] {
        var infos: [StreamInfo] = []
        while true {
            let page = try await apiRequest(
                "STREAM.LIST", json: ListRequest(offset: infos.count, subject: nil), as: InfoPage.self
            )
            let batch = page.streams ?? []
            infos += batch
            if batch.isEmpty || infos.count >= page.total { return infos }
        }
    }

    func remember(_ info: StreamInfo) {
        directCache.withLockedValue { $0[info.config.name] = info.config.allowDirect }
    }
}

private struct PurgeRequest: Encodable {
    var filter: String?
    var keep: UInt64?
    var seq: UInt64?
}

private struct PurgeResponse: Decodable {
    var purged: UInt64
}

private struct ListRequest: Encodable {
    var offset: Int
    var subject: String?
}

private struct NamesPage: Decodable {
    var total: Int
    var streams: [String]?
}

private struct InfoPage: Decodable {
    var total: Int
    var streams: [StreamInfo]?
}
