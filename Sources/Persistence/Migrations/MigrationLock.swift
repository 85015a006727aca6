import FluentKit
import Foundation
import SQLKit

/// Keeps two migration runs (two `pictor migrate`, or servers starting together) from racing:
/// on PostgreSQL a session advisory lock held on one connection for the whole run; on SQLite an
/// exclusive `flock` on a file beside the database. A second run waits, then finds nothing to do.
public enum MigrationLock {
    /// The advisory lock's key: any fixed number, the same in every Pictor process.
    static let advisoryKey: Int64 = 0x5069_6374_6F72  // "Pictor"

    public static func withLock<T: Sendable>(
        on db: any Database, sqlitePath: String?, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        if let sqlitePath { return try await withFileLock(sqlitePath + ".migrate-lock", body) }
        return try await db.withConnection { connection in
            let sql = try sqlDatabase(connection)
            try await sql.raw("SELECT pg_advisory_lock(\(bind: advisoryKey))").run()
            do {
                let result = try await body()
                try await sql.raw("SELECT pg_advisory_unlock(\(bind: advisoryKey))").run()
                return result
            } catch {
                _ = try? await sql.raw("SELECT pg_advisory_unlock(\(bind: advisoryKey))").run()
                throw error
            }
        }
    }

    private static func withFileLock<T: Sendable>(_ path: String, _ body: @Sendable () async throws -> T) async throws -> T {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw MigrationLockError(path: path, code: errno) }
        defer { close(descriptor) }
        // flock blocks: wait on a thread of its own, not one that runs Swift tasks.
        let locked = await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: flock(descriptor, LOCK_EX) == 0) }
        }
        guard locked else { throw MigrationLockError(path: path, code: errno) }
        defer { flock(descriptor, LOCK_UN) }
        return try await body()
    }
}

public struct MigrationLockError: Error, CustomStringConvertible {
    let path: String
    let code: Int32
    public var description: String { "cannot lock \(path) for migrating: \(String(cString: strerror(code)))" }
}
