import Foundation
import NIOConcurrencyHelpers
import Vapor

/// A local HTTP server that answers like a provider, and records every request it receives,
/// so adapter tests assert the exact request sent and feed back documented answer shapes.
final class FakeProviderServer: Sendable {
    struct Received: Sendable {
        let method: String
        let path: String
        let query: String?
        let headers: HTTPHeaders
        let body: Data

        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    let app: Application
    let baseURL: String
    private let log = NIOLockedValueBox<[Received]>([])

    var received: [Received] { log.withLockedValue { $0 } }

    private init(app: Application, baseURL: String) {
        self.app = app
        self.baseURL = baseURL
    }

    /// Starts a server whose routes `routes` installs; every request is recorded first.
    static func start(_ routes: (Application) throws -> Void) async throws -> FakeProviderServer {
        let app = try await Application.make(.testing)
        app.logger.logLevel = .critical
        app.routes.defaultMaxBodySize = "64mb"
        let recorder = Recorder()
        app.middleware.use(recorder)
        try routes(app)
        try await app.server.start(address: .hostname("127.0.0.1", port: 0))
        guard let port = (app.server as? HTTPServer)?.localAddress?.port else { throw Abort(.internalServerError) }
        let server = FakeProviderServer(app: app, baseURL: "http://127.0.0.1:\(port)")
        recorder.server.withLockedValue { $0 = server }
        return server
    }

    func stop() async throws {
        await app.server.shutdown()
        try await app.asyncShutdown()
    }

    fileprivate func record(_ request: Request) async throws {
        let body = try await request.body.collect(upTo: 64 * 1_048_576)
        let entry = Received(
            method: request.method.rawValue, path: request.url.path, query: request.url.query, headers: request.headers,
            body: Data(buffer: body))
        log.withLockedValue { $0.append(entry) }
    }

    private final class Recorder: AsyncMiddleware {
        let server = NIOLockedValueBox<FakeProviderServer?>(nil)

        func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
            try await server.withLockedValue { $0 }?.record(request)
            return try await next.respond(to: request)
        }
    }
}

/// Runs `body` with a started fake server, and stops it afterwards.
func withFakeServer<T>(_ routes: (Application) throws -> Void, _ body: (FakeProviderServer) async throws -> T) async throws -> T {
    let server = try await FakeProviderServer.start(routes)
    do {
        let result = try await body(server)
        try await server.stop()
        return result
    } catch {
        try? await server.stop()
        throw error
    }
}
