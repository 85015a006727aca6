import AsyncHTTPClient
import Domain
import Foundation
import NIOCore
import Testing
import Vapor
import VaporTesting

@testable import App

@Suite struct HealthTests {
    @Test func healthzSaysUp() async throws {
        try await withPictor { app in
            try await app.testing().test(.GET, "/healthz") { res in
                #expect(res.status == .ok)
                #expect(res.text == #"{"checks":{},"status":"up"}"# || res.text.contains(#""status":"up""#))
            }
        }
    }

    @Test func readyzChecksDatabaseAndBlobStore() async throws {
        try await withPictor { app in
            try await app.testing().test(.GET, "/readyz") { res in
                #expect(res.status == .ok)
                let status = try res.content.decode(HealthController.Status.self)
                #expect(status.status == "ready")
                #expect(status.checks == ["database": "ok", "blobs": "ok"])
                #expect(res.headers.first(name: .cacheControl) == "no-store")
            }
        }
    }

    @Test func readyzFailsWhenBlobStoreCannotBeWritten() async throws {
        try await withPictor { app in
            // Replace the blob directory with a plain file: every write now fails.
            let blobs = app.pictor.config.blobDirectory
            try FileManager.default.removeItem(atPath: blobs)
            try Data("not a directory".utf8).write(to: URL(fileURLWithPath: blobs))
            try await app.testing().test(.GET, "/readyz") { res in
                #expect(res.status == .serviceUnavailable)
                let status = try res.content.decode(HealthController.Status.self)
                #expect(status.checks == ["database": "ok", "blobs": "failing"])
                #expect(!res.text.contains(blobs), "paths and errors stay in the log")
            }
        }
    }
}

@Suite struct MetricsTests {
    /// Over a real connection from this machine (without a token, /metrics answers nobody else).
    @Test func requestsAreCountedByRoutePatternAndStatus() async throws {
        try await withPictor { app in
            try await app.server.start(address: .hostname("127.0.0.1", port: 0))
            let port = try #require((app.server as? HTTPServer)?.localAddress?.port)
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            func get(_ path: String) async throws -> (HTTPResponseStatus, HTTPHeaders, String) {
                let response = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(10))
                let body = try await response.body.collect(upTo: 1 << 20)
                return (response.status, response.headers, String(buffer: body))
            }
            #expect(try await get("/").0 == .ok)
            #expect(try await get("/").0 == .ok)
            #expect(try await get("/no-such-page-\(UUID())").0 == .notFound)
            let (status, headers, body) = try await get("/metrics")
            #expect(status == .ok)
            #expect(headers.first(name: .contentType) == "text/plain; version=0.0.4; charset=utf-8")
            #expect(body.contains("# TYPE pictor_http_requests_total counter"))
            #expect(body.contains(#"pictor_http_requests_total{method="GET",route="/",status="200"} 2"#))
            #expect(body.contains(#"pictor_http_requests_total{method="GET",route="unmatched",status="404"} 1"#))
            #expect(body.contains("# TYPE pictor_http_request_duration_seconds histogram"))
            #expect(body.contains(#"pictor_http_request_duration_seconds_count{method="GET",route="/",status="200"} 2"#))
            #expect(body.contains(#"pictor_http_request_duration_seconds_bucket{method="GET",route="/",status="200",le="+Inf"} 2"#))
            #expect(!body.contains("no-such-page"), "raw paths never become labels")
            try await client.shutdown()
            await app.server.shutdown()
        }
    }

    /// Without METRICS_TOKEN, /metrics is for this machine only: not for another address, and
    /// not behind a proxy (whose connections all come from the proxy).
    @Test func withoutATokenMetricsAnswerOnlyLoopback() async throws {
        #expect(HealthController.isLoopback(try SocketAddress(ipAddress: "127.0.0.1", port: 1)))
        #expect(HealthController.isLoopback(try SocketAddress(ipAddress: "::1", port: 1)))
        #expect(!HealthController.isLoopback(try SocketAddress(ipAddress: "192.0.2.7", port: 1)))
        #expect(!HealthController.isLoopback(nil))
        try await withPictor { app in
            let remote = Request(
                application: app, method: .GET, url: "/metrics", remoteAddress: try SocketAddress(ipAddress: "192.0.2.7", port: 4000),
                on: app.eventLoopGroup.next())
            await #expect(throws: AccessError.self) { try await HealthController.metrics(req: remote) }
            let local = Request(
                application: app, method: .GET, url: "/metrics", remoteAddress: try SocketAddress(ipAddress: "127.0.0.1", port: 4000),
                on: app.eventLoopGroup.next())
            #expect(try await HealthController.metrics(req: local).status == .ok)
            // A proxy on this machine connects from loopback as well; its forwarding header gives it away.
            let forwarded = Request(
                application: app, method: .GET, url: "/metrics", headers: ["X-Forwarded-For": "198.51.100.7"],
                remoteAddress: try SocketAddress(ipAddress: "127.0.0.1", port: 4000), on: app.eventLoopGroup.next())
            await #expect(throws: AccessError.self) { try await HealthController.metrics(req: forwarded) }
        }
        try await withPictor({ $0.trustProxy = true }) { app in
            let proxied = Request(
                application: app, method: .GET, url: "/metrics", remoteAddress: try SocketAddress(ipAddress: "127.0.0.1", port: 4000),
                on: app.eventLoopGroup.next())
            await #expect(throws: AccessError.self) { try await HealthController.metrics(req: proxied) }
        }
    }

    @Test func metricsTokenIsRequiredWhenSet() async throws {
        try await withPictor({ $0.metricsToken = "scrape-me" }) { app in
            let tester = try app.testing()
            try await tester.test(.GET, "/metrics") { #expect($0.status == .unauthorized) }
            try await tester.test(.GET, "/metrics", headers: ["Authorization": "Bearer wrong"]) {
                #expect($0.status == .unauthorized)
            }
            try await tester.test(.GET, "/metrics", headers: ["Authorization": "Bearer scrape-me"]) {
                #expect($0.status == .ok)
            }
        }
    }
}
