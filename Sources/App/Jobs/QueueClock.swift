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
/// `now` is this machine's clock plus an offset measured against the database (`align(on:)`:
/// the database's time read in one round trip, set against the middle of that trip). Each
/// process aligns when it starts and every `alignInterval` (`Aligner`); until then the offset
/// is zero. On SQLite every process shares one machine's clock and the offset stays near zero.
final class QueueClock: Sendable {
    static let alignInterval: Duration = .seconds(300)

    private let localNow: @Sendable () -> Date
    private let offset = Mutex<TimeInterval>(0)
    private let aligned = Mutex<Date?>(nil)

    /// `localNow` is this machine's clock (tests pass a wrong one).
    init(localNow: @escaping @Sendable () -> Date = { Date() }) {
        self.localNow = localNow
    }

    var now: Date { localNow().addingTimeInterval(offset.withLock { $0 }) }

    /// Seconds the database's clock is ahead of this machine's, as last measured.
    var measuredOffset: TimeInterval { offset.withLock { $0 } }

    /// When the offset was last measured (this machine's time), or nil if never.
    var alignedAt: Date? { aligned.withLock { $0 } }

    func align(on db: any Database) async throws {
        let sent = localNow()
        let database = try await DatabaseTime.now(on: db)
        let received = localNow()
        let middle = sent.addingTimeInterval(received.timeIntervalSince(sent) / 2)
        offset.withLock { $0 = database.timeIntervalSince(middle) }
        aligned.withLock { $0 = received }
    }

    /// Aligns, and says so when the offset is large (a clock not kept by NTP) or cannot be read
    /// (the last measure stands).
    func alignReporting(on db: any Database, logger: Logger) async {
        do {
            try await align(on: db)
            if abs(measuredOffset) > 1 {
                logger.warning("this machine's clock disagrees with the database's; the job queue follows the database's",
                               metadata: ["offset-s": .string(String(format: "%.3f", measuredOffset))])
            }
        } catch {
            logger.warning("could not read the database's clock", metadata: ["error": .string("\(error)")])
        }
    }

    /// Keeps the clock aligned while `pictor serve` or `pictor worker` runs: once at boot, before
    /// the workers start (registered before them), then every `alignInterval`.
    final class Aligner: LifecycleHandler, Sendable {
        private let task = Mutex<Task<Void, Never>?>(nil)

        func didBootAsync(_ application: Application) async throws {
            let clock = application.pictor.queueClock
            let db = application.db
            let logger = application.logger
            await clock.alignReporting(on: db, logger: logger)
            task.withLock {
                $0 = Task {
                    while (try? await Task.sleep(for: QueueClock.alignInterval)) != nil {
                        await clock.alignReporting(on: db, logger: logger)
                    }
                }
            }
        }

        func shutdownAsync(_ application: Application) async {
            guard let running = task.withLock({ $0 }) else { return }
            running.cancel()
            await running.value
        }
    }
}
