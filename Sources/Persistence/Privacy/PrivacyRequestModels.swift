import Domain
import FluentKit
import Foundation

/// One privacy rights request and its clock (days as `YYYY-MM-DD`, UTC).
public final class PrivacyRequestModel: Model, @unchecked Sendable {
    public static let schema = "privacy_requests"

    @ID(key: .id) public var id: UUID?
    @OptionalField(key: "user_id") public var userID: UUID?
    /// Where to answer a request made without an account (the public form); nil otherwise.
    @OptionalField(key: "email") public var email: String?
    @Field(key: "kind") public var kind: RightsRequestKind
    @Field(key: "channel") public var channel: RightsRequestChannel
    @Field(key: "jurisdiction") public var jurisdiction: RequestDeadlines.Jurisdiction
    @Field(key: "state") public var state: RightsRequestState
    /// What the request is about (which restriction, which field to correct).
    @OptionalField(key: "detail") public var detail: String?
    @Field(key: "received_on") public var receivedOn: String
    @OptionalField(key: "confirm_by") public var confirmBy: String?
    @Field(key: "due_by") public var dueBy: String
    @OptionalField(key: "extended_due_by") public var extendedDueBy: String?
    @OptionalField(key: "extension_reason") public var extensionReason: String?
    @OptionalField(key: "outcome") public var outcome: String?
    @OptionalField(key: "denial_basis") public var denialBasis: String?
    @OptionalField(key: "appeal_of") public var appealOf: UUID?
    @OptionalField(key: "decided_by") public var decidedBy: UUID?
    @Field(key: "created_at") public var createdAt: Date
    @Field(key: "updated_at") public var updatedAt: Date

    public init() {}

    /// A new request received at `now`, its clock set by `rule`.
    public static func new(
        kind: RightsRequestKind, user: UUID?, email: String?, channel: RightsRequestChannel, jurisdiction: RequestDeadlines.Jurisdiction,
        state: RightsRequestState, detail: String?, now: Date
    ) -> PrivacyRequestModel {
        let request = PrivacyRequestModel()
        request.id = UUID()
        request.userID = user
        request.email = email
        request.kind = kind
        request.channel = channel
        request.jurisdiction = jurisdiction
        request.state = state
        request.detail = detail
        let received = CalendarDay(utc: now)
        let clock = RequestDeadlines.clock(
            receivedOn: received, under: kind == .appeal ? RequestDeadlines.appeal : RequestDeadlines.rules[jurisdiction]!)
        request.receivedOn = received.iso
        request.confirmBy = clock.confirmBy?.iso
        request.dueBy = clock.dueBy.iso
        request.createdAt = now
        request.updatedAt = now
        return request
    }
}

/// A use of a person's data they restricted or objected to.
public final class ProcessingRestrictionModel: Model, @unchecked Sendable {
    public static let schema = "processing_restrictions"

    @ID(key: .id) public var id: UUID?
    @Field(key: "user_id") public var userID: UUID
    @Field(key: "kind") public var kind: ProcessingRestriction
    @OptionalField(key: "request_id") public var requestID: UUID?
    @Field(key: "created_at") public var createdAt: Date

    public init() {}
}
