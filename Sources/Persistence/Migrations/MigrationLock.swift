import FluentPostgresDriver
import Foundation
import Logging
import PostgresNIO

/// Keeps two migration runs (two `pictor migrate`, or servers starting together) from racing:
/// on PostgreSQL a session advisory lock held on a connection of its own (outside the pool, so
/// the migrations never wait for the connection that holds the lock, even with one connection per
/// event loop; closing it releases the lock whatever happened); on SQLite an exclusive `flock` on
/// a file beside the database. A second run waits, then finds nothing to do.
public enum MigrationLock {
    /// The advisory lock's key: any fixed number, the same in every Pictor process.
    static let advisoryKey: Int64 = 0x5069_6374_6F72  // "Pictor"

    public enum Target: Sendable {
        case postgres(url: String)
        case sqlite(path: String)
    }

    public static func withLock<T: Sendable>(_ target: Target, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        switch target {
        case .sqlite(let path): return try await withFileLock(path + ".migrate-lock", body)
        case .postgres(let url): return try await withAdvisoryLock(url: url, body)
        }
    }

    private static func withAdvisoryLock<T: Sendable>(url: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let logger = Logger(label: "pictor.migration-lock")
        let configuration = try SQLPostgresConfiguration(url: url).coreConfiguration
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_lock(\(advisoryKey))", logger: logger)
            let result = try await body()
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    private static func withFileLock<T: Sendable>(_ path: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw MigrationLockError(path: path, code: errno) }
        defer { close(descriptor) }
        // flock blocks: wait on a thread of its own, not one that runs Swift tasks. Its errno is
        // read on that thread, and an interrupted wait is tried again.
        let failure = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var result = flock(descriptor, LOCK_EX)
                while result != 0 && errno == EINTR { result = flock(descriptor, LOCK_EX) }
                continuation.resume(returning: result == 0 ? Int32(0) : errno)
            }
        }
        guard failure == 0 else { throw MigrationLockError(path: path, code: failure) }
        defer { flock(descriptor, LOCK_UN) }
        return try await body()
    }
}

public struct MigrationLockError: Error, CustomStringConvertible {
    let path: String
    let code: Int32
    public var description: String { "cannot lock \(path) for migrating: \(String(cString: strerror(code)))" }
}
