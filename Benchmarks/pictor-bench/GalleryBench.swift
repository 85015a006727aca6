import App
import AsyncHTTPClient
import Fluent
import Foundation
import NIOCore
import NIOHTTP1
import SQLKit

// The gallery of a person with 100,000 generations: a page of 50 through the real HTTP server,
// signed in with a session like a browser. Server time is read from each answer's
// `Server-Timing` header (the request's time inside Pictor, without the client's share of the
// two cores); the same pages for a person with 50 generations, measured in the same run, are
// the baseline.

/// A browser-like session on a bench service: signs in through the login form.
struct BenchSession {
    let service: BenchService
    let cookie: String

    static func signIn(_ service: BenchService, email: String, password: String, client: HTTPClient) async throws -> BenchSession {
        let form = try await client.execute(HTTPClientRequest(url: service.base + "/login"), timeout: .seconds(30))
        let html = String(buffer: try await form.body.collect(upTo: 1 << 20))
        let visitor = cookies(form.headers)
        guard let csrf = html.components(separatedBy: #"name="_csrf" value=""#).dropFirst().first?.prefix(while: { $0 != "\"" }) else {
            throw BenchError("the login form has no CSRF token")
        }
        var post = HTTPClientRequest(url: service.base + "/login")
        post.method = .POST
        post.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        post.headers.add(name: "Cookie", value: visitor)
        let body = ["email": email, "password": password, "_csrf": String(csrf)]
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.value)" }.joined(separator: "&")
        post.body = .bytes(ByteBuffer(string: body))
        let answer = try await client.execute(post, timeout: .seconds(30))
        let page = String(buffer: try await answer.body.collect(upTo: 1 << 20))
        let session = cookies(answer.headers)
        guard answer.status == .seeOther, !session.isEmpty else {
            let problem = page.components(separatedBy: #"class="field-error""#).dropFirst().first?.prefix(200) ?? ""
            throw BenchError("sign-in answered \(answer.status): \(problem)")
        }
        return BenchSession(service: service, cookie: session)
    }

    private static func cookies(_ headers: HTTPHeaders) -> String {
        headers["Set-Cookie"].compactMap { $0.split(separator: ";").first.map(String.init) }.joined(separator: "; ")
    }

    /// GETs `path`; returns (server ms from Server-Timing, round trip ms, body).
    func get(_ path: String, client: HTTPClient) async throws -> (server: Double, total: Double, body: String) {
        var request = HTTPClientRequest(url: service.base + path)
        request.headers.add(name: "Cookie", value: cookie)
        let start = ContinuousClock.now
        let response = try await client.execute(request, timeout: .seconds(60))
        let body = String(buffer: try await response.body.collect(upTo: 16 << 20))
        let total = seconds(since: start) * 1000
        guard response.status == .ok else { throw BenchError("\(path) answered \(response.status)") }
        let timing = response.headers.first(name: "Server-Timing")?.components(separatedBy: "dur=").last.flatMap(Double.init) ?? .nan
        return (timing, total, body)
    }
}

func galleryBenchmarks() async throws {
    let engines: [(String, String?)] =
        [("SQLite", nil)]
        + (ProcessInfo.processInfo.environment["PICTOR_BENCH_POSTGRES_URL"].map { [("PostgreSQL", $0)] } ?? [])
    // Redirects are not followed: the sign-in's 303 carries the session cookie.
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
    let large = Int(ProcessInfo.processInfo.environment["PICTOR_BENCH_GALLERY_SIZE"] ?? "") ?? 100_000
    let runs = 200
    print("\n## Gallery (page of 50, signed in, \(runs) requests each; server time from Server-Timing)\n")
    print("| page | engine | 50 generations: p50 / p99 ms | \(large) generations: p50 / p99 ms | ratio (p50) |")
    print("| --- | --- | --- | --- | --- |")
    for (engine, url) in engines {
        let service = try await BenchService.start(database: url, workers: 0)
        let password = "bench-violet-harbour-lantern"
        let small = "small-\(UUID().uuidString.prefix(6))@example.com"
        try await OperatorTools.createAccount(email: small, password: password, administrator: false, app: service.app)
        let filling = ContinuousClock.now
        let bigEmail = service.email
        try await GalleryFixtures.insert(count: large, forEmail: bigEmail, app: service.app)
        try await GalleryFixtures.insert(count: 50, forEmail: small, app: service.app)
        // PostgreSQL: fresh statistics, as autovacuum soon gathers them; without this the first
        // pages measured met the analyse running in the background. SQLite: nothing, as in a
        // Pictor install, which never runs ANALYZE (with it, one-word search took 15 ms, not 6).
        try await service.analyze()
        let filled = seconds(since: filling)
        let bigSession = try await BenchSession.signIn(service, email: bigEmail, password: password, client: client)
        let smallSession = try await BenchSession.signIn(service, email: small, password: password, client: client)

        let pages: [(String, String)] = [
            ("first page, newest first", "/gallery"),
            ("search: one word (in 1 prompt of 20)", "/gallery?q=lighthouse"),
            ("search: two words (1 in 140)", "/gallery?q=lighthouse+dusk"),
            ("favourites only (1 in 100)", "/gallery?favourites=1"),
            ("status and model filter", "/gallery?status=succeeded&model=builtin"),
            ("API list, 50", "/api/v1/generations?limit=50"),
        ]
        for (name, path) in pages {
            let baseline = try await measurePage(smallSession, path: path, runs: runs, client: client)
            let measured = try await measurePage(bigSession, path: path, runs: runs, client: client)
            print(
                String(
                    format: "| %@ | %@ | %.2f / %.2f | %.2f / %.2f | %.2f× |", name, engine,
                    baseline.p50, baseline.p99, measured.p50, measured.p99, measured.p50 / baseline.p50))
        }
        // Deep pages: follow "Older images" 20 times from the top, then time the page found there.
        var path = "/gallery"
        for _ in 0..<20 {
            let body = try await bigSession.get(path, client: client).body
            guard
                let next = body.components(separatedBy: #"id="older""#).first?.components(separatedBy: #"href=""#).last?
                    .prefix(while: { $0 != "\"" })
            else { break }
            path = next.replacingOccurrences(of: "&amp;", with: "&")
        }
        let deep = try await measurePage(bigSession, path: path, runs: runs, client: client)
        let top = try await measurePage(bigSession, path: "/gallery", runs: runs, client: client)
        print(
            String(
                format: "| page 21 (after 1,000 newer) vs page 1 | %@ | %.2f / %.2f (page 1) | %.2f / %.2f | %.2f× |", engine,
                top.p50, top.p99, deep.p50, deep.p99, deep.p50 / top.p50))
        print(String(format: "| (filling %d generations + images took %.1f s) | %@ | | | |", large, filled, engine))
        try await service.stop()
    }
    try await client.shutdown()
}

func measurePage(_ session: BenchSession, path: String, runs: Int, client: HTTPClient) async throws -> (p50: Double, p99: Double) {
    for _ in 0..<10 { _ = try await session.get(path, client: client) }
    var server: [Double] = []
    for _ in 0..<runs { server.append(try await session.get(path, client: client).server) }
    return (percentile(server, 0.5), percentile(server, 0.99))
}

extension BenchService {
    func analyze() async throws {
        guard let sql = app.db as? any SQLDatabase, sql.dialect.name == "postgresql" else { return }
        try await sql.raw("VACUUM ANALYZE").run()
    }
}
