import Foundation
import Persistence
import Vapor

@testable import App

/// The database every test starts from: Pictor's migrations, run once per test process by the
/// same `configure` the server runs, on the engine the run was started for. Its value is the
/// SQLite file's path, or the PostgreSQL database's name (copied with `CREATE DATABASE … TEMPLATE`).
enum MigratedTemplate {
    static let shared = Task<String, any Error> {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestDatabase.uniqueName("pictor-template"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var config = try AppConfig.load(environment: ["DATA_DIR": directory.path, "LOG_LEVEL": "warning"])
        config.autoMigrate = true
        config.jobWorkers = 0
        config.passwordHashCost = 4  // configure makes the sign-in decoy hash
        let template: String
        if let adminURL = ProcessInfo.processInfo.environment["PICTOR_TEST_POSTGRES_URL"] {
            template = TestDatabase.uniqueName("pictor_template")
            try await TestDatabase.administer(adminURL, "CREATE DATABASE \(template)")
            config.database = .postgres(url: try TestDatabase.url(adminURL, database: template))
        } else {
            template = sqlitePath
            atexit { for suffix in ["", "-wal", "-shm"] { unlink(MigratedTemplate.sqlitePath + suffix) } }
            config.database = .sqlite(path: template)
        }

        let app = try await Application.make(.testing)
        do {
            try await configure(app, config: config)
            if config.database.isSQLite {
                // Everything into the main file, so that a copy of that file is the whole database.
                _ = try await SQLiteTuning.pragma("wal_checkpoint(TRUNCATE)", on: app.db)
            }
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        try await app.asyncShutdown()
        return template
    }

    /// Outside the task's data directory: tests copy it until the process ends.
    private static let sqlitePath = FileManager.default.temporaryDirectory
        .appendingPathComponent(TestDatabase.uniqueName("pictor-template") + ".sqlite").path
}
