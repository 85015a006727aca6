import Domain
import Fluent
import FluentPostgresDriver
import FluentSQLiteDriver
import Persistence
import Vapor

/// Connects Fluent to the configured engine and registers the migrations.
enum DatabaseSetup {
    static func configure(_ app: Application, config: AppConfig) throws {
        switch config.database {
        case .sqlite(let path):
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            // One connection per process: see `OneConnection`.
            let sqlite = DatabaseConfigurationFactory.sqlite(.file(path), sqlLogLevel: .trace).make()
            app.databases.use(OneConnection(sqlite), as: .sqlite)
        case .postgres(let url):
            let configuration = try SQLPostgresConfiguration(url: url)
            app.databases.use(
                .postgres(configuration: configuration, maxConnectionsPerEventLoop: config.postgresConnectionsPerLoop, sqlLogLevel: .trace),
                as: .psql)
        }
        app.migrations.add(PictorMigrations.all)
    }

    /// SQLite: WAL once per file, then busy timeout, synchronous and foreign keys on
    /// the process's connection. PostgreSQL needs nothing here.
    static func tune(_ app: Application, config: AppConfig) async throws {
        guard config.database.isSQLite else { return }
        try await SQLiteTuning.enableWriteAheadLog(on: app.db)
        try await SQLiteTuning.applyConnectionSettings(busyTimeoutMilliseconds: config.sqliteBusyTimeoutMilliseconds, on: app.db)
    }
}
