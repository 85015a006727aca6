import FluentKit
import SQLKit

/// Migration 001: the durable job queue (mail, generations, exports, sweeps).
struct M001CreateJobs: AsyncMigration {
    var name: String { "001_create_jobs" }

    func prepare(on database: any Database) async throws {
        try await database.schema("jobs")
            .id()
            .field("kind", .string, .required)
            .field("payload", .string, .required)
            .field("state", .string, .required)
            .field("run_at", .datetime, .required)
            .field("attempts", .int, .required)
            .field("max_attempts", .int, .required)
            .field("lease_owner", .string)
            .field("lease_expires_at", .datetime)
            .field("last_error", .string)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .field("finished_at", .datetime)
            .create()
        let sql = try sqlDatabase(database)
        try await sql.raw("CREATE INDEX jobs_claim ON jobs (state, run_at)").run()
        try await sql.raw("CREATE INDEX jobs_lease ON jobs (state, lease_expires_at)").run()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("jobs").delete()
    }
}
