import Fluent
import Foundation
import Persistence
import SQLKit
import Testing
import Vapor

@testable import App

/// Migrations run one run at a time across processes, and each in a transaction.
@Suite struct MigrationTests {
    /// An empty database on the engine under test, and how to drop it.
    static func emptyDatabase(in directory: URL) async throws -> (DatabaseSetting, @Sendable () async throws -> Void) {
        guard let adminURL = ProcessInfo.processInfo.environment["PICTOR_TEST_POSTGRES_URL"] else {
            return (.sqlite(path: directory.appendingPathComponent("fresh.sqlite").path), {})
        }
        let name = TestDatabase.uniqueName("pictor_fresh")
        try await TestDatabase.administer(adminURL, "CREATE DATABASE \(name)")
        return (
            .postgres(url: try TestDatabase.url(adminURL, database: name)),
            {
                try await TestDatabase.administer(adminURL, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            }
        )
    }

    /// Three servers starting at once on a new database (auto-migration): they take turns, all
    /// start, and every migration ran once. Without the lock, the later ones failed on tables
    /// the first had just made.
    @Test func serversStartingTogetherMigrateOneAtATime() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pictor-migrate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (database, drop) = try await Self.emptyDatabase(in: directory)
        var config = try AppConfig.load(environment: ["DATA_DIR": directory.path, "LOG_LEVEL": "critical"])
        config.database = database
        config.autoMigrate = true
        config.jobWorkers = 0
        config.passwordHashCost = 4
        let settings = config
        let apps = try await withThrowingTaskGroup(of: Application.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    let app = try await Application.make(.testing)
                    do {
                        try await configure(app, config: settings)
                    } catch {
                        try? await app.asyncShutdown()
                        throw error
                    }
                    return app
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let logged = try await sqlDatabase(apps[0].db).raw("SELECT COUNT(*) AS n FROM _fluent_migrations").first()?.decode(column: "n", as: Int.self)
        #expect(logged == PictorMigrations.all.count)
        for app in apps { try await app.asyncShutdown() }
        try await drop()
    }

    struct CreatesThenFails: AsyncMigration {
        var name: String { "test_creates_then_fails" }
        func prepare(on database: any Database) async throws {
            try await database.schema("half_done").id().field("note", .string).create()
            throw Abort(.internalServerError, reason: "the second step of this migration failed")
        }
        func revert(on database: any Database) async throws {}
    }

    /// A migration that fails after its first step leaves nothing of itself.
    @Test func aMigrationThatFailsHalfWayLeavesNothing() async throws {
        try await withPictor { app in
            await #expect(throws: (any Error).self) { try await TransactionalMigration(CreatesThenFails()).prepare(on: app.db) }
            let before = try await SchemaInspector.tables(on: app.db).map(\.table)
            #expect(!before.contains("half_done"))
            // Without the transaction, the first step stays.
            await #expect(throws: (any Error).self) { try await CreatesThenFails().prepare(on: app.db) }
            let after = try await SchemaInspector.tables(on: app.db).map(\.table)
            #expect(after.contains("half_done"))
        }
    }
}
