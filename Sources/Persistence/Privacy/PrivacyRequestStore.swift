import Domain
import FluentKit
import Foundation
import SQLKit

/// Privacy rights requests and the restrictions people set.
public enum PrivacyRequestStore {
    public static func insert(_ request: PrivacyRequestModel, on db: any Database) async throws {
        try await request.create(on: db)
    }

    /// A person's requests, newest first.
    public static func requests(of user: UUID, limit: Int, on db: any Database) async throws -> [PrivacyRequestModel] {
        try await PrivacyRequestModel.query(on: db).filter(\.$userID == user).sort(\.$createdAt, .descending).limit(limit).all()
    }
}

public enum PrivacyRestrictionStore {
    /// Whether the person restricted this use of their data: every code path that would make
    /// that use asks first.
    public static func has(_ kind: ProcessingRestriction, user: UUID, on db: any Database) async throws -> Bool {
        try await ProcessingRestrictionModel.query(on: db).filter(\.$userID == user).filter(\.$kind == kind).first() != nil
    }

    public static func all(of user: UUID, on db: any Database) async throws -> Set<ProcessingRestriction> {
        Set(try await ProcessingRestrictionModel.query(on: db).filter(\.$userID == user).all().map(\.kind))
    }

    /// Sets the restriction; false when it was set already (nothing changes).
    public static func set(_ kind: ProcessingRestriction, user: UUID, request: UUID?, now: Date, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            """
            INSERT INTO processing_restrictions (id, user_id, kind, request_id, created_at)
            VALUES (\(bind: UUID()), \(bind: user), \(bind: kind.rawValue), \(bind: request), \(bind: now))
            ON CONFLICT (user_id, kind) DO NOTHING RETURNING id
            """
        ).first() != nil
    }

    /// Lifts the restriction; false when it was not set.
    public static func lift(_ kind: ProcessingRestriction, user: UUID, on db: any Database) async throws -> Bool {
        try await sqlDatabase(db).raw(
            "DELETE FROM processing_restrictions WHERE user_id = \(bind: user) AND kind = \(bind: kind.rawValue) RETURNING id"
        ).first() != nil
    }
}
