import Fluent
import Persistence
import Vapor

/// Migrations under a lock, for `pictor migrate` and auto-migration at `serve`: two runs at once
/// (two operators, or several servers starting) take turns instead of racing, and each
/// migration runs in its own transaction (`PictorMigrations`), so a failure leaves no half-applied
/// schema. On PostgreSQL the lock is an advisory lock; on SQLite a lock file beside the database.
enum Migrations {
    static func withLock<T: Sendable>(_ app: Application, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let target: MigrationLock.Target =
            switch app.pictor.config.database {
            case .sqlite(let path): .sqlite(path: path)
            case .postgres(let url): .postgres(url: url)
            }
        return try await MigrationLock.withLock(target, body)
    }

    /// What `AUTO_MIGRATE` does at start.
    static func applyPending(_ app: Application) async throws {
        try await withLock(app) { try await app.autoMigrate() }
    }
}

/// `pictor migrate [--revert] [--yes]`: Fluent's command, run under the migration lock.
final class MigrateCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Flag(name: "revert", help: "Revert the last batch instead of preparing")
        var revert: Bool
    }

    let help = "Prepare (or revert) the database migrations, one at a time across processes"

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await Migrations.withLock(app) {
            let migrator = app.migrator
            try await migrator.setupIfNeeded().get()
            if signature.revert {
                let pending = try await migrator.previewRevertLastBatch().get()
                guard !pending.isEmpty else { return context.console.print("No migrations to revert.") }
                context.console.print("The following migration(s) will be reverted:")
                for (migration, _) in pending { context.console.print("- \(migration.name)") }
                guard context.console.confirm("Would you like to continue?") else { return context.console.warning("Migration cancelled") }
                try await migrator.revertLastBatch().get()
            } else {
                let pending = try await migrator.previewPrepareBatch().get()
                guard !pending.isEmpty else { return context.console.print("No new migrations.") }
                context.console.print("The following migration(s) will be prepared:")
                for (migration, _) in pending { context.console.print("+ \(migration.name)") }
                guard context.console.confirm("Would you like to continue?") else { return context.console.warning("Migration cancelled") }
                try await migrator.prepareBatch().get()
            }
            context.console.print("Migration successful")
        }
    }
}
