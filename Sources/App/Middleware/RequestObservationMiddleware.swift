import Vapor

/// Times each request, records it in the metrics, and writes one access-log line.
/// Routes are labelled by their pattern (`/generations/:id`), never the raw path,
/// so the number of series stays bounded.
struct RequestObservationMiddleware: AsyncMiddleware {
    let metrics: HTTPMetrics
    /// Adds `Server-Timing` to answers (SERVER_TIMING; off by default).
    var serverTiming = false

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next.respond(to: request)
        } catch {
            // The error middleware sits inside this one, so this is rare: record it as a 500.
            _ = observe(request, status: 500, since: start)
            throw error
        }
        let milliseconds = observe(request, status: response.status.code, since: start)
        // The server's own time, for developer tools and the benchmarks, when the operator asks:
        // otherwise anyone could time the server's work remotely.
        if serverTiming {
            response.headers.replaceOrAdd(name: "Server-Timing", value: String(format: "app;dur=%.2f", milliseconds))
        }
        return response
    }

    /// Records the request and returns how long it took, in milliseconds.
    private func observe(_ request: Request, status: UInt, since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        let route = Self.routeLabel(request)
        metrics.record(method: request.method.rawValue, route: route, status: status, duration: elapsed)
        let milliseconds = elapsed.seconds * 1000
        request.logger.info(
            "request",
            metadata: [
                "method": .string(request.method.rawValue),
                "route": .string(route),
                "status": .stringConvertible(status),
                "duration_ms": .string(String(format: "%.2f", milliseconds)),
            ])
        return milliseconds
    }

    static func routeLabel(_ request: Request) -> String {
        guard let route = request.route else { return "unmatched" }
        return "/" + route.path.map(\.description).joined(separator: "/")
    }
}
