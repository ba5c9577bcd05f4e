// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Socle",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "socle", targets: ["socle"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // OTLP over HTTP only: the gRPC exporter's dependencies would double the build.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        .target(name: "JSONCore", swiftSettings: strict),
        // The system's zlib: versions' documents stored compressed on SQLite (Storage, StoredDocument).
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "OpenEHR", dependencies: ["JSONCore"], swiftSettings: strict),
        .target(name: "AQL", dependencies: ["OpenEHR", "JSONCore"], swiftSettings: strict),
        .target(name: "Templates", dependencies: ["OpenEHR", "JSONCore"], swiftSettings: strict),
        .target(name: "FHIR", dependencies: ["JSONCore"], swiftSettings: strict),
        .target(name: "ShippedMappings", swiftSettings: strict),
        .target(
            name: "Mappings", dependencies: ["OpenEHR", "Templates", "FHIR", "JSONCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict),
        .target(
            name: "Storage",
            dependencies: [
                "OpenEHR",
                "AQL",
                "FHIR",
                "JSONCore",
                "CZlib",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Services",
            dependencies: [
                "OpenEHR", "Templates", "AQL", "FHIR", "Mappings", "Storage", "JSONCore", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Server",
            dependencies: [
                "Services",
                "ShippedMappings",
                "Templates",
                "FHIR",
                "Mappings",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
            ],
            swiftSettings: strict
        ),
        .target(name: "SocleDataSet", dependencies: ["Server", "Services", "OpenEHR", "JSONCore"], swiftSettings: strict),
        .executableTarget(
            name: "socle",
            dependencies: [
                "Server", "OpenEHR", "Storage", "JSONCore", "Templates", "FHIR", "AQL", "Mappings", "SocleDataSet", "ShippedMappings",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "SocleTestSupport",
            dependencies: ["Storage", "Templates", "JSONCore", .product(name: "Logging", package: "swift-log")],
            path: "Tests/SocleTestSupport",
            swiftSettings: strict
        ),
        .testTarget(name: "JSONCoreTests", dependencies: ["JSONCore"], swiftSettings: strict),
        .testTarget(name: "SocleDataSetTests", dependencies: ["SocleDataSet", "Server", "Storage", "SocleTestSupport"], swiftSettings: strict),
        .testTarget(name: "OpenEHRTests", dependencies: ["OpenEHR", "JSONCore", "SocleTestSupport"], swiftSettings: strict),
        .testTarget(name: "AQLTests", dependencies: ["AQL", "OpenEHR", "JSONCore", "SocleTestSupport"], swiftSettings: strict),
        .testTarget(name: "FHIRTests", dependencies: ["FHIR", "JSONCore", "Templates", "SocleTestSupport"], swiftSettings: strict),
        .testTarget(name: "MappingsTests", dependencies: ["Mappings", "Templates", "OpenEHR", "JSONCore", "SocleTestSupport"], swiftSettings: strict),
        .testTarget(name: "TemplatesTests", dependencies: ["Templates", "OpenEHR", "SocleTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "ServicesTests", dependencies: ["Services", "Storage", "AQL", "OpenEHR", "JSONCore", "SocleTestSupport"], swiftSettings: strict),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "OpenEHR", "AQL", "JSONCore", "SocleTestSupport", .product(name: "GRDB", package: "GRDB.swift")], swiftSettings: strict),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Services", "Storage", "OpenEHR", "JSONCore", "Templates", "SocleTestSupport", "ShippedMappings",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
    ]
)
