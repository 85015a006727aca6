import FluentKit
import Foundation
import SQLKit

/// The counts behind sign-in throttling (`login_throttles`), changed one statement at a time so
/// that attempts arriving together each get their own count.
public enum LoginThrottleStore {
    /// Counts one attempt against `key` and returns the count with it. A count untouched for an
    /// hour starts afresh.
    public static func countAttempt(_ key: String, now: Date, on db: any Database) async throws -> Int {
        let row = try await sqlDatabase(db).raw("""
            INSERT INTO login_throttles (key, failures, locked_until, updated_at) VALUES (\(bind: key), 1, NULL, \(bind: now))
            ON CONFLICT (key) DO UPDATE SET
                failures = CASE WHEN login_throttles.updated_at < \(bind: now.addingTimeInterval(-3600)) THEN 1 ELSE login_throttles.failures + 1 END,
                updated_at = \(bind: now)
            RETURNING failures
            """).first()
        return try row?.decode(column: "failures", as: Int.self) ?? 1
    }

    /// When `key` is locked until, if it is.
    public static func lockedUntil(_ key: String, on db: any Database) async throws -> Date? {
        try await sqlDatabase(db).raw("SELECT locked_until FROM login_throttles WHERE key = \(bind: key)").first()?
            .decode(column: "locked_until", as: Date?.self)
    }

    /// Locks `key` until `until` (a later lock already set stands).
    public static func lock(_ key: String, until: Date, on db: any Database) async throws {
        try await sqlDatabase(db).raw("""
            UPDATE login_throttles SET locked_until = \(bind: until)
            WHERE key = \(bind: key) AND (locked_until IS NULL OR locked_until < \(bind: until))
            """).run()
    }

    /// Takes back one counted attempt (it succeeded).
    public static func takeBackAttempt(_ key: String, on db: any Database) async throws {
        try await sqlDatabase(db).raw("UPDATE login_throttles SET failures = failures - 1 WHERE key = \(bind: key) AND failures > 0").run()
    }

    /// Forgets `keys` (a success clears an account's count).
    public static func clear(_ keys: [String], on db: any Database) async throws {
        guard !keys.isEmpty else { return }
        try await sqlDatabase(db).delete(from: "login_throttles").where("key", .in, keys).run()
    }
}
