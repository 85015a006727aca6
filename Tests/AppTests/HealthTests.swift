@testable import App
import Foundation
import Testing
import VaporTesting

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
    @Test func requestsAreCountedByRoutePatternAndStatus() async throws {
        try await withPictor { app in
            let tester = try app.testing()
            try await tester.test(.GET, "/") { #expect($0.status == .ok) }
            try await tester.test(.GET, "/") { #expect($0.status == .ok) }
            try await tester.test(.GET, "/no-such-page-\(UUID())") { #expect($0.status == .notFound) }
            try await tester.test(.GET, "/metrics") { res in
                #expect(res.status == .ok)
                #expect(res.headers.first(name: .contentType) == "text/plain; version=0.0.4; charset=utf-8")
                let body = res.text
                #expect(body.contains("# TYPE pictor_http_requests_total counter"))
                #expect(body.contains(#"pictor_http_requests_total{method="GET",route="/",status="200"} 2"#))
                #expect(body.contains(#"pictor_http_requests_total{method="GET",route="unmatched",status="404"} 1"#))
                #expect(body.contains("# TYPE pictor_http_request_duration_seconds histogram"))
                #expect(body.contains(#"pictor_http_request_duration_seconds_count{method="GET",route="/",status="200"} 2"#))
                #expect(body.contains(#"pictor_http_request_duration_seconds_bucket{method="GET",route="/",status="200",le="+Inf"} 2"#))
                #expect(!body.contains("no-such-page"), "raw paths never become labels")
            }
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
