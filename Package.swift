// swift-tools-version: 6.1
// The whole xy stack is one SwiftPM package; layout in ../shared/ARCHITECTURE.md.
import PackageDescription

let package = Package(
    name: "xy",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "xy", targets: ["CLI"]),
        .library(name: "NATS", targets: ["NATS"]),
        .library(name: "NKeys", targets: ["NKeys"]),
        .library(name: "XYCore", targets: ["XYCore"]),
        .library(name: "XYContracts", targets: ["XYContracts"]),
        .library(name: "XYService", targets: ["XYService"]),
        .library(name: "Upstream", targets: ["Upstream"]),
        .library(name: "PolygonSim", targets: ["PolygonSim"]),
        .executable(name: "xy-realtime", targets: ["Realtime"]),
        .library(name: "MarketData", targets: ["MarketData"]),
        .library(name: "Aggregator", targets: ["Aggregator"]),
        .executable(name: "xy-aggregator", targets: ["XYAggregator"]),
        .library(name: "Gateway", targets: ["Gateway"]),
        .executable(name: "xy-gateway", targets: ["XYGateway"]),
        .executable(name: "xy-admin", targets: ["XYAdmin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        // Only 1.39.0 is mirrored here; no traits, so SwiftPM does not rebuild it on every other run.
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0", traits: []),
        // Service runtime (issue 5): HTTP for /metrics and /healthz and the simulator, WebSocket
        // client and server, Prometheus through swift-metrics, graceful shutdown.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        // SHA-1 of the WebSocket handshake (the gateway does the RFC 6455 handshake itself).
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        // xy-admin's REST API (issue 17): the code swift-openapi-generator 1.14.3 made from
        // Api/openapi.yaml is committed (make openapi), so only the runtime and the Hummingbird
        // transport are built here. No traits, like hummingbird above.
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.4", traits: []),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird.git", from: "2.1.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            path: "Libraries/CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // The one home of the small utilities every other module used to write for itself: error
        // codes, the environment reader, backoff, base64url, JSON string escaping, clocks.
        // A leaf: the standard library only, so pure state machines can use it without pulling
        // a server runtime in.
        .target(
            name: "XYCore",
            path: "Libraries/XYCore"
        ),
        .target(
            name: "NKeys",
            dependencies: ["CSodium", "XYCore"],
            path: "Libraries/NKeys"
        ),
        .target(
            name: "NATS",
            dependencies: [
                "NKeys",
                "XYCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            // No unsafeFlags (other packages may depend on NATS): the per-message state that a lock
            // or the event loop already makes exclusive is @exclusivity(unchecked) in the code
            // (NATSClient, NATSSubscription, NATSChannelHandler, ConsumerBatch), and the parser
            // reads each message's bytes in one look; numbers in docs/benchmarks.md.
            path: "Libraries/NATS"
        ),
        // No unsafeFlags here (other packages depend on the contracts): scripts/contracts.sh marks the
        // generated messages' storage fields @exclusivity(unchecked) instead.
        .target(
            name: "XYContracts",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Libraries/XYContracts"
        ),
        .target(
            name: "MarketData",
            dependencies: ["XYContracts", "XYCore"],
            path: "Libraries/MarketData"
        ),
        // `xy demo ticks`'s random walk of tick batches: demo traffic, not a contract.
        .target(
            name: "DemoTicks",
            dependencies: ["PolygonSim", "XYContracts"],
            path: "Libraries/DemoTicks"
        ),
        .target(
            name: "XYContractsCheck",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Libraries/XYContractsCheck"
        ),
        .target(
            name: "XYService",
            dependencies: [
                "NATS",
                "XYContracts",
                "XYCore",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Libraries/XYService"
        ),
        .target(
            name: "PolygonSim",
            dependencies: [
                "XYCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Libraries/PolygonSim"
        ),
        .target(
            name: "Upstream",
            dependencies: [
                "NATS",
                "XYContracts",
                "XYCore",
                "XYService",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            path: "Libraries/Upstream"
        ),
        .executableTarget(
            name: "Realtime",
            dependencies: [
                "NATS",
                "Upstream",
                "XYCore",
                "XYService",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/Realtime"
        ),
        // One HTTP/1.1 GET per connection under one deadline and a body cap: the gateway's JWKS
        // fetches and xy-admin's vendor REST calls (issue 16: one home). A module of its own rather
        // than a type in GatewayAuth, so a REST client does not depend on token verification.
        .target(
            name: "HTTPGet",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Libraries/HTTPGet"
        ),
        .target(
            name: "GatewayAuth",
            dependencies: [
                "HTTPGet",
                "XYCore",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Libraries/GatewayAuth"
        ),
        .target(
            name: "Gateway",
            dependencies: [
                "GatewayAuth",
                "MarketData",
                "NATS",
                "XYContracts",
                "XYCore",
                "XYService",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Libraries/Gateway"
        ),
        .target(
            name: "GatewayClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Libraries/GatewayClient"
        ),
        .executableTarget(
            name: "XYGateway",
            dependencies: [
                "Gateway",
                "GatewayAuth",
                "NATS",
                "XYCore",
                "XYService",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Services/Gateway"
        ),
        .target(
            name: "Aggregator",
            dependencies: [
                "MarketData",
                "NATS",
                "XYContracts",
                "XYCore",
                "XYService",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Libraries/Aggregator"
        ),
        .executableTarget(
            name: "XYAggregator",
            dependencies: [
                "Aggregator",
                "NATS",
                "XYCore",
                "XYService",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/Aggregator"
        ),
        // The generated types and server stubs of Api/openapi.yaml (make openapi; never edited by hand).
        .target(
            name: "AdminAPI",
            dependencies: [
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Libraries/AdminAPI",
            // The generator's empty per-component files import modules they do not use; the code
            // is not ours to edit, and our own targets keep every warning.
            swiftSettings: [.unsafeFlags(["-suppress-warnings"])]
        ),
        .target(
            name: "Admin",
            dependencies: [
                "XYCore",
                "XYContracts",
                "AdminAPI",
                "Aggregator",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                "CSodium",
                "GatewayAuth",
                "HTTPGet",
                "NATS",
                "XYService",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Libraries/Admin"
        ),
        .executableTarget(
            name: "XYAdmin",
            dependencies: [
                "XYCore",
                "Admin",
                "NATS",
                "XYService",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/Admin"
        ),
        .executableTarget(
            name: "CLI",
            dependencies: [
                "DemoTicks",
                "GatewayClient",
                "NATS",
                "GatewayAuth",
                "NKeys",
                "XYContracts",
                "XYContractsCheck",
                "PolygonSim",
                "MarketData",   // ProtobufWireReader, for `xy bench events`
                "XYCore",       // duration parsing shared with the services' variables
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            path: "Services/CLI"
        ),
        .executableTarget(
            name: "AggregatorBench",
            dependencies: [
                "MarketData",
                "XYContracts",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Tests/Bench/AggregatorBench"
        ),
        // The aggregator end to end (scripts/bench-aggregator-e2e.sh): publishes the bytes
        // xy-realtime would (MarketEventWireEncoder) and reads the tick batches back.
        .executableTarget(
            name: "AggregatorE2EBench",
            dependencies: [
                "MarketData",
                "NATS",
                "Upstream",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/Bench/AggregatorE2EBench"
        ),
        .executableTarget(
            name: "NATSParserFuzz",
            dependencies: ["NATS"],
            path: "Tests/Fuzz/NATSParserFuzz"
        ),
        .target(
            name: "NATSTestSupport",
            // NATSJWT issues the operator-mode tokens tests run nats-server with (SHA-256 for jti).
            dependencies: ["NKeys", "XYCore", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/NATSTestSupport"
        ),
        .testTarget(
            name: "NATSTestSupportTests",
            dependencies: ["NATSTestSupport", "NKeys", "XYCore", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/NATSTestSupportTests"
        ),
        .testTarget(
            name: "XYCoreTests",
            dependencies: ["XYCore"],
            path: "Tests/XYCoreTests"
        ),
        .testTarget(
            name: "NKeysTests",
            dependencies: ["NKeys", "XYCore"],
            path: "Tests/NKeysTests"
        ),
        .testTarget(
            name: "NATSTests",
            dependencies: [
                "NATS",
                "NKeys",
                "NATSTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Tests/NATSTests"
        ),
        .testTarget(
            name: "XYContractsTests",
            dependencies: ["XYContracts", "XYContractsCheck", "NATSTestSupport", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Tests/XYContractsTests"
        ),
        .testTarget(
            name: "MarketDataTests",
            dependencies: ["MarketData", "XYContracts", "XYCore"],
            path: "Tests/MarketDataTests"
        ),
        .testTarget(
            name: "XYContractsCheckTests",
            dependencies: ["XYContractsCheck", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Tests/XYContractsCheckTests",
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway",
                "GatewayAuth",
                "GatewayClient",
                "NATS",
                "NATSTestSupport",
                "XYContracts",
                "XYCore",
                "XYService",
                .product(name: "NIOCore", package: "swift-nio"),
                // The handler tier: the HTTP handler, the upgrade pipeline and WebSocketSession on EmbeddedChannel.
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Tests/GatewayTests"
        ),
        .testTarget(
            name: "GatewayAuthTests",
            dependencies: [
                "GatewayAuth",
                "HTTPGet",
                "XYCore",
                "NATSTestSupport",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Tests/GatewayAuthTests"
        ),
        .testTarget(
            name: "CLITests",
            dependencies: [
                "DemoTicks",
                "GatewayAuth",
                "NATSTestSupport",
                "NATS",
                "XYContracts",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Tests/CLITests"
        ),
        .testTarget(
            name: "XYServiceTests",
            dependencies: [
                "XYService",
                "XYCore",
                "NATS",
                "NATSTestSupport",
                "XYContracts",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Tests/XYServiceTests"
        ),
        .testTarget(
            name: "UpstreamTests",
            dependencies: [
                "Upstream",
                "PolygonSim",
                "XYContracts",
                "NATS",
                "NATSTestSupport",
                "XYCore",
                "XYService",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "WSClient", package: "swift-websocket"),
            ],
            path: "Tests/UpstreamTests"
        ),
        .testTarget(
            name: "RealtimeTests",
            dependencies: [
                "NATS",
                "NATSTestSupport",
                "XYContracts",
                "PolygonSim",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Tests/RealtimeTests"
        ),
        .testTarget(
            name: "AggregatorTests",
            dependencies: [
                "Aggregator",
                "MarketData",
                "NATS",
                "NATSTestSupport",
                "XYContracts",
                "XYCore",
                "XYService",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Tests/AggregatorTests"
        ),
        .testTarget(
            name: "AdminTests",
            dependencies: [
                "XYCore",
                "XYContracts",
                "Admin",
                "Aggregator",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                "GatewayAuth",
                "GatewayClient",
                "NATS",
                "NATSTestSupport",
                "PolygonSim",
                "XYService",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Tests/AdminTests"
        ),
    ]
)
