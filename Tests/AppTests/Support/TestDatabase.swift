@testable import App
import FluentPostgresDriver
import Foundation
import Logging
import Testing

/// A fresh, empty database for one test, on the engine the run was started for.
///
/// `make test` runs the suite twice: on SQLite (a new file per test) and, with
/// `PICTOR_TEST_POSTGRES_URL` pointing at the throwaway server that
/// `scripts/start-postgres` started, on PostgreSQL (a new database per test).
struct TestDatabase {
    let setting: DatabaseSetting
    let drop: @Sendable () async throws -> Void

    static var engine: String {
        ProcessInfo.processInfo.environment["PICTOR_TEST_POSTGRES_URL"] == nil ? "sqlite" : "postgres"
    }

    static func make(in directory: URL) async throws -> TestDatabase {
        guard let adminURL = ProcessInfo.processInfo.environment["PICTOR_TEST_POSTGRES_URL"] else {
            let path = directory.appendingPathComponent("pictor.sqlite").path
            return TestDatabase(setting: .sqlite(path: path), drop: {})
        }
        let name = "pictor_test_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        try await administer(adminURL, "CREATE DATABASE \(name)")
        var parts = try #require(URLComponents(string: adminURL))
        parts.path = "/\(name)"
        let url = try #require(parts.string)
        return TestDatabase(setting: .postgres(url: url), drop: {
            try await administer(adminURL, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        })
    }

    private static func administer(_ adminURL: String, _ sql: String) async throws {
        let configuration = try SQLPostgresConfiguration(url: adminURL).coreConfiguration
        let connection = try await PostgresConnection.connect(
            configuration: configuration, id: 1, logger: Logger(label: "test-admin"))
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "test-admin"))
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }
}
