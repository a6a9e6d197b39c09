import Foundation
import Testing
@testable import XYContractsCheck

@Suite("Contracts lint: buf STANDARD rules plus xy's")
struct ContractsLinterTests {
    private func lint(_ files: [String: String]) throws -> [String] {
        let scratch = try ScratchContracts(files)
        return try ContractsWorkspace(root: scratch.root).lint().map { "\($0.file):\($0.line):\($0.column):\($0.ruleID)" }
    }

    @Test("clean contracts produce nothing")
    func clean() throws {
        #expect(try lint(["fx/v1/trade.proto": tradeV1]) == [])
    }

    @Test("names, enum zero values and prefixes follow buf's STANDARD rules")
    func naming() throws {
        let text = """
            syntax = "proto3";

            package fx.v1;

            message trade_event {
              double Price = 1;
              oneof Choice {
                string a = 2;
              }
            }

            enum side {
              BUY = 0;
              side_sell = 1;
            }
            """
        #expect(try lint(["fx/v1/trade.proto": text]) == [
            "fx/v1/trade.proto:5:9:MESSAGE_PASCAL_CASE",
            "fx/v1/trade.proto:6:10:FIELD_LOWER_SNAKE_CASE",
            "fx/v1/trade.proto:7:9:ONEOF_LOWER_SNAKE_CASE",
            "fx/v1/trade.proto:12:6:ENUM_PASCAL_CASE",
            "fx/v1/trade.proto:13:3:ENUM_VALUE_PREFIX",
            "fx/v1/trade.proto:13:3:ENUM_ZERO_VALUE_SUFFIX",
            "fx/v1/trade.proto:14:3:ENUM_VALUE_PREFIX",
            "fx/v1/trade.proto:14:3:ENUM_VALUE_UPPER_SNAKE_CASE",
        ])
    }

    @Test("packages are versioned and match their directory; one package per directory")
    func packages() throws {
        let noVersion = "syntax = \"proto3\";\n\npackage fx;\n\nmessage A {\n  string a = 1;\n}\n"
        let otherPackage = "syntax = \"proto3\";\n\npackage fx.v2;\n\nmessage B {\n  string b = 1;\n}\n"
        #expect(try lint(["fx/v1/a.proto": noVersion, "fx/v1/b.proto": otherPackage]) == [
            "fx/v1/a.proto:3:1:DIRECTORY_SAME_PACKAGE",
            "fx/v1/a.proto:3:1:PACKAGE_DIRECTORY_MATCH",
            "fx/v1/a.proto:3:1:PACKAGE_VERSION_SUFFIX",
            "fx/v1/b.proto:3:1:DIRECTORY_SAME_PACKAGE",
            "fx/v1/b.proto:3:1:PACKAGE_DIRECTORY_MATCH",
        ])
    }

    @Test("times are int64 nanoseconds in *_ns fields, and contracts are proto3")
    func timeConvention() throws {
        let text = """
            syntax = "proto2";

            package fx.v1;

            message Trade {
              optional int64 event_time = 1;
              optional double received_ns = 2;
              optional int64 publish_time_ns = 3;
              optional int64 updated_at = 4;
            }
            """
        #expect(try lint(["fx/v1/trade.proto": text]) == [
            "fx/v1/trade.proto:1:1:XY_SYNTAX_PROTO3",
            "fx/v1/trade.proto:6:18:XY_TIME_NS",
            "fx/v1/trade.proto:7:12:XY_TIME_NS",
            "fx/v1/trade.proto:9:18:XY_TIME_NS",
        ])
    }

    @Test("a file without a syntax statement is flagged; an explicit proto2 one is not SYNTAX_SPECIFIED")
    func syntaxSpecified() throws {
        let body = "package fx.v1;\n\nmessage A {\n  optional string a = 1;\n}\n"
        #expect(try lint(["fx/v1/a.proto": body]) == ["fx/v1/a.proto:1:1:SYNTAX_SPECIFIED", "fx/v1/a.proto:1:1:XY_SYNTAX_PROTO3"])
        #expect(try lint(["fx/v1/a.proto": "syntax = \"proto2\";\n\n" + body]) == ["fx/v1/a.proto:1:1:XY_SYNTAX_PROTO3"])
    }

    @Test("services end in Service and RPCs take <Rpc>Request and return <Rpc>Response")
    func services() throws {
        let text = """
            syntax = "proto3";

            package fx.v1;

            message Query {
              string a = 1;
            }

            message GetResponse {
              string a = 1;
            }

            service Quotes {
              rpc Get(Query) returns (GetResponse);
            }
            """
        #expect(try lint(["fx/v1/quotes.proto": text]) == [
            "fx/v1/quotes.proto:13:9:SERVICE_SUFFIX",
            "fx/v1/quotes.proto:14:11:RPC_REQUEST_STANDARD_NAME",
        ])
    }

    @Test("UPPER_SNAKE prefixes from PascalCase names", arguments: [
        ("BarInterval", "BAR_INTERVAL"), ("HTTPStatus", "HTTP_STATUS"), ("Tape", "TAPE"), ("V2Thing", "V2_THING"),
    ])
    func upperSnake(_ name: String, _ expected: String) {
        #expect(Naming.upperSnakeCase(name) == expected)
    }

    @Test("package versions", arguments: [("v1", true), ("v12", true), ("v1beta1", true), ("v2alpha", true), ("v1test", true), ("v0", false), ("version1", false), ("v", false), ("v1beta01", false)])
    func versions(_ component: String, _ valid: Bool) {
        #expect(Naming.isVersion(component) == valid)
    }
}
