import Domain
import Fluent
import NIOCore
import Persistence
import Vapor

/// Liveness, readiness and metrics for operators and orchestrators.
enum HealthController {
    struct Status: Content {
        let status: String
        let checks: [String: String]
    }

    /// The process is up and answering.
    @Sendable static func healthz(req: Request) async throws -> Status {
        Status(status: "up", checks: [:])
    }

    /// The database answers and the blob store takes writes; 503 otherwise.
    /// Failures are named, never explained, in the response; the log has the detail.
    @Sendable static func readyz(req: Request) async throws -> Response {
        var checks: [String: String] = [:]
        do {
            try await DatabaseHealth.ping(on: req.db)
            checks["database"] = "ok"
        } catch {
            req.logger.warning("readiness: database unreachable", metadata: ["error": .string("\(error)")])
            checks["database"] = "failing"
        }
        do {
            try await req.pictor.blobs.checkWritable()
            checks["blobs"] = "ok"
        } catch {
            req.logger.warning("readiness: blob store not writable", metadata: ["error": .string("\(error)")])
            checks["blobs"] = "failing"
        }
        let ready = checks.values.allSatisfy { $0 == "ok" }
        let response = Response(status: ready ? .ok : .serviceUnavailable)
        try response.content.encode(Status(status: ready ? "ready" : "not ready", checks: checks))
        response.headers.cacheControl = .init(noStore: true)
        return response
    }

    /// Prometheus text exposition. Guarded by `METRICS_TOKEN` when one is set.
    @Sendable static func metrics(req: Request) async throws -> Response {
        if let token = req.pictor.config.metricsToken {
            let presented = req.headers.bearerAuthorization?.token ?? ""
            guard constantTimeEquals(Array(presented.utf8), Array(token.utf8)) else {
                throw Abort(.unauthorized, reason: "A valid metrics token is required.")
            }
        } else {
            // No token: only for this machine. Behind a proxy every connection is the proxy's, often
            // on loopback itself, so there it needs the token; a forwarding header gives one away.
            let proxied = req.headers.contains(name: "Forwarded") || req.headers.contains(name: "X-Forwarded-For")
            guard !req.pictor.config.trustProxy, !proxied, isLoopback(req.remoteAddress) else { throw AccessError.notFound }
        }
        let response = Response(status: .ok, body: .init(string: req.pictor.metrics.exposition()))
        response.headers.replaceOrAdd(name: .contentType, value: "text/plain; version=0.0.4; charset=utf-8")
        response.headers.cacheControl = .init(noStore: true)
        return response
    }

    /// 127.0.0.0/8, ::1, or an IPv4 loopback address seen through a dual-stack listener.
    static func isLoopback(_ address: SocketAddress?) -> Bool {
        guard let ip = address?.ipAddress else { return false }
        let v4 = ip.hasPrefix("::ffff:") ? String(ip.dropFirst(7)) : ip
        return v4.hasPrefix("127.") || ip == "::1"
    }
}

/// Compares two byte strings in time that depends only on their lengths.
func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in a.indices { difference |= a[index] ^ b[index] }
    return difference == 0
}
