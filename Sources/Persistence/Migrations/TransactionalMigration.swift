import FluentKit

/// A migration run inside a transaction (PostgreSQL and SQLite both change their schema
/// transactionally), so a migration that fails half-way leaves nothing of itself behind.
/// The name is the wrapped migration's, so the migration log does not change.
public struct TransactionalMigration: AsyncMigration {
    public let inner: any Migration

    public init(_ inner: any Migration) {
        self.inner = inner
    }

    public var name: String { inner.name }

    public func prepare(on database: any Database) async throws {
        try await database.transaction { try await inner.prepare(on: $0).get() }
    }

    public func revert(on database: any Database) async throws {
        try await database.transaction { try await inner.revert(on: $0).get() }
    }
}
