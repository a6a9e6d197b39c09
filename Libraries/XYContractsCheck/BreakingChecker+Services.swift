import SwiftProtobuf

/// Service rules: RPCs stay, with the same request, response, streaming and idempotency.
extension ImagePair {
    func checkServices(_ report: inout Report) {
        for previousService in previous.services.values.sorted(by: { $0.fullName < $1.fullName }) {
            guard let service = current.services[previousService.fullName] else { continue }
            let methods = Dictionary(service.proto.method.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
            for before in previousService.proto.method {
                guard let index = methods[before.name] else {
                    report.add("RPC_NO_DELETE", file: service.file, at: [service.path],
                               "Previously present RPC \"\(before.name)\" on service \"\(service.proto.name)\" was deleted.")
                    continue
                }
                let after = service.proto.method[index]
                let path = service.path + [2, Int32(index)]
                let subject = "RPC \"\(after.name)\" on service \"\(service.proto.name)\""
                if before.inputType != after.inputType {
                    report.add("RPC_SAME_REQUEST_TYPE", file: service.file, at: [path + [2], path],
                               "\(subject) changed request type from \"\(before.inputType.dropFirst())\" to \"\(after.inputType.dropFirst())\".")
                }
                if before.outputType != after.outputType {
                    report.add("RPC_SAME_RESPONSE_TYPE", file: service.file, at: [path + [3], path],
                               "\(subject) changed response type from \"\(before.outputType.dropFirst())\" to \"\(after.outputType.dropFirst())\".")
                }
                if before.clientStreaming != after.clientStreaming {
                    report.add("RPC_SAME_CLIENT_STREAMING", file: service.file, at: [path + [5], path],
                               "\(subject) changed from \(streaming(before.clientStreaming)) to \(streaming(after.clientStreaming)) on the client side.")
                }
                if before.serverStreaming != after.serverStreaming {
                    report.add("RPC_SAME_SERVER_STREAMING", file: service.file, at: [path + [6], path],
                               "\(subject) changed from \(streaming(before.serverStreaming)) to \(streaming(after.serverStreaming)) on the server side.")
                }
                if before.options.idempotencyLevel != after.options.idempotencyLevel {
                    report.add("RPC_SAME_IDEMPOTENCY_LEVEL", file: service.file, at: [path + [4], path],
                               "\(subject) changed option \"idempotency_level\" from \"\(before.options.idempotencyLevel)\" to \"\(after.options.idempotencyLevel)\".")
                }
            }
        }
    }

    private func streaming(_ streams: Bool) -> String { streams ? "streaming" : "unary" }
}
