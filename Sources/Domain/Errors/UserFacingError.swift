/// What went wrong, in terms the HTTP boundary maps to a status code.
/// Domain code never names HTTP statuses; `App` turns a kind into one.
public enum FailureKind: Sendable, Equatable {
    case invalidInput
    case unauthorized
    case forbidden
    case notFound
    case conflict
    /// Existed but is no longer available (a revoked or expired share link).
    case gone
    /// Understood but cannot be applied as sent (e.g. an idempotency key reused for another request).
    case unprocessable
    /// Not enough credits.
    case paymentRequired
    case payloadTooLarge
    /// The client took too long to send its request.
    case requestTimeout
    case unsupportedMediaType
    case rateLimited
    case unavailable
    case internalFailure
}

/// A problem on one field of a submitted form or JSON body.
public struct FieldError: Sendable, Equatable, Codable {
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}

/// An error whose message may be shown to the person who caused it.
/// Anything thrown that is not a `UserFacingError` is shown as a generic failure.
public protocol UserFacingError: Error, Sendable {
    var kind: FailureKind { get }
    /// A sentence a person understands; never contains secrets or internal detail.
    var userMessage: String { get }
    var fieldErrors: [FieldError] { get }
}

extension UserFacingError {
    public var fieldErrors: [FieldError] { [] }
}

/// Access to something that does not exist, or that the caller may not see.
/// Other people's objects are reported as `notFound`, never `forbidden`,
/// so that guessing ids tells nothing.
public enum AccessError: UserFacingError, Equatable {
    case notFound
    case forbidden

    public var kind: FailureKind {
        switch self {
        case .notFound: .notFound
        case .forbidden: .forbidden
        }
    }

    public var userMessage: String {
        switch self {
        case .notFound: "We could not find that page."
        case .forbidden: "You do not have permission to do that."
        }
    }
}
