import Foundation
import SwiftProtobuf
import XYContracts

/// How `xy req` shows a reply to a person: the Protobuf message its `Xy-Schema` header names as
/// JSON, UTF-8 text as it is, anything else as base64, so binary never reaches a terminal raw.
/// `--raw` bypasses this and writes the bytes unchanged (for pipes).
enum ReplyFormat {
    /// What to print on stdout, and an optional note for stderr (why it is not JSON or text).
    struct Shown: Equatable {
        var text: String
        var note: String?
    }

    /// The messages an `Xy-Schema` header may name, by full Protobuf name (`xy.md.v1.Snapshot`).
    static let schemas: [String: any SwiftProtobuf.Message.Type] = {
        let types: [any SwiftProtobuf.Message.Type] = [
            Xy_Md_V1_TickBatch.self, Xy_Md_V1_Snapshot.self, Xy_Md_V1_SnapshotRequest.self, Xy_Md_V1_SymbolTick.self,
            Xy_Md_V1_Bar.self, Xy_Md_V1_BarCheckpoint.self, Xy_Md_V1_MarketEvent.self, Xy_Exec_V1_Health.self,
            Xy_Session_V1_SessionEvent.self, Xy_Flags_V1_FeatureFlag.self, Xy_Gateway_V1_ClientRequest.self,
            Xy_Gateway_V1_ServerMessage.self, Xy_Gateway_V1_Control.self,
        ]
        return Dictionary(uniqueKeysWithValues: types.map { ($0.protoMessageName, $0) })
    }()

    /// The reply as a person reads it.
    static func show(_ payload: [UInt8], schema: String?) -> Shown {
        var note: String?
        if let schema {
            if let type = schemas[schema] {
                do {
                    let message = try type.init(serializedBytes: payload)
                    return Shown(text: try message.jsonString())
                } catch {
                    note = "the reply does not decode as \(schema) (\(error)); shown as it is"
                }
            } else {
                note = "unknown Xy-Schema '\(schema)'; shown as it is"
            }
        }
        if let text = readableText(payload) { return Shown(text: text, note: note) }
        let binary = "\(payload.count) bytes that are not text, shown as base64 (--raw writes them unchanged)"
        return Shown(text: "base64:" + Data(payload).base64EncodedString(), note: note.map { $0 + "; " + binary } ?? binary)
    }

    /// The bytes as a string when they are UTF-8 without control characters other than tab,
    /// line feed and carriage return (which a terminal would act on, or which mean binary).
    static func readableText(_ payload: [UInt8]) -> String? {
        guard let text = String(validating: payload, as: UTF8.self) else { return nil }
        let controls = text.unicodeScalars.contains { scalar in
            (scalar.value < 0x20 && scalar != "\t" && scalar != "\n" && scalar != "\r") || (0x7F...0x9F).contains(scalar.value)
        }
        return controls ? nil : text
    }
}
