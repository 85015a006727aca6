import FluentKit
import SQLKit

/// Whether the database answers (readiness).
public enum DatabaseHealth {
    /// Throws unless a trivial statement runs now.
    public static func ping(on db: any Database) async throws {
        _ = try await sqlDatabase(db).raw("SELECT 1 AS ok").first()
    }
}
