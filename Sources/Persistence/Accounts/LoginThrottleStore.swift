import FluentKit
import Foundation
import SQLKit

/// The counts behind sign-in throttling (`login_throttles`), changed one statement at a time so
/// that attempts arriving together each get their own count.
public enum LoginThrottleStore {
    /// Counts one attempt against `key` and returns the count with it. A count untouched for an
    /// hour starts afresh.
    public static func countAttempt(_ key: String, now: Date, on db: any Database) async throws -> Int {
        let row = try await sqlDatabase(db).raw(
            """
            INSERT INTO login_throttles (key, failures, locked_until, updated_at) VALUES (\(bind: key), 1, NULL, \(bind: now))
            ON CONFLICT (key) DO UPDATE SET
                failures = CASE WHEN login_throttles.updated_at < \(bind: now.addingTimeInterval(-3600)) THEN 1 ELSE login_throttles.failures + 1 END,
                updated_at = \(bind: now)
            RETURNING failures
            """
        ).first()
        return try row?.decode(column: "failures", as: Int.self) ?? 1
    }

    /// When `key` is locked until, if it is.
    public static func lockedUntil(_ key: String, on db: any Database) async throws -> Date? {
        try await sqlDatabase(db).raw("SELECT locked_until FROM login_throttles WHERE key = \(bind: key)").first()?
            .decode(column: "locked_until", as: Date?.self)
    }

    /// Locks `key` until `until` (a later lock already set stands).
    public static func lock(_ key: String, until: Date, on db: any Database) async throws {
        try await sqlDatabase(db).raw(
            """
            UPDATE login_throttles SET locked_until = \(bind: until)
            WHERE key = \(bind: key) AND (locked_until IS NULL OR locked_until < \(bind: until))
            """
        ).run()
    }

    /// Lets one attempt through once `key`'s lock has run out, by setting the lock it would earn
    /// by failing too (`until`): of attempts arriving together, one wins. False when the lock has
    /// not run out, or none is set yet.
    public static func claimExpiredLock(_ key: String, until: Date, now: Date, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            UPDATE login_throttles SET locked_until = \(bind: until)
            WHERE key = \(bind: key) AND locked_until IS NOT NULL AND locked_until <= \(bind: now) RETURNING key
            """
        ).first() != nil
    }

    /// Sets `key`'s lock to `until` if it has none.
    public static func lockIfUnlocked(_ key: String, until: Date, on db: any Database) async throws {
        try await sqlDatabase(db).raw("UPDATE login_throttles SET locked_until = \(bind: until) WHERE key = \(bind: key) AND locked_until IS NULL")
            .run()
    }

    /// Puts back a lock this attempt claimed (`claimed`) as run out at `now`, if nothing changed it since.
    public static func releaseClaim(_ key: String, claimed: Date, now: Date, on db: any Database) async throws {
        try await sqlDatabase(db).raw(
            """
            UPDATE login_throttles SET locked_until = \(bind: now) WHERE key = \(bind: key) AND locked_until = \(bind: claimed)
            """
        ).run()
    }

    /// Takes back one counted attempt (it succeeded, or was refused unchecked); a count back at
    /// zero with no lock in force is forgotten.
    public static func takeBackAttempt(_ key: String, now: Date, on db: any Database) async throws {
        let sql = try sqlDatabase(db)
        try await sql.raw("UPDATE login_throttles SET failures = failures - 1 WHERE key = \(bind: key) AND failures > 0").run()
        try await sql.raw(
            """
            DELETE FROM login_throttles WHERE key = \(bind: key) AND failures <= 0 AND (locked_until IS NULL OR locked_until <= \(bind: now))
            """
        ).run()
    }

    /// Counts one event against `key` in a fixed window of `window` seconds that starts with the
    /// first event (kept in `locked_until` as the window's end); returns the count.
    public static func countInWindow(_ key: String, window: TimeInterval, now: Date, on db: any Database) async throws -> Int {
        let end = now.addingTimeInterval(window)
        let row = try await sqlDatabase(db).raw(
            """
            INSERT INTO login_throttles (key, failures, locked_until, updated_at) VALUES (\(bind: key), 1, \(bind: end), \(bind: now))
            ON CONFLICT (key) DO UPDATE SET
                failures = CASE WHEN login_throttles.locked_until <= \(bind: now) THEN 1 ELSE login_throttles.failures + 1 END,
                locked_until = CASE WHEN login_throttles.locked_until <= \(bind: now) THEN \(bind: end) ELSE login_throttles.locked_until END,
                updated_at = \(bind: now)
            RETURNING failures
            """
        ).first()
        return try row?.decode(column: "failures", as: Int.self) ?? 1
    }

    /// Forgets `keys` (a success clears an account's count).
    public static func clear(_ keys: [String], on db: any Database) async throws {
        guard !keys.isEmpty else { return }
        try await sqlDatabase(db).delete(from: "login_throttles").where("key", .in, keys).run()
    }

    /// The attempts counted against `key` (0 when none are).
    public static func failures(_ key: String, on db: any Database) async throws -> Int {
        try await sqlDatabase(db).raw("SELECT failures FROM login_throttles WHERE key = \(bind: key)").first()?
            .decode(column: "failures", as: Int.self) ?? 0
    }
}
