/// Why an account action was refused, in words that never tell whether an email is registered.
public enum AccountError: UserFacingError, Equatable {
    case invalid([FieldError])
    case wrongCredentials
    case throttled(retryAfterSeconds: Int)
    case emailNotVerified
    case codeInvalidOrExpired
    case suspended
    case reauthenticationRequired

    public var kind: FailureKind {
        switch self {
        case .invalid: .invalidInput
        case .wrongCredentials, .codeInvalidOrExpired: .unauthorized
        case .throttled: .rateLimited
        case .emailNotVerified, .suspended, .reauthenticationRequired: .forbidden
        }
    }

    public var userMessage: String {
        switch self {
        case .invalid: "Some fields need your attention."
        case .wrongCredentials: "The email or password is not right."
        case .throttled(let seconds):
            "Too many attempts. Try again in \(seconds < 90 ? "\(seconds) seconds" : "\((seconds + 59) / 60) minutes")."
        case .emailNotVerified: "Confirm your email address first: enter the code we sent you."
        case .codeInvalidOrExpired: "That code is not valid. It may have expired or been used already."
        case .suspended: "This account cannot be used right now. Contact support."
        case .reauthenticationRequired: "For your security, enter your password again."
        }
    }

    public var fieldErrors: [FieldError] {
        if case .invalid(let errors) = self { return errors }
        return []
    }
}
