import SwiftProtobuf

/// Service rules: RPCs stay, with the same request, response, streaming and idempotency.
extension ImagePair {
    /// One property of an RPC that a rule keeps, with its field number in `MethodDescriptorProto`
    /// (for the source place).
    private struct MethodProperty: Sendable {
        let rule: String
        let name: String
        let number: Int32
        let value: @Sendable (Google_Protobuf_MethodDescriptorProto) -> String
    }

    private static let methodProperties: [MethodProperty] = [
        MethodProperty(rule: "RPC_SAME_REQUEST_TYPE", name: "request type", number: 2) { String($0.inputType.dropFirst()) },
        MethodProperty(rule: "RPC_SAME_RESPONSE_TYPE", name: "response type", number: 3) { String($0.outputType.dropFirst()) },
        MethodProperty(rule: "RPC_SAME_IDEMPOTENCY_LEVEL", name: "option \"idempotency_level\"", number: 4) { "\($0.options.idempotencyLevel)" },
        MethodProperty(rule: "RPC_SAME_CLIENT_STREAMING", name: "client streaming", number: 5) { "\($0.clientStreaming)" },
        MethodProperty(rule: "RPC_SAME_SERVER_STREAMING", name: "server streaming", number: 6) { "\($0.serverStreaming)" },
    ]

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
                for property in Self.methodProperties {
                    let old = property.value(before)
                    let new = property.value(after)
                    if old != new {
                        report.add(property.rule, file: service.file, at: [path + [property.number], path],
                                   "RPC \"\(after.name)\" on service \"\(service.proto.name)\" changed \(property.name) from \"\(old)\" to \"\(new)\".")
                    }
                }
            }
        }
    }
}
