import Foundation
import SwiftProtobuf
import Testing
import XYContracts
import XYContractsCheck

@Suite("Every contract message through Swift's codec")
struct ContractRoundTripTests {
    @Test("binary and JSON encodings decode to the same value", arguments: ContractSamples.all.indices)
    func roundTrip(_ index: Int) throws {
        let sample = ContractSamples.all[index]
        let type = Swift.type(of: sample)
        let bytes: [UInt8] = try sample.serializedBytes()
        #expect(!bytes.isEmpty)
        #expect(try type.init(serializedBytes: bytes).isEqualTo(message: sample), "\(type.protoMessageName) binary")
        let json = try sample.jsonString()
        #expect(try type.init(jsonString: json).isEqualTo(message: sample), "\(type.protoMessageName) JSON")
    }

    @Test("the samples cover every message in Contracts/ and every field of each")
    func samplesCoverContracts() throws {
        let image = try ProtoCompiler().descriptorSet(root: ContractsFolder.root)
        var fieldsByMessage: [String: Set<String>] = [:]
        for file in image.file {
            for message in file.messageType {
                fieldsByMessage["\(file.package).\(message.name)"] = Set(message.field.map(\.name))
            }
        }
        var seen: [String: Set<String>] = [:]
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        for sample in ContractSamples.all {
            let json = try sample.jsonString(options: options)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            seen[Swift.type(of: sample).protoMessageName, default: []].formUnion(object.keys)
        }
        #expect(Set(seen.keys) == Set(fieldsByMessage.keys), "messages without a sample")
        for (message, fields) in fieldsByMessage {
            #expect(seen[message] == fields, "\(message): fields without a non-default sample value")
        }
    }
}
