import Testing
import XYCore

@Suite("Environment reader")
struct EnvironmentReaderTests {
    static let port = EnvironmentVariable("PORT", default: "80", help: "A port.")
    static let key = EnvironmentVariable("API_KEY", required: true, secret: true, help: "A secret.")
    static let optional = EnvironmentVariable("NOTE", help: "Optional, no default.")

    @Test("unset or empty reads the default; a required variable without one is named")
    func defaultsAndRequired() throws {
        #expect(try EnvironmentReader([:]).integer(Self.port, in: 1...65535) == 80)
        #expect(try EnvironmentReader(["PORT": ""]).integer(Self.port, in: 1...65535) == 80)
        #expect(try EnvironmentReader(["PORT": " 8080 "]).integer(Self.port, in: 1...65535) == 8080)
        #expect(try EnvironmentReader([:]).string(Self.optional) == nil)
        #expect(throws: ConfigurationError(variable: "API_KEY", reason: "is required but not set")) {
            try EnvironmentReader([:]).string(Self.key)
        }
    }

    @Test("a bad value names its variable, and a secret's value is never repeated")
    func badValues() {
        #expect { try EnvironmentReader(["PORT": "70000"]).integer(Self.port, in: 1...65535) } throws: { error in
            (error as? ConfigurationError)?.variable == "PORT" && "\(error)".contains("70000")
        }
        let secret = EnvironmentVariable("TOKEN_TTL", secret: true, help: "")
        #expect { try EnvironmentReader(["TOKEN_TTL": "hunter2hunter2"]).integer(secret, in: 0...10) } throws: { error in
            !"\(error)".contains("hunter2")
        }
        #expect { try EnvironmentReader(["NOTE": "/nonexistent/file"]).file(Self.optional) } throws: { error in
            (error as? ConfigurationError)?.variable == "NOTE"
        }
    }

    @Test("lists drop blanks and spaces around entries")
    func lists() throws {
        #expect(try EnvironmentReader(["NOTE": " a ,b,, c "]).list(Self.optional) == ["a", "b", "c"])
        #expect(try EnvironmentReader([:]).list(Self.optional) == [])
    }

    @Test("durations in the units operators write")
    func durations() throws {
        #expect(Duration(parsing: "250ms") == .milliseconds(250))
        #expect(Duration(parsing: "1.5s") == .milliseconds(1500))
        #expect(Duration(parsing: "2m") == .seconds(120))
        #expect(Duration(parsing: "1h") == .seconds(3600))
        #expect(Duration(parsing: "250us") == .microseconds(250) && Duration(parsing: "3µs") == .microseconds(3))
        #expect(Duration(parsing: "3") == .seconds(3) && Duration(parsing: " 0 ") == .zero)
        for bad in ["-1s", "fast", "", "ms", "1e300h", "nan", "5 parsecs"] {
            #expect(Duration(parsing: bad) == nil, "\(bad)")
        }
        let interval = EnvironmentVariable("INTERVAL", default: "5s", help: "")
        #expect(try EnvironmentReader([:]).duration(interval) == .seconds(5))
        #expect(throws: ConfigurationError.self) { try EnvironmentReader(["INTERVAL": "0s"]).duration(interval) }
    }
}

@Suite("Configuration defaults")
struct ConfigurationDefaultsTests {
    static let interval = EnvironmentVariable("INTERVAL", default: "250ms", help: "")

    @Test("a configuration read from no environment holds its variables' defaults")
    func defaults() {
        let read = EnvironmentReader.defaults { environment throws(ConfigurationError) in
            try environment.duration(Self.interval)
        }
        #expect(read == .milliseconds(250))
    }

    @Test("a default that does not parse stops the process instead of running misconfigured")
    func badDefaultStops() async {
        await #expect(processExitsWith: .failure) {
            let broken = EnvironmentVariable("BROKEN", default: "soon", help: "")
            _ = EnvironmentReader.defaults { environment throws(ConfigurationError) in
                try environment.duration(broken)
            }
        }
    }
}
