import Fluent
import Foundation
import Persistence
import Synchronization
import Vapor

/// The time the job queue writes and compares (when a job is due, when a lease runs out): the
/// database server's clock, not this machine's. Processes on machines whose clocks disagree then
/// still agree on both; a worker whose clock ran a minute fast would otherwise take jobs that
/// others still hold, and call their providers a second time.
///
/// `align(on:)` reads the database's time on one connection, three times, and keeps the reading
/// with the shortest round trip, set against the middle of it. From then on `now` is that reading
/// plus the time elapsed on this machine's monotonic clock, so a step of the machine's wall clock
/// (an NTP correction, a resumed VM) does not move it. Each process aligns when it starts and every
/// `alignInterval` (`Aligner`); until the first alignment `now` is the machine's clock, and a job
/// runner whose process could not align at boot aligns before it claims. On SQLite
/// every process shares one machine's clock and the measured offset stays near zero.
final class QueueClock: Sendable {
    static let alignInterval: Duration = .seconds(300)
    /// After a failed alignment, how soon to try again.
    static let retryInterval: Duration = .seconds(10)

    private struct Anchor {
        let database: Date
        let at: ContinuousClock.Instant
        let offset: TimeInterval
        let measuredAt: Date
    }

    private let localNow: @Sendable () -> Date
    private let anchor = Mutex<Anchor?>(nil)

    /// `localNow` is this machine's wall clock (tests pass a wrong one).
    init(localNow: @escaping @Sendable () -> Date = { Date() }) {
        self.localNow = localNow
    }

    var now: Date {
        guard let anchor = anchor.withLock({ $0 }) else { return localNow() }
        return anchor.database.addingTimeInterval((ContinuousClock.now - anchor.at).seconds)
    }

    /// Seconds the database's clock was ahead of this machine's wall clock when last measured.
    var measuredOffset: TimeInterval { anchor.withLock { $0?.offset ?? 0 } }

    /// When the clock was last aligned (this machine's time), or nil if never.
    var alignedAt: Date? { anchor.withLock { $0?.measuredAt } }

    func align(on db: any Database) async throws {
        // On one connection: waiting for one from the pool, or opening it, is not part of the trip.
        let best = try await db.withConnection { connection in
            var best: (database: Date, sent: ContinuousClock.Instant, trip: Duration)?
            for _ in 0..<3 {
                let sent = ContinuousClock.now
                let database = try await DatabaseTime.now(on: connection)
                let trip = ContinuousClock.now - sent
                if best.map({ trip < $0.trip }) ?? true { best = (database, sent, trip) }
            }
            return best!
        }
        let middle = best.sent + best.trip / 2
        let local = localNow().addingTimeInterval(-(ContinuousClock.now - middle).seconds)
        anchor.withLock {
            $0 = Anchor(database: best.database, at: middle, offset: best.database.timeIntervalSince(local), measuredAt: localNow())
        }
    }

    /// Aligns, and says so when the offset is large (a clock not kept by NTP) or cannot be read
    /// (the last measure stands).
    @discardableResult
    func alignReporting(on db: any Database, logger: Logger) async -> Bool {
        do {
            try await align(on: db)
            if abs(measuredOffset) > 1 {
                logger.warning(
                    "this machine's clock disagrees with the database's; the job queue follows the database's",
                    metadata: ["offset-s": .string(String(format: "%.3f", measuredOffset))])
            }
            return true
        } catch {
            logger.warning("could not read the database's clock; trying again shortly", metadata: ["error": .string("\(error)")])
            return false
        }
    }

    /// Keeps the clock aligned while `pictor serve` or `pictor worker` runs: once at boot, before
    /// the workers start (registered before them), then every `alignInterval` (every
    /// `retryInterval` while it fails).
    final class Aligner: LifecycleHandler, Sendable {
        private let background = BackgroundTask()

        func didBootAsync(_ application: Application) async throws {
            let clock = application.pictor.queueClock
            let db = application.db
            let logger = application.logger
            let first = await clock.alignReporting(on: db, logger: logger)
            background.start {
                var aligned = first
                while (try? await Task.sleep(for: aligned ? QueueClock.alignInterval : QueueClock.retryInterval)) != nil {
                    aligned = await clock.alignReporting(on: db, logger: logger)
                }
            }
        }

        func shutdownAsync(_ application: Application) async {
            await background.stop()
        }
    }
}
