import Domain
import Fluent
import Imaging
import Leaf
import Payments
import Providers
import Storage
import Vapor

/// All wiring: server, views, storage, database, middleware, routes.
public func configure(_ app: Application, config: AppConfig) async throws {
    app.logger.logLevel = config.logLevel.swiftLogLevel
    app.http.server.configuration.hostname = config.host
    app.http.server.configuration.port = config.port
    // Pictor records its own request metrics (HTTPMetrics); Vapor's would duplicate them.
    app.http.server.configuration.reportMetrics = false
    // No client of Pictor compresses what it sends; a compressed body is refused (415) unread
    // instead of inflated (past Vapor's ratio limit the connection was dropped and logged a 500).
    app.http.server.configuration.requestDecompression = .disabled
    // A connection on which nothing moves is closed; a body has its own deadline (BodyPolicy).
    app.http.server.configuration.idleTimeout = .seconds(Int64(config.httpIdleTimeoutSeconds))
    app.routes.defaultMaxBodySize = ByteCount(value: BodyPolicy.form.maxBytes)

    app.views.use(.leaf)
    app.leaf.cache.isEnabled = app.environment.isRelease

    try Vips.start(threads: config.imageThreads)
    let blobs: any BlobStore =
        try config.s3.map { S3BlobStore(settings: $0) }
        ?? LocalBlobStore(root: URL(fileURLWithPath: config.blobDirectory))
    let jobs = JobRunner(
        settings: .init(
            concurrency: config.jobWorkers, lease: TimeInterval(config.jobLeaseSeconds),
            pollInterval: .milliseconds(500), shutdownGrace: .seconds(config.jobShutdownGraceSeconds), retry: RetryPolicy()))
    jobs.register(SendMailHandler())
    jobs.register(GenerationJobHandler())
    jobs.register(MaintenanceHandler())
    for code in MailedCodeHandler.Code.allCases { jobs.register(MailedCodeHandler(code: code)) }
    let cookies = CookiePolicy(publicBaseURL: config.publicBaseURL)
    let secrets = try Secrets.load(config: config)
    let providerHealth = ProviderHealth(callLimit: config.maxCallsPerModel)
    let logger = app.logger
    app.pictor = AppServices(
        config: config, blobs: blobs, metrics: HTTPMetrics(), jobs: jobs, mailer: config.mail.makeMailer(),
        secrets: secrets, cookies: cookies, sessions: .standard, loginThrottle: .standard,
        models: .configured(
            config.models, builtInDelay: .milliseconds(config.builtInDelayMilliseconds),
            webhooks: config.replicateWebhookSecret == nil ? nil : config.publicBaseURL.appendingPathComponent("webhooks"),
            problems: { model in
                ProblemReport { text in
                    providerHealth.recordProblem(model, text)
                    logger.warning("provider problem", metadata: ["model": .string(model), "problem": .string(ProviderText.scrubbed(text))])
                }
            }),
        credits: LedgerCredits(), payments: paymentProvider(config, secrets: secrets), contentKeys: ContentKeys(secrets: secrets),
        generationEvents: GenerationEvents(), providerHealth: providerHealth, clock: SystemClock(), queueClock: QueueClock(),
        passwordDecoy: try Bcrypt.hash(Tokens.random(), cost: config.passwordHashCost))
    app.passwords.use(.bcrypt(cost: config.passwordHashCost))
    if config.stripe == nil, !["127.0.0.1", "localhost", "::1", "[::1]"].contains(config.publicBaseURL.host ?? "") {
        app.logger.warning(
            "PAYMENT_PROVIDER is offline: anyone signed in can add credits without paying. Set PAYMENT_PROVIDER=stripe to sell credits.")
    }
    if !cookies.secure {
        app.logger.warning("PUBLIC_BASE_URL is plain http on a non-loopback host: session cookies cannot be Secure. Serve Pictor over https.")
    }

    // Password hashing (bcrypt, ~250 ms) and download encoding run on this pool: larger than
    // NIO's one thread per core, so a few sign-ins at once do not queue every download behind
    // them. (SQLite has a thread of its own, `OneConnection`; image work runs on `ImageWork`,
    // blob files on the blob store's file threads.)
    app.threadPool = NIOThreadPool(numberOfThreads: sharedPoolThreads)
    try DatabaseSetup.configure(app, config: config)

    // Outermost first: every response, error pages included, is paced by the client's
    // reading, gets an id, is measured, and carries the security headers.
    app.middleware = Middlewares()
    app.middleware.use(WriteBackpressureMiddleware())
    app.middleware.use(RequestIDMiddleware())
    app.middleware.use(RequestObservationMiddleware(metrics: app.pictor.metrics, serverTiming: config.serverTiming))
    app.middleware.use(SecurityHeadersMiddleware(behindTLS: config.isBehindTLS))
    app.middleware.use(ErrorPageMiddleware())
    app.middleware.use(PublicFilesMiddleware(publicDirectory: app.directory.publicDirectory))
    app.middleware.use(SessionMiddleware(cookies: cookies, policy: .standard))
    app.middleware.use(APIKeyMiddleware())
    app.middleware.use(RequestBodyPolicyMiddleware(routes: bodyPolicies(config), bodyTimeout: .seconds(Int64(config.httpBodyTimeoutSeconds))))
    app.middleware.use(CSRFMiddleware(publicBaseURL: config.publicBaseURL, maxMultipartBody: StudioController.maxBody(config).value))

    try routes(app)

    app.asyncCommands.use(WorkerCommand(), as: "worker")
    app.asyncCommands.use(MigrateCommand(), as: "migrate")  // in place of Fluent's: under a lock
    app.asyncCommands.use(AdminCommand(), as: "admin")
    let roles = ProcessRoles(arguments: app.environment.arguments, jobWorkers: config.jobWorkers)
    if roles.serves || roles.runsWorkers {
        // Before the workers start: they read the queue with the database's time.
        app.lifecycle.use(QueueClock.Aligner())
        // On PostgreSQL, one connection listens for what other processes announce.
        app.lifecycle.use(
            DatabaseNotifications(
                DatabaseNotifications.subscriptions(for: roles, events: app.pictor.generationEvents, jobs: jobs)))
    }
    if roles.serves && config.jobWorkers > 0 {
        app.lifecycle.use(JobWorkersLifecycle(runner: jobs))
    }
    if roles.serves {
        // Shut down in reverse order: the event streams end before the workers' grace period.
        app.lifecycle.use(GenerationEvents.Closer(events: app.pictor.generationEvents))
    }

    try await DatabaseSetup.tune(app, config: config)
    if config.autoMigrate, roles.serves {
        try await Migrations.applyPending(app)
    }
    app.logger.info("configured", metadata: config.redactedSummary.mapValues { .string($0) })
}

/// Stripe when the operator set it up; otherwise the offline checkout, whose events are signed
/// with a secret derived from the server's key.
func paymentProvider(_ config: AppConfig, secrets: Secrets) -> any PaymentProvider {
    if let stripe = config.stripe { return StripePaymentProvider(settings: stripe, client: ProviderHTTP.client) }
    return OfflinePaymentProvider(secret: "whsec_" + secrets.mac("offline-payments")) { order in
        config.link(to: SiteURL.offlineCheckout.path(order: order))
    }
}

/// The routes whose body differs from their kind's default (`BodyPolicy.form` for pages,
/// `BodyPolicy.api` under `/api/` and `/webhooks/`).
func bodyPolicies(_ config: AppConfig) -> [String: BodyPolicy] {
    [
        "POST \(SiteURL.studio.path)": BodyPolicy(
            accepts: [.multipartForm, .urlEncodedForm], maxBytes: StudioController.maxBody(config).value, maxParts: StudioController.maxFormParts),
        "POST \(SiteURL.apiReferenceImages.path)": BodyPolicy(
            accepts: [.multipartForm], maxBytes: ReferenceImagesAPI.maxBody(config).value, maxParts: 4),
        "POST \(SiteURL.replicateWebhook.path)": BodyPolicy(accepts: [.json], maxBytes: 1_048_576),
        "POST \(SiteURL.stripeWebhook.path)": BodyPolicy(accepts: [.json], maxBytes: 1_048_576),
    ]
}

/// Threads of `app.threadPool` (password hashing, download encoding).
let sharedPoolThreads = max(8, 4 * System.coreCount)

/// What this process does, from its command line and settings.
struct ProcessRoles: Equatable {
    /// `serve`: the web server and its event streams.
    let serves: Bool
    /// Job workers run here: `serve` with JOB_WORKERS > 0, or `worker`.
    let runsWorkers: Bool

    init(arguments: [String], jobWorkers: Int) {
        serves = isServeCommand(arguments)
        runsWorkers = (serves && jobWorkers > 0) || arguments.dropFirst().first == "worker"
    }
}

/// `pictor` with no command, or with flags only, runs `serve`; `--help` (`-h`) only prints help
/// (run as `serve`, it migrated and started workers that claimed jobs).
func isServeCommand(_ arguments: [String]) -> Bool {
    guard let command = arguments.dropFirst().first else { return true }
    if arguments.contains("--help") || arguments.contains("-h") { return false }
    return command == "serve" || command.hasPrefix("-")
}
