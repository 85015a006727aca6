import Domain
import Foundation
import Imaging
import Logging
import Payments
import Storage

/// Every setting Pictor reads, parsed once at boot from the environment
/// (and an optional `.env` file). With nothing set, Pictor runs on the embedded
/// defaults: SQLite under `./data`, blobs under `./data/blobs`.
public struct AppConfig: Sendable, Equatable {
    public enum LogFormat: String, Sendable, CaseIterable { case json, text }
    public enum LogLevel: String, Sendable, CaseIterable { case trace, debug, info, notice, warning, error, critical }

    public var host: String
    public var port: Int
    /// The address people use to reach Pictor. An `https` base URL turns on HSTS
    /// and marks cookies Secure.
    public var publicBaseURL: URL
    public var dataDirectory: String
    public var database: DatabaseSetting
    public var autoMigrate: Bool
    public var sqliteBusyTimeoutMilliseconds: Int
    public var blobDirectory: String
    /// Set by BLOB_STORE_URL=s3://…: blobs live in that bucket instead of `blobDirectory`.
    public var s3: S3BlobStore.Settings?
    /// Uploads (reference images): UPLOAD_MAX_BYTES and IMAGE_MAX_PIXELS.
    public var imageLimits: ImageLimits
    /// What a model made, when it is decoded: the same pixel limit (a bomb from a provider is
    /// refused too), but as many bytes as a provider's answer may carry (256 MB), so a large
    /// output is not refused by a limit meant for uploads after the provider was paid.
    public var outputLimits: ImageLimits { ImageLimits(maxBytes: 256 * 1_048_576, maxPixels: imageLimits.maxPixels) }
    /// libvips threads per image operation; parallelism comes from running several jobs.
    public var imageThreads: Int
    public var logLevel: LogLevel
    public var logFormat: LogFormat
    public var mail: MailSettings
    /// 32+ bytes for HMACs (code hashes, throttle keys); from SECRET_KEY, else kept in DATA_DIR/secret.key.
    public var secretKey: Data?
    /// Take the client's address from the last X-Forwarded-For entry, the one the proxy appended
    /// (only behind a proxy you run).
    public var trustProxy: Bool
    /// SIGNUPS_PER_NETWORK_PER_HOUR: accounts one network (IPv4 /24, IPv6 /48) may create in an hour.
    public var signUpsPerNetworkPerHour: Int
    /// The versions of the Terms and the Privacy Policy people accept at sign-up.
    public var termsVersion: String
    public var privacyVersion: String
    /// bcrypt's cost for stored passwords (each step doubles the work; 12 takes ~250 ms).
    public var passwordHashCost: Int
    /// Job worker loops inside `pictor serve` (0: run `pictor worker` separately).
    public var jobWorkers: Int
    /// Seconds a claimed job stays leased without a heartbeat.
    public var jobLeaseSeconds: Int
    /// On SIGTERM, seconds running jobs may take to finish before they are handed back.
    public var jobShutdownGraceSeconds: Int
    /// A pause before each built-in engine picture (0 normally): for demos of live progress
    /// and for the test that kills a worker in the middle of a job.
    public var builtInDelayMilliseconds: Int
    /// PostgreSQL connections per event loop (each process has one event loop per core).
    public var postgresConnectionsPerLoop: Int
    /// The models from MODELS_FILE; nil offers the built-in engine alone.
    public var models: [ModelDefinition]?
    /// Replicate's webhook signing secret (`whsec_…`); when set, predictions ask for webhooks.
    public var replicateWebhookSecret: String?
    /// When set, `/metrics` requires `Authorization: Bearer <token>`; unset, it answers only
    /// to this machine (a loopback connection, and not behind a proxy).
    public var metricsToken: String?
    /// SERVER_TIMING: add `Server-Timing` (the time spent inside Pictor) to every answer. Off by
    /// default: it let anyone time the server's work remotely (whether an address has an account).
    public var serverTiming: Bool
    /// MAX_ACTIVE_GENERATIONS_PER_USER: generations one person may have queued or running at once.
    public var maxActiveGenerationsPerUser: Int
    /// Calls one model may have out at once in this process (the rest wait, or go to its fallback).
    public var maxCallsPerModel: Int
    /// How long after submission a generation may wait for a model that is resting or busy.
    public var generationDeadlineSeconds: Int
    /// SIGNUP_GRANT_CREDITS: free credits every new account gets (0: none).
    public var signUpGrantCredits: Int
    /// PACKS_FILE: the credit packs on sale; without it, `PacksFile.defaults` (three packs in USD).
    public var packs: [CreditPack]
    /// PAYMENT_PROVIDER=stripe with STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET (and STRIPE_API_BASE
    /// for a stand-in); nil (the default, `offline`) takes no money: a local checkout page.
    public var stripe: StripePaymentProvider.Settings?
    /// PRIVACY_JURISDICTION: whose clock privacy requests run on, `gdpr` (one month; the default)
    /// or `ccpa` (45 days, confirmed within 10 business days).
    public var privacyJurisdiction: RequestDeadlines.Jurisdiction
    /// HTTP_IDLE_TIMEOUT_SECONDS: a connection on which nothing is read or written for this long is closed.
    public var httpIdleTimeoutSeconds: Int
    /// HTTP_BODY_TIMEOUT_SECONDS: the time a client has to send a request's whole body.
    public var httpBodyTimeoutSeconds: Int

    /// `path` (a `SiteURL` path) on the address people use: links that leave the page (mail,
    /// share links, a payment provider's return pages).
    public func link(to path: String) -> URL {
        URL(string: publicBaseURL.absoluteString.trimmingSuffix("/") + path) ?? publicBaseURL
    }

    /// Whether responses should carry HSTS (Pictor is reached over TLS).
    public var isBehindTLS: Bool { publicBaseURL.scheme == "https" }

    /// Parses `environment`; `dotEnv` holds the contents of a `.env` file, whose
    /// values apply only where the real environment has none.
    public static func load(environment: [String: String], dotEnv: String? = nil) throws(ConfigError) -> AppConfig {
        var merged: [String: String] = [:]
        if let dotEnv { merged = try DotEnv.parse(dotEnv) }
        merged.merge(environment) { _, real in real }
        return try AppConfig(reader: ConfigReader(values: merged))
    }

    init(reader: ConfigReader) throws(ConfigError) {
        host = reader.string("HOST", default: "127.0.0.1")
        port = try reader.integer("PORT", default: 8080, range: 1...65535)
        dataDirectory = reader.string("DATA_DIR", default: "./data")
        database = try reader.database("DATABASE_URL", defaultSQLitePath: dataDirectory + "/pictor.sqlite")
        autoMigrate = try reader.boolean("AUTO_MIGRATE", default: database.isSQLite)
        sqliteBusyTimeoutMilliseconds = try reader.integer("SQLITE_BUSY_TIMEOUT_MS", default: 5000, range: 0...600_000)
        blobDirectory = reader.string("BLOB_DIR", default: dataDirectory + "/blobs")
        s3 = try reader.s3Store("BLOB_STORE_URL")
        imageLimits = ImageLimits(
            maxBytes: try reader.integer("UPLOAD_MAX_BYTES", default: 20 * 1_048_576, range: 1024...1_073_741_824),
            maxPixels: try reader.integer("IMAGE_MAX_PIXELS", default: 40_000_000, range: 1...1_000_000_000)
        )
        imageThreads = try reader.integer("IMAGE_THREADS", default: 1, range: 1...64)
        logLevel = try reader.choice("LOG_LEVEL", default: .info)
        logFormat = try reader.choice("LOG_FORMAT", default: .json)
        metricsToken = reader.optionalString("METRICS_TOKEN")
        serverTiming = try reader.boolean("SERVER_TIMING", default: false)
        maxActiveGenerationsPerUser = try reader.integer("MAX_ACTIVE_GENERATIONS_PER_USER", default: 20, range: 1...10_000)
        httpIdleTimeoutSeconds = try reader.integer("HTTP_IDLE_TIMEOUT_SECONDS", default: 60, range: 1...3600)
        httpBodyTimeoutSeconds = try reader.integer("HTTP_BODY_TIMEOUT_SECONDS", default: 30, range: 1...3600)
        mail = try reader.mail(dataDirectory: dataDirectory)
        secretKey = try reader.secretKey("SECRET_KEY")
        trustProxy = try reader.boolean("TRUST_PROXY", default: false)
        signUpsPerNetworkPerHour = try reader.integer("SIGNUPS_PER_NETWORK_PER_HOUR", default: 10, range: 1...1_000_000)
        termsVersion = reader.string("TERMS_VERSION", default: "2026-11-25")
        privacyVersion = reader.string("PRIVACY_VERSION", default: "2026-11-25")
        passwordHashCost = try reader.integer("PASSWORD_HASH_COST", default: 12, range: 10...14)
        jobWorkers = try reader.integer("JOB_WORKERS", default: 8, range: 0...64)
        // Three quarters of the workers by default (rounded up, but one worker always left when
        // there are two or more): a model whose server hangs holds at most that many, and the
        // rest keep the other models' jobs moving.
        maxCallsPerModel = try reader.integer(
            "MAX_CALLS_PER_MODEL", default: max(1, min((jobWorkers * 3 + 3) / 4, jobWorkers - 1)), range: 1...64)
        generationDeadlineSeconds = try reader.integer("GENERATION_DEADLINE_SECONDS", default: 600, range: 10...86_400)
        signUpGrantCredits = try reader.integer("SIGNUP_GRANT_CREDITS", default: 20, range: 0...1_000_000)
        packs = try reader.packs(PacksFile.variable) ?? PacksFile.defaults
        stripe = try reader.stripe()
        privacyJurisdiction = try reader.choice("PRIVACY_JURISDICTION", default: .gdpr)
        jobLeaseSeconds = try reader.integer("JOB_LEASE_SECONDS", default: 60, range: 3...86_400)
        jobShutdownGraceSeconds = try reader.integer("JOB_SHUTDOWN_GRACE_SECONDS", default: 20, range: 0...3600)
        builtInDelayMilliseconds = try reader.integer("BUILTIN_ENGINE_DELAY_MS", default: 0, range: 0...600_000)
        postgresConnectionsPerLoop = try reader.integer("DATABASE_CONNECTIONS_PER_CORE", default: 4, range: 1...64)
        models = try reader.models(ModelsFile.variable)
        replicateWebhookSecret = try reader.webhookSecret("REPLICATE_WEBHOOK_SECRET")
        publicBaseURL = try reader.url(
            "PUBLIC_BASE_URL", default: "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)")
    }

    /// The settings as they may be logged: no password, token or key.
    public var redactedSummary: [String: String] {
        [
            "host": host, "port": String(port), "public_base_url": publicBaseURL.absoluteString,
            "database": database.redacted, "auto_migrate": String(autoMigrate),
            "blob_dir": blobDirectory,
            "blob_store": s3.map { "s3://\($0.bucket) at \($0.endpoint.absoluteString)" } ?? "local", "log_level": logLevel.rawValue,
            "log_format": logFormat.rawValue,
            "metrics_token": metricsToken == nil ? "unset" : "set",
            "job_workers": String(jobWorkers), "job_shutdown_grace_s": String(jobShutdownGraceSeconds),
            "password_hash_cost": String(passwordHashCost),
            "models": models.map { $0.map(\.id).joined(separator: ",") } ?? "builtin",
            "mail": mail.redacted,
            "payments": stripe == nil ? "offline" : "stripe at \(stripe!.apiBase.absoluteString)",
            "packs": packs.map(\.id).joined(separator: ","),
            "secret_key": secretKey == nil ? "from DATA_DIR/secret.key" : "set",
        ]
    }
}

/// Which database Pictor uses.
public enum DatabaseSetting: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(url: String)

    public var isSQLite: Bool {
        if case .sqlite = self { true } else { false }
    }

    /// The setting with any password replaced by `***`.
    public var redacted: String {
        switch self {
        case .sqlite(let path):
            return "sqlite:\(path)"
        case .postgres(let url):
            guard var parts = URLComponents(string: url) else { return "postgres://(unparseable)" }
            if parts.password != nil { parts.password = "***" }
            return parts.string ?? "postgres://(unparseable)"
        }
    }
}

extension AppConfig.LogLevel {
    public var swiftLogLevel: Logger.Level { Logger.Level(rawValue: rawValue) ?? .info }
}
