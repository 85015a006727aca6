import Domain
import NIOHTTP1
import Vapor

/// An error as the person who caused it should see it: a status, a sentence,
/// and field-level messages where a form or JSON body was at fault.
struct ErrorResponse: Sendable {
    let status: HTTPStatus
    let message: String
    let fieldErrors: [FieldError]
    /// True when the fault is ours (5xx): logged as an error, shown without detail.
    var isServerFault: Bool { status.code >= 500 }

    init(status: HTTPStatus, message: String, fieldErrors: [FieldError] = []) {
        self.status = status
        self.message = message
        self.fieldErrors = fieldErrors
    }

    /// Maps anything thrown to what is shown. Only `UserFacingError` and Vapor's
    /// `AbortError` carry a message to the client; anything else is a generic 500.
    init(for error: any Error) {
        switch error {
        case let error as any UserFacingError:
            self.init(status: Self.status(for: error.kind), message: error.userMessage, fieldErrors: error.fieldErrors)
        case let error as DecodingError:
            // Before `AbortError`, which Vapor makes it, with the decoder's own text as reason.
            self.init(unreadable: error)
        case is HTTPParserError:
            // A request cut short (the client went away mid-body) or malformed: the client's
            // doing, and usually nobody is left to read the answer.
            self.init(status: .badRequest, message: "The request was cut short or is not valid HTTP.")
        case _ where String(reflecting: type(of: error)).hasPrefix("MultipartKit."):
            // A multipart body that does not parse (MultipartKit's parser error type is private,
            // so it is known by its module): the client's mistake.
            self.init(status: .badRequest, message: "The form's multipart body could not be read.")
        case let abort as any AbortError:
            self.init(status: abort.status, message: Self.message(for: abort))
        default:
            self.init(status: .internalServerError, message: "Something went wrong on our side. Please try again.")
        }
    }

    static func status(for kind: FailureKind) -> HTTPStatus {
        switch kind {
        case .invalidInput: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .gone: .gone
        case .unprocessable: .unprocessableEntity
        case .paymentRequired: .paymentRequired
        case .payloadTooLarge: .payloadTooLarge
        case .requestTimeout: .requestTimeout
        case .unsupportedMediaType: .unsupportedMediaType
        case .rateLimited: .tooManyRequests
        case .unavailable: .serviceUnavailable
        case .internalFailure: .internalServerError
        }
    }

    private static func message(for abort: any AbortError) -> String {
        switch abort.status {
        case .notFound: AccessError.notFound.userMessage
        case .forbidden: AccessError.forbidden.userMessage
        case .payloadTooLarge: "The request is too large."
        default: abort.status.code >= 500 ? "Something went wrong on our side. Please try again." : abort.reason
        }
    }
}
