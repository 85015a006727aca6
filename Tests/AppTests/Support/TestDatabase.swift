import FluentPostgresDriver
import Foundation
import Logging
import Testing

@testable import App

/// A fresh, migrated, empty database for one test, on the engine the run was started for.
///
/// `make test` runs the suite twice: on SQLite (a new file per test) and, with
/// `PICTOR_TEST_POSTGRES_URL` pointing at the throwaway server that
/// `scripts/start-postgres` started, on PostgreSQL (a new database per test).
///
/// The migrations run once per test process, into a template (`MigratedTemplate`); each
/// test's database is a copy of it. Migrating every test's database took 1.8 s alone and
/// 12 s (SQLite) to 21 s (PostgreSQL) with the whole suite running, which starved the tests
/// that wait on timers.
struct TestDatabase {
    let setting: DatabaseSetting
    let drop: @Sendable () async throws -> Void

    static var engine: String {
        ProcessInfo.processInfo.environment["PICTOR_TEST_POSTGRES_URL"] == nil ? "sqlite" : "postgres"
    }

    static func make(in directory: URL) async throws -> TestDatabase {
        let template = try await MigratedTemplate.shared.value
        guard let adminURL = ProcessInfo.processInfo.environment["PICTOR_TEST_POSTGRES_URL"] else {
            let path = directory.appendingPathComponent("pictor.sqlite").path
            try FileManager.default.copyItem(atPath: template, toPath: path)
            return TestDatabase(setting: .sqlite(path: path), drop: {})
        }
        let name = uniqueName("pictor_test")
        try await administer(adminURL, "CREATE DATABASE \(name) TEMPLATE \(template)")
        return TestDatabase(
            setting: .postgres(url: try url(adminURL, database: name)),
            drop: {
                try await administer(adminURL, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            })
    }

    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
    }

    static func url(_ adminURL: String, database: String) throws -> String {
        var parts = try #require(URLComponents(string: adminURL))
        parts.path = "/\(database)"
        return try #require(parts.string)
    }

    static func administer(_ adminURL: String, _ sql: String) async throws {
        let configuration = try SQLPostgresConfiguration(url: adminURL).coreConfiguration
        let connection = try await PostgresConnection.connect(
            configuration: configuration, id: 1, logger: Logger(label: "test-admin"))
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "test-admin"))
        } catch {
            try? await connection.close()
            // PSQLError's description hides the server's message; a failing test should show it.
            throw AdministrationFailed(statement: sql, detail: String(reflecting: error))
        }
        try await connection.close()
    }
}

/// A statement on the test server failed; `detail` has the server's own words.
struct AdministrationFailed: Error, CustomStringConvertible {
    let statement: String
    let detail: String
    var description: String { "\(statement): \(detail)" }
}
