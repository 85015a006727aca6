// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Pictor",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "pictor", targets: ["pictor"])
    ],
    dependencies: [
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.0"),
        .package(url: "https://github.com/vapor/fluent.git", from: "4.13.0"),
        .package(url: "https://github.com/vapor/fluent-sqlite-driver.git", from: "4.9.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
        .package(url: "https://github.com/vapor/leaf.git", from: "4.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/vapor/websocket-kit.git", from: "2.16.0"),
    ],
    targets: [
        // Entrypoint only: read the environment, bootstrap logging, configure, run.
        .executableTarget(
            name: "pictor",
            dependencies: ["App"]
        ),
        // Vapor glue: configuration, routes, middleware, features, commands.
        .target(
            name: "App",
            dependencies: [
                "Domain", "Persistence", "Imaging", "Storage", "Mail", "Providers", "Payments",
                .product(name: "Vapor", package: "vapor"),
                .product(name: "Leaf", package: "leaf"),
                .product(name: "Fluent", package: "fluent"),
                .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Fluent models, migrations (append-only, numbered), queries.
        .target(
            name: "Persistence",
            dependencies: [
                "Domain",
                .product(name: "Fluent", package: "fluent"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
            ]
        ),
        // Pure Swift: decisions, rules, the data inventory. No Vapor, no Fluent.
        .target(name: "Domain"),
        // libvips through a system library and a small C shim (libvips' API is variadic).
        .systemLibrary(
            name: "CVips",
            path: "Sources/Imaging/CVips",
            pkgConfig: "vips",
            providers: [.apt(["libvips-dev"])]
        ),
        .target(
            name: "CVipsShim",
            dependencies: ["CVips"],
            path: "Sources/Imaging/CVipsShim"
        ),
        .target(
            name: "Imaging",
            dependencies: [
                "Domain", "CVipsShim", "CVips",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/Imaging/Imaging"
        ),
        // Blob storage: the BlobStore protocol and its local-directory implementation.
        .target(
            name: "Storage",
            dependencies: [
                "Domain",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Mail: the Mailer protocol, the file outbox, SMTP (STARTTLS, AUTH PLAIN/LOGIN), an HTTP email API.
        .target(
            name: "Mail",
            dependencies: [
                "Domain",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // Image providers: one folder per adapter; the built-in engine needs no network.
        .target(
            name: "Providers",
            dependencies: [
                "Domain", "Imaging",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "WebSocketKit", package: "websocket-kit"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Payments: the PaymentProvider protocol and Money; one folder per adapter (Stripe, Offline).
        .target(
            name: "Payments",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // Repeatable benchmarks: `make bench`.
        .executableTarget(
            name: "pictor-bench",
            dependencies: [
                "Imaging", "CVipsShim", "Providers", "Domain", "App", "Persistence", "Storage", "TestSupport",
                .product(name: "Vapor", package: "vapor"),
                .product(name: "Fluent", package: "fluent"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Benchmarks/pictor-bench"
        ),
        // The parsers that read outside bytes, under libFuzzer: `make fuzz` (scripts/fuzz).
        .executableTarget(name: "pictor-fuzz", dependencies: ["Domain"]),
        .testTarget(name: "DomainTests", dependencies: ["Domain"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "CVipsShim", "CVips", "TestSupport"]),
        // Helpers shared by tests and benchmarks: the Python test servers, hand-made PNG bytes.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "PaymentsTests", dependencies: ["Payments"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "TestSupport"]),
        .testTarget(
            name: "MailTests",
            dependencies: ["Mail", "Domain", "TestSupport", .product(name: "NIOEmbedded", package: "swift-nio")]),
        .testTarget(
            name: "ProvidersTests",
            dependencies: [
                "Providers", "Domain", "Imaging", .product(name: "Vapor", package: "vapor"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "AppTests",
            dependencies: [
                "App", "Domain", "Persistence", "Imaging", "Storage", "Payments", "TestSupport",
                .product(name: "VaporTesting", package: "vapor"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
