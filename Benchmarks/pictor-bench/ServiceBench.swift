import App
import AsyncHTTPClient
import Domain
import Fluent
import Foundation
import Imaging
import NIOCore
import Persistence
import Providers
import SQLKit
import Storage
import Synchronization
import Vapor

// The generation service measured through its real front door: HTTP on a loopback port, the
// job queue, the database (SQLite file, or PostgreSQL when PICTOR_BENCH_POSTGRES_URL is set),
// the local blob store (fsync per blob) and the output pipeline.

/// One running Pictor: its own data directory, database and port.
struct BenchService {
    let app: Application
    let base: String
    let key: String
    /// The account the API key belongs to (password "bench-violet-harbour-lantern").
    let email: String
    let directory: URL
    /// How many job workers it runs.
    let workers: Int

    /// `workers` nil: as many job workers as `pictor serve` runs by default.
    static func start(database: String?, workers: Int? = nil, models: ModelCatalog? = nil) async throws -> BenchService {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pictor-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var environment = [
            "DATA_DIR": directory.path, "LOG_LEVEL": "error", "AUTO_MIGRATE": "true",
            // The gallery figures read the server's own time; the throughput runs keep thousands queued.
            "SERVER_TIMING": "true", "MAX_ACTIVE_GENERATIONS_PER_USER": "10000",
            // The throughput runs make far more images than a welcome grant pays for.
            "SIGNUP_GRANT_CREDITS": "1000000",
        ]
        if let workers = workers ?? ProcessInfo.processInfo.environment["JOB_WORKERS"].flatMap(Int.init) {
            environment["JOB_WORKERS"] = "\(workers)"
        }
        if let database { environment["DATABASE_URL"] = database }
        let config = try AppConfig.load(environment: environment)
        let app = try await Application.make(Environment(name: "production", arguments: ["pictor", "serve"]))
        try await configure(app, config: config)
        if let models { app.offer(models) }
        try await app.autoRevert()
        try await app.autoMigrate()
        try await app.asyncBoot()
        try await app.server.start(address: .hostname("127.0.0.1", port: 0))
        guard let port = (app.server as? HTTPServer)?.localAddress?.port else { throw BenchError("the server has no port") }
        let email = "bench-\(UUID().uuidString.prefix(8))@example.com"
        try await OperatorTools.createAccount(email: email, password: "bench-violet-harbour-lantern", administrator: false, app: app)
        let key = try await OperatorTools.createAPIKey(email: email, name: "bench", app: app)
        return BenchService(app: app, base: "http://127.0.0.1:\(port)", key: key, email: email, directory: directory, workers: config.jobWorkers)
    }

    static let leftovers = Mutex<[URL]>([])

    /// Deletes the data directories of every stopped service.
    static func removeLeftovers() {
        for directory in leftovers.withLock({ $0 }) { try? FileManager.default.removeItem(at: directory) }
    }

    func stop() async throws {
        await app.server.shutdown()
        try await app.asyncShutdown()
        // Removed when the benchmark ends, not now: on ext4, creating files shortly after many
        // deletes costs several times more (the allocator skips recently freed inodes), which
        // made the next measure of the same run slower by up to a third.
        BenchService.leftovers.withLock { $0.append(directory) }
    }

    /// Submits one generation and returns its id.
    func submit(_ body: String, client: HTTPClient) async throws -> String {
        var request = HTTPClientRequest(url: base + "/api/v1/generations")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .created else { throw BenchError("submit answered \(response.status): \(String(buffer: bytes))") }
        let json = try JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any]
        return json?["id"] as? String ?? ""
    }

    /// A GET that must answer 200, with the API key when `signedIn`.
    func get(_ path: String, signedIn: Bool = true, client: HTTPClient) async throws {
        var request = HTTPClientRequest(url: base + path)
        if signedIn { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        let response = try await client.execute(request, timeout: .seconds(60))
        _ = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw BenchError("GET \(path) answered \(response.status)") }
    }

    /// Follows the generation's event stream until it ends; returns its final event's name.
    func follow(_ id: String, client: HTTPClient) async throws -> String {
        var request = HTTPClientRequest(url: base + "/generations/\(id)/events")
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Accept", value: "text/event-stream")
        let response = try await client.execute(request, timeout: .seconds(120))
        let text = String(buffer: try await response.body.collect(upTo: 16 << 20))
        return text.components(separatedBy: "\n\n").last { $0.hasPrefix("event: ") }?
            .split(separator: "\n").first.map { String($0.dropFirst("event: ".count)) } ?? "none"
    }

    func succeeded() async throws -> Int {
        try await GenerationModel.query(on: app.db).filter(\.$state == .succeeded).count()
    }

    /// Whether any generation is still queued or running: one look at the `generations_state`
    /// index that stops at the first it finds, in plain SQL. It runs every 20 ms while a batch
    /// runs, on the service's own database, so it should cost as little as it can; counting them
    /// through Fluent cost PostgreSQL 0.57 ms a time (docs/PERFORMANCE.md, fifth session).
    func anyUnfinished() async throws -> Bool {
        try await sqlDatabase(app.db).raw("SELECT 1 AS unfinished FROM generations WHERE state IN ('queued', 'running') LIMIT 1").first() != nil
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func percentile(_ samples: [Double], _ p: Double) -> Double {
    let sorted = samples.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))]
}

/// Submits `count` generations from `concurrency` clients and waits until every one has ended.
/// Returns (seconds from the first submit to the last end, seconds the submits alone took).
func runBatch(_ service: BenchService, count: Int, concurrency: Int, body: @escaping @Sendable (Int) -> String, client: HTTPClient) async throws -> (
    total: Double, submits: Double
) {
    try await runBatch(Array(repeating: service, count: concurrency), count: count, body: body, client: client)
}

/// Submits `count` generations (bodies `body(0)`…) from `concurrency` clients.
func submitAll(_ service: BenchService, count: Int, concurrency: Int, body: @escaping @Sendable (Int) -> String, client: HTTPClient) async throws {
    try await submitAll(Array(repeating: service, count: concurrency), count: count, body: body, client: client)
}

/// Submits `count` generations, client `i` as `lanes[i]` (each lane its own account, or the same one).
func submitAll(_ lanes: [BenchService], count: Int, body: @escaping @Sendable (Int) -> String, client: HTTPClient) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for (lane, account) in lanes.enumerated() {
            group.addTask {
                for index in stride(from: lane, to: count, by: lanes.count) { _ = try await account.submit(body(index), client: client) }
            }
        }
        try await group.waitForAll()
    }
}

/// Submits `count` generations, client `i` as `lanes[i]` (each lane its own account, or the same
/// one), and waits until every one has ended. Returns (seconds in all, seconds the submits took).
func runBatch(_ lanes: [BenchService], count: Int, body: @escaping @Sendable (Int) -> String, client: HTTPClient) async throws -> (
    total: Double, submits: Double
) {
    let service = lanes[0]
    let before = try await service.succeeded()
    let start = ContinuousClock.now
    try await submitAll(lanes, count: count, body: body, client: client)
    let submits = seconds(since: start)
    // Every 20 ms: each look is a query on the service's one SQLite connection, which at
    // 5 ms took a share of it from the service being measured.
    while try await service.anyUnfinished() { try await Task.sleep(for: .milliseconds(20)) }
    let total = seconds(since: start)
    let done = try await service.succeeded() - before
    guard done == count else { throw BenchError("\(count - done) of \(count) generations did not succeed") }
    return (total, submits)
}

/// The image work of one 512² generation with no service around it: the built-in engine's
/// render, then exactly what the worker does to an output (PNG with marker, WebP thumbnail, hash),
/// `parallel` pictures at a time (one per core) on the same image threads the service uses.
func imageWorkOnly(count: Int, parallel: Int) async throws -> Double {
    let pipeline = OutputPipeline(limits: ImageLimits(maxBytes: 64 << 20, maxPixels: 100_000_000))
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for lane in 0..<parallel {
            group.addTask {
                for index in stride(from: lane, to: count, by: parallel) {
                    let request = GenerationRequest(
                        prompt: "bench picture \(index % 7), a lighthouse at dusk", size: ImageSize(width: 512, height: 512), seed: UInt64(index))
                    // On the image threads, where the service does this work (tasks run on the
                    // event loops and would all stay on the loop that started them).
                    try await ImageWork.run {
                        let pixels = BuiltInEngine.render(request)
                        _ = try pipeline.process(.rgb(pixels: pixels, width: 512, height: 512), source: .trainedAlgorithmicMedia)
                    }
                }
            }
        }
        try await group.waitForAll()
    }
    return seconds(since: start)
}

/// The engines to measure, with their database URL (nil: SQLite). PICTOR_BENCH_ENGINE=SQLite or
/// PostgreSQL measures that engine alone (both by default).
func benchEngines() -> [(String, String?)] {
    let environment = ProcessInfo.processInfo.environment
    return ([("SQLite", nil)] + (environment["PICTOR_BENCH_POSTGRES_URL"].map { [("PostgreSQL", $0)] } ?? []))
        .filter { engine, _ in environment["PICTOR_BENCH_ENGINE"].map { $0 == engine } ?? true }
}

/// A client with room for every lane of a batch.
func benchClient() -> HTTPClient {
    HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)))
}

func serviceBenchmarks() async throws {
    let environment = ProcessInfo.processInfo.environment
    let engines = benchEngines()
    let client = benchClient()
    let cores = ProcessInfo.processInfo.activeProcessorCount

    print("\n## Generation service (HTTP + queue + database + blob store, \(cores) cores)\n")
    print("| measure | engine | result |")
    print("| --- | --- | --- |")
    // PICTOR_BENCH_ONLY=instant runs only the third measure (for profiling it alone), =512
    // only the second; JOB_WORKERS=n runs the services with n job workers instead of
    // `pictor serve`'s default.
    let only = environment["PICTOR_BENCH_ONLY"]
    for (engine, url) in engines where only != "instant" {
        // 1. One user, one generation at a time: submit, follow the event stream to its end.
        let service = try await BenchService.start(database: url)
        var latencies: [Double] = []
        for index in 0..<(only == "512" ? 0 : 5 + 40) {
            let start = ContinuousClock.now
            let id = try await service.submit(#"{"prompt":"a lighthouse at dusk \#(index)","size":"1024x1024"}"#, client: client)
            let end = try await service.follow(id, client: client)
            guard end == "succeeded" else { throw BenchError("generation ended \(end)") }
            if index >= 5 { latencies.append(seconds(since: start) * 1000) }
        }
        if !latencies.isEmpty {
            print(
                String(
                    format: "| submit → done, built-in 1024², one user (p50 / p99 ms, %d runs) | %@ | %.1f / %.1f |",
                    latencies.count, engine, percentile(latencies, 0.5), percentile(latencies, 0.99)))
        }

        // 2. Throughput at 512² beside the image work alone, same count, same parallelism, in
        //    five rounds that alternate the two, so drift in the machine's speed hits both alike.
        let count = 200
        // With the CPU per generation of each (this process, plus the PostgreSQL server's): the
        // service's extra time is mostly its extra CPU, as both keep the two cores busy.
        var rounds: [(service: Double, alone: Double, serviceCPU: Double, aloneCPU: Double)] = []
        let cluster = try await postgresCluster(of: service.app.db)
        for _ in 0..<5 {
            let batch = try await measured(count: count, postgres: cluster) {
                try await runBatch(
                    service, count: count, concurrency: 16,
                    body: { #"{"prompt":"bench picture \#($0 % 7), a lighthouse at dusk","size":"512x512","seed":\#($0)}"# }, client: client)
            }
            let alone = try await measured(count: count) { try await imageWorkOnly(count: count, parallel: cores) }
            rounds.append((batch.value.total, alone.value, batch.cpu + batch.server, alone.cpu))
        }
        try await service.stop()
        let ratios = rounds.map { (round: $0, ratio: $0.service / $0.alone) }.sorted { $0.ratio < $1.ratio }
        let middle = ratios[ratios.count / 2]
        print(
            String(
                format:
                    "| end-to-end 512² (%d generations, 16 clients, %d workers): service / image work alone, median of 5 alternating rounds | %@ | %.1f / %.1f gen/s → service adds %.0f%% (ratio %.2f×; rounds %.2f–%.2f×); CPU %.1f / %.1f ms per generation |",
                count, service.workers, engine, Double(count) / middle.round.service, Double(count) / middle.round.alone,
                (middle.ratio - 1) * 100, middle.ratio, ratios.first!.ratio, ratios.last!.ratio, middle.round.serviceCPU, middle.round.aloneCPU))
    }
    for (engine, url) in engines where only != "512" {

        // 3. The service alone: a provider that hands back a ready 64×64 image at once.
        let instant = ModelCatalog(entries: [
            .init(
                id: "instant", provider: ScriptedProvider(id: "instant", otherwise: [.deliver(side: 64)]), pricePerImage: 1,
                timeout: .seconds(30), maxAttempts: 3, styles: [])
        ])
        let bare = try await BenchService.start(database: url, models: instant)
        // What the database handle itself can do, in the same process and run: the ceiling
        // that the service's statements per generation divide.
        let alone = try await databaseAlone(bare, lanes: 32, perLane: 100)
        print(
            String(
                format: "| database alone: write transactions (a read and a write) / single reads, 32 tasks | %@ | %.0f / %.0f per s |", engine,
                alone.transactions, alone.statements))
        // HTTP alone, in the same process and run: an answer that touches nothing (`/healthz`
        // without a key), and one that signs in with the API key and reads one generation. With
        // the CPU each costs this process (client and server share it and the cores) and, on
        // PostgreSQL, the database server: the baseline for the next row.
        let cluster = try await postgresCluster(of: bare.app.db)
        let postgres = cluster != nil
        let health = try await measured(count: 3200, postgres: cluster) {
            try await perSecond(lanes: 32, perLane: 100) { try await bare.get("/healthz", signedIn: false, client: client) }
        }
        let probe = try await bare.submit(#"{"model":"instant","prompt":"probe","size":"64x64"}"#, client: client)
        let keyed = try await measured(count: 3200, postgres: cluster) {
            try await perSecond(lanes: 32, perLane: 100) { try await bare.get("/api/v1/generations/\(probe)", client: client) }
        }
        print(
            String(
                format:
                    "| HTTP alone, 32 clients: GET /healthz (no key) / GET one generation with the API key | %@ | %.0f / %.0f per s (CPU %.2f / %.2f ms each%@) |",
                engine, health.value, keyed.value, health.cpu, keyed.cpu,
                postgres ? String(format: "; PostgreSQL server %.2f / %.2f ms", health.server, keyed.server) : ""))
        if !postgres {
            // The parts of one such generation with no service around them, once (they do not
            // touch the database): the output work on the image threads, and its two blob writes.
            let parts = try await partsAlone(directory: bare.directory, count: 2048)
            print(
                String(
                    format:
                        "| parts of one instant generation alone: output work (64×64 PNG with marker, WebP thumbnail, hash), 2 image threads / its two blob writes (each flushed, then their folder), 32 tasks | – | CPU %.2f / %.2f ms per generation |",
                    parts.output, parts.blobs))
        }
        let many = 2000
        _ = try await runBatch(
            bare, count: 100, concurrency: 32, body: { _ in #"{"model":"instant","prompt":"warm-up","size":"64x64"}"# }, client: client)
        let run = try await measured(count: many, postgres: cluster) {
            try await runBatch(
                bare, count: many, concurrency: 32, body: { #"{"model":"instant","prompt":"tiny \#($0)","size":"64x64"}"# }, client: client)
        }
        try await bare.stop()
        print(
            String(
                format:
                    "| service alone, instant 64×64 provider (%d generations, 32 clients, %d workers) | %@ | %.0f gen/s (submits alone %.0f/s; CPU %.2f ms per generation%@) |",
                many, bare.workers, engine, Double(many) / run.value.total, Double(many) / run.value.submits, run.cpu,
                postgres ? String(format: " + PostgreSQL server %.2f ms", run.server) : ""))
    }
    try await client.shutdown()
}

/// What the worker does for one instant generation besides the database, `count` times: the
/// output pipeline on the image threads (2 lanes), then the two blob writes of its image and
/// thumbnail through a `LocalBlobStore` on the same disk, as the worker stores them (32 lanes;
/// `count` a multiple of 32).
/// CPU ms per generation of each.
func partsAlone(directory: URL, count: Int) async throws -> (output: Double, blobs: Double) {
    let pipeline = OutputPipeline(limits: ImageLimits(maxBytes: 64 << 20, maxPixels: 100_000_000))
    let pixels = [UInt8](repeating: 0, count: 64 * 64 * 3).enumerated().map { UInt8(truncatingIfNeeded: $0.offset) }
    let sample = try pipeline.process(.rgb(pixels: pixels, width: 64, height: 64), source: .trainedAlgorithmicMedia)
    let output = try await measured(count: count) {
        try await perSecond(lanes: 2, perLane: count / 2) {
            _ = try await ImageWork.run { try pipeline.process(.rgb(pixels: pixels, width: 64, height: 64), source: .trainedAlgorithmicMedia) }
        }
    }
    let store = try LocalBlobStore(root: directory.appendingPathComponent("parts"))
    let blobs = try await measured(count: count) {
        try await perSecond(lanes: 32, perLane: count / 32) {
            let name = UUID().uuidString.lowercased()
            try await store.put(all: [(try BlobKey("parts/\(name).png"), sample.image), (try BlobKey("parts/\(name).thumb.webp"), sample.thumbnail)])
        }
    }
    return (output.cpu, blobs.cpu)
}

/// The database alone, through the service's own handle (`app.db`): `lanes` tasks each running
/// `perLane` write transactions (`BEGIN IMMEDIATE`, an indexed read, an update of no row,
/// `COMMIT`), then as many single indexed reads. Returns (transactions/s, reads/s).
func databaseAlone(_ service: BenchService, lanes: Int, perLane: Int) async throws -> (transactions: Double, statements: Double) {
    let db = service.app.db
    let read: SQLQueryString = "SELECT id FROM jobs WHERE state = 'queued' LIMIT 1"
    let transactions = try await perSecond(lanes: lanes, perLane: perLane) {
        try await writeTransaction(on: db) { tx in
            let sql = try sqlDatabase(tx)
            try await sql.raw(read).run()
            try await sql.raw("UPDATE jobs SET updated_at = updated_at WHERE id = \(bind: UUID())").run()
        }
    }
    let reads = try await perSecond(lanes: lanes, perLane: perLane) { try await sqlDatabase(db).raw(read).run() }
    return (transactions, reads)
}

/// CPU seconds this process has used so far (user + system, all threads; the client's share
/// included, as it runs in the same process; a PostgreSQL server's is not).
func processCPUSeconds() -> Double {
    var usage = rusage()
    #if canImport(Glibc)
        getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
        getrusage(RUSAGE_SELF, &usage)
    #endif
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// The `/proc/<pid>/stat` figures of one process: its parent and its CPU ticks (user + system).
private func processStat(_ pid: String) -> (parent: Int, ticks: Int)? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return nil }
    // After the command's closing parenthesis: state (field 3), parent (4), utime and stime (14, 15).
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let parent = Int(fields[1]), let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
    return (parent, user + system)
}

/// The PostgreSQL cluster serving `db`, by the process id of its postmaster (the parent of this
/// connection's backend); nil on SQLite.
func postgresCluster(of db: any Database) async throws -> Int? {
    let sql = try sqlDatabase(db)
    guard sql.dialect.name == "postgresql",
        let row = try await sql.raw("SELECT pg_backend_pid() AS pid").first()
    else { return nil }
    return processStat(String(try row.decode(column: "pid", as: Int.self)))?.parent
}

/// CPU seconds the cluster's processes (its postmaster and every process it started) have used
/// so far, from `/proc`; the benchmark's connections stay open for a whole measure, so their
/// backends' time is all there. 0 where there is no `/proc`.
func postgresCPUSeconds(cluster postmaster: Int) -> Double {
    guard let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return 0 }
    var ticks = 0
    for pid in pids where pid.allSatisfy(\.isNumber) {
        if let stat = processStat(pid), Int(pid) == postmaster || stat.parent == postmaster { ticks += stat.ticks }
    }
    return Double(ticks) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Runs `body` and returns its result with the CPU milliseconds per item of this process and of
/// the PostgreSQL cluster whose postmaster is `postgres` (0 on SQLite, which runs inside this process).
func measured<T>(count: Int, postgres: Int? = nil, _ body: () async throws -> T) async rethrows -> (value: T, cpu: Double, server: Double) {
    let before = (processCPUSeconds(), postgres.map { postgresCPUSeconds(cluster: $0) } ?? 0)
    let value = try await body()
    let after = (processCPUSeconds(), postgres.map { postgresCPUSeconds(cluster: $0) } ?? 0)
    return (value, (after.0 - before.0) / Double(count) * 1000, (after.1 - before.1) / Double(count) * 1000)
}

/// Runs `operation` `perLane` times in each of `lanes` concurrent tasks; returns operations per second.
func perSecond(lanes: Int, perLane: Int, _ operation: @escaping @Sendable () async throws -> Void) async throws -> Double {
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<lanes {
            group.addTask { for _ in 0..<perLane { try await operation() } }
        }
        try await group.waitForAll()
    }
    return Double(lanes * perLane) / seconds(since: start)
}
