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
        .library(name: "XYContracts", targets: ["XYContracts"]),
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
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            path: "Libraries/CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .target(
            name: "NKeys",
            dependencies: ["CSodium"],
            path: "Libraries/NKeys"
        ),
        .target(
            name: "NATS",
            dependencies: [
                "NKeys",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            path: "Libraries/NATS",
            swiftSettings: [
                // The publish and delivery paths touch lock-protected class state per message; the
                // lock already guarantees exclusive access, and the runtime check measured ~15 % of
                // publish time. Release builds only: debug builds keep every check.
                .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
            ]
        ),
        .target(
            name: "XYContracts",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Libraries/XYContracts"
        ),
        .target(
            name: "XYContractsCheck",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Libraries/XYContractsCheck"
        ),
        .target(
            name: "GatewayAuth",
            dependencies: [
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Libraries/GatewayAuth"
        ),
        .executableTarget(
            name: "CLI",
            dependencies: [
                "NATS",
                "GatewayAuth",
                "NKeys",
                "XYContracts",
                "XYContractsCheck",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            path: "Services/CLI"
        ),
        .executableTarget(
            name: "NATSParserFuzz",
            dependencies: ["NATS"],
            path: "Tests/Fuzz/NATSParserFuzz"
        ),
        .target(
            name: "NATSTestSupport",
            dependencies: ["NKeys"],
            path: "Tests/NATSTestSupport"
        ),
        .testTarget(
            name: "NATSTestSupportTests",
            dependencies: ["NATSTestSupport", "NKeys"],
            path: "Tests/NATSTestSupportTests"
        ),
        .testTarget(
            name: "NKeysTests",
            dependencies: ["NKeys"],
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
            name: "XYContractsCheckTests",
            dependencies: ["XYContractsCheck", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Tests/XYContractsCheckTests",
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "GatewayAuthTests",
            dependencies: [
                "GatewayAuth",
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
                "GatewayAuth",
                "NATSTestSupport",
                "NATS",
                "XYContracts",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Tests/CLITests"
        ),
    ]
)
