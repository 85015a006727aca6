import Domain
import Mail
import Payments
import Storage
import Vapor

/// The long-lived services `configure` builds, reachable from any request.
struct AppServices: Sendable {
    let config: AppConfig
    let blobs: any BlobStore
    let metrics: HTTPMetrics
    let jobs: JobRunner
    let mailer: any Mailer
    let secrets: Secrets
    let cookies: CookiePolicy
    let sessions: SessionPolicy
    let loginThrottle: LoginThrottlePolicy
    let models: ModelCatalog
    let credits: any Credits
    /// Takes money for credits: Stripe, or the offline checkout (the default).
    let payments: any PaymentProvider
    let contentKeys: ContentKeys
    let generationEvents: GenerationEvents
    let providerHealth: ProviderHealth
    /// The time rules are decided by (expiry, windows, deadlines, undo, throttles); tests move it.
    let clock: any WallClock
    /// The job queue's time: the database's clock (see `QueueClock`).
    let queueClock: QueueClock
    /// A bcrypt hash of a random password at the configured cost, checked when a sign-in names
    /// an unknown email so that both answers take the same time. Made once, at boot.
    let passwordDecoy: String
}

private struct AppServicesKey: StorageKey {
    typealias Value = AppServices
}

extension Application {
    var pictor: AppServices {
        get {
            guard let services = storage[AppServicesKey.self] else {
                fatalError("configure(_:config:) has not run: services are missing")
            }
            return services
        }
        set { storage[AppServicesKey.self] = newValue }
    }
}

extension Request {
    var pictor: AppServices { application.pictor }
}

extension AppServices {
    /// A copy with some services replaced (tests swap in their own).
    func with(
        jobs: JobRunner? = nil, mailer: (any Mailer)? = nil, blobs: (any BlobStore)? = nil, models: ModelCatalog? = nil,
        credits: (any Credits)? = nil, payments: (any PaymentProvider)? = nil, providerHealth: ProviderHealth? = nil,
        clock: (any WallClock)? = nil, queueClock: QueueClock? = nil
    ) -> AppServices {
        AppServices(
            config: config, blobs: blobs ?? self.blobs, metrics: metrics, jobs: jobs ?? self.jobs, mailer: mailer ?? self.mailer,
            secrets: secrets, cookies: cookies, sessions: sessions, loginThrottle: loginThrottle,
            models: models ?? self.models, credits: credits ?? self.credits,
            payments: payments ?? self.payments, contentKeys: contentKeys,
            generationEvents: generationEvents, providerHealth: providerHealth ?? self.providerHealth,
            clock: clock ?? self.clock, queueClock: queueClock ?? self.queueClock, passwordDecoy: passwordDecoy)
    }
}
