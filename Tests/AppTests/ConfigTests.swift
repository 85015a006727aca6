import Domain
import Foundation
import Imaging
import Persistence
import Testing

@testable import App

@Suite struct ConfigTests {
    @Test func noConfigurationMeansEmbeddedDefaults() throws {
        let config = try AppConfig.load(environment: [:])
        #expect(config.host == "127.0.0.1")
        #expect(config.port == 8080)
        #expect(config.database == .sqlite(path: "./data/pictor.sqlite"))
        #expect(config.autoMigrate)
        #expect(config.blobDirectory == "./data/blobs")
        #expect(config.publicBaseURL.absoluteString == "http://127.0.0.1:8080")
        #expect(!config.isBehindTLS)
        #expect(config.logFormat == .json && config.logLevel == .info)
        #expect(config.metricsToken == nil)
        #expect(config.imageThreads == 1)
        #expect(config.jobWorkers == 8)
        #expect(config.passwordHashCost == 12)
        #expect(config.imageLimits == ImageLimits(maxBytes: 20 * 1_048_576, maxPixels: 40_000_000))
    }

    /// One model may use three quarters of the workers (rounded up), never all of them when
    /// there are two or more; the deadline for waiting on a model is 10 minutes.
    @Test func aModelNeverTakesEveryWorkerByDefault() throws {
        for (workers, limit) in [(0, 1), (1, 1), (2, 1), (3, 2), (4, 3), (8, 6), (64, 48)] {
            #expect(try AppConfig.load(environment: ["JOB_WORKERS": "\(workers)"]).maxCallsPerModel == limit, "\(workers) workers")
        }
        #expect(try AppConfig.load(environment: ["MAX_CALLS_PER_MODEL": "8"]).maxCallsPerModel == 8)
        #expect(throws: ConfigError.self) { try AppConfig.load(environment: ["MAX_CALLS_PER_MODEL": "0"]) }
        #expect(try AppConfig.load(environment: [:]).generationDeadlineSeconds == 600)
    }

    @Test func postgresURLSwitchesEngineAndTurnsOffAutoMigrate() throws {
        let config = try AppConfig.load(environment: ["DATABASE_URL": "postgres://pictor:s3cret@db.internal:5432/pictor"])
        #expect(config.database == .postgres(url: "postgres://pictor:s3cret@db.internal:5432/pictor"))
        #expect(config.autoMigrate == false)
        #expect(config.database.redacted == "postgres://pictor:***@db.internal:5432/pictor")
        #expect(!config.redactedSummary.values.contains { $0.contains("s3cret") })
        let forced = try AppConfig.load(environment: ["DATABASE_URL": "postgresql://u@h/db", "AUTO_MIGRATE": "yes"])
        #expect(forced.autoMigrate)
    }

    @Test func dataDirMovesEveryDefaultPath() throws {
        let config = try AppConfig.load(environment: ["DATA_DIR": "/srv/pictor"])
        #expect(config.database == .sqlite(path: "/srv/pictor/pictor.sqlite"))
        #expect(config.blobDirectory == "/srv/pictor/blobs")
    }

    @Test func httpsBaseURLMeansTLS() throws {
        let config = try AppConfig.load(environment: ["PUBLIC_BASE_URL": "https://pictor.example"])
        #expect(config.isBehindTLS)
    }

    @Test(arguments: [
        ("PORT", "eighty", "PORT: 'eighty' is not a whole number from 1 to 65535"),
        ("PORT", "70000", "PORT: '70000' is not a whole number from 1 to 65535"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL: must start with postgres://, postgresql:// or sqlite:// (got a value starting 'mysql://x/')"),
        ("DATABASE_URL", "postgres:///nohost", "DATABASE_URL: the PostgreSQL URL has no host (postgres://user:password@host:5432/database)"),
        ("DATABASE_URL", "postgres://host:5432", "DATABASE_URL: the PostgreSQL URL names no database (…@host:5432/database)"),
        ("DATABASE_URL", "postgres://db/pictor", "DATABASE_URL: the PostgreSQL URL names no user (postgres://user:password@host:5432/database)"),
        ("AUTO_MIGRATE", "maybe", "AUTO_MIGRATE: 'maybe' is not true or false"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL: 'loud' is not one of: trace, debug, info, notice, warning, error, critical"),
        ("PUBLIC_BASE_URL", "ftp://x", "PUBLIC_BASE_URL: 'ftp://x' is not an http:// or https:// URL"),
        ("IMAGE_THREADS", "0", "IMAGE_THREADS: '0' is not a whole number from 1 to 64"),
        ("PASSWORD_HASH_COST", "8", "PASSWORD_HASH_COST: '8' is not a whole number from 10 to 14"),
        ("UPLOAD_MAX_BYTES", "-1", "UPLOAD_MAX_BYTES: '-1' is not a whole number from 1024 to 1073741824"),
        (
            "REPLICATE_WEBHOOK_SECRET", "whsec_not*base64!",
            "REPLICATE_WEBHOOK_SECRET: must be the signing secret Replicate shows, `whsec_` followed by base64"
        ),
    ])
    func badValuesNameTheVariable(_ name: String, _ value: String, _ message: String) {
        #expect(throws: ConfigError.self) { try AppConfig.load(environment: [name: value]) }
        do {
            _ = try AppConfig.load(environment: [name: value])
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func dotEnvFillsGapsAndTheRealEnvironmentWins() throws {
        let dotEnv = """
            # comment
            export PORT=9090
            HOST="0.0.0.0"
            LOG_FORMAT=text # trailing comment
            METRICS_TOKEN='a b#c'
            """
        let config = try AppConfig.load(environment: ["PORT": "7070"], dotEnv: dotEnv)
        #expect(config.port == 7070)
        #expect(config.host == "0.0.0.0")
        #expect(config.logFormat == .text)
        #expect(config.metricsToken == "a b#c")
        #expect(config.publicBaseURL.absoluteString == "http://127.0.0.1:7070")
    }

    @Test func malformedDotEnvLineIsReported() {
        #expect(throws: ConfigError(variable: ".env line 2", problem: "expected KEY=value")) {
            try AppConfig.load(environment: [:], dotEnv: "PORT=1\nnonsense\n")
        }
    }

    @Test func emptyValueCountsAsUnset() throws {
        #expect(try AppConfig.load(environment: ["PORT": "  "]).port == 8080)
    }

    @Test func serveIsTheDefaultCommand() {
        #expect(isServeCommand(["pictor"]))
        #expect(isServeCommand(["pictor", "serve"]))
        #expect(isServeCommand(["pictor", "--port", "1"]))
        #expect(!isServeCommand(["pictor", "migrate"]))
        #expect(!isServeCommand(["pictor", "routes"]))
        #expect(!isServeCommand(["pictor", "--help"]) && !isServeCommand(["pictor", "-h"]) && !isServeCommand(["pictor", "serve", "--help"]))
    }

    /// Which processes run workers, and what each listens for on PostgreSQL: a server its
    /// generations' changes (and new jobs when it has workers), `pictor worker` new jobs only,
    /// other commands nothing.
    @Test func eachProcessListensForWhatItRuns() {
        let jobs = JobRunner(settings: .init(concurrency: 1, lease: 30, pollInterval: .seconds(1), shutdownGrace: .seconds(1), retry: RetryPolicy()))
        func channels(_ arguments: [String], workers: Int) -> [String] {
            DatabaseNotifications.subscriptions(
                for: ProcessRoles(arguments: arguments, jobWorkers: workers), events: GenerationEvents(), jobs: jobs
            ).map(\.channel)
        }
        #expect(channels(["pictor"], workers: 8) == [GenerationStore.changesChannel, JobQueue.channel])
        #expect(channels(["pictor", "serve"], workers: 0) == [GenerationStore.changesChannel])
        #expect(channels(["pictor", "worker"], workers: 8) == [JobQueue.channel])
        #expect(channels(["pictor", "worker"], workers: 0) == [JobQueue.channel])
        #expect(channels(["pictor", "migrate"], workers: 8) == [])
        #expect(ProcessRoles(arguments: ["pictor", "admin"], jobWorkers: 8) == ProcessRoles(arguments: ["pictor", "migrate"], jobWorkers: 0))
        #expect(!ProcessRoles(arguments: ["pictor", "migrate"], jobWorkers: 8).runsWorkers)
    }
}

/// The key made on first start: servers starting together on one data directory agree on it.
@Suite struct SecretKeyFileTests {
    @Test func serversStartingTogetherShareOneKey() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pictor-key-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try AppConfig.load(environment: ["DATA_DIR": directory.path])
        // Threads of their own, so the loads really overlap (the failure this guards against:
        // one server read the file another had created but not yet written).
        let keys = try await withThrowingTaskGroup(of: Data.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    try await withCheckedThrowingContinuation { continuation in
                        Thread.detachNewThread {
                            continuation.resume(
                                with: Result {
                                    try Secrets.load(config: config).key.withUnsafeBytes { Data($0) }
                                })
                        }
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(keys).count == 1)
        #expect(keys.first?.count == 32)
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(left == ["secret.key"], "no draft left behind")
        #expect(try Secrets.load(config: config).key.withUnsafeBytes { Data($0) } == keys.first)
    }
}

@Suite struct HexTests {
    @Test func hexIsTwoLowerCaseDigitsPerByte() {
        #expect(Data().hexString == "")
        #expect(Data([0x00, 0x0F, 0xA5, 0xFF, 0x10]).hexString == "000fa5ff10")
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        #expect(Tokens.sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Data((0...255).map(UInt8.init)).hexString.count == 512)
    }
}
