import Foundation

/// Where a generation is in its life. Every unhappy end carries a reason.
public enum GenerationState: String, Sendable, Codable, CaseIterable {
    case queued, running, succeeded, failed, blocked, cancelled

    public var isFinal: Bool {
        switch self {
        case .queued, .running: false
        case .succeeded, .failed, .blocked, .cancelled: true
        }
    }

    /// The moves the lifecycle allows; anything else is a bug or a race lost.
    public func canMove(to next: GenerationState) -> Bool {
        switch (self, next) {
        case (.queued, .running), (.queued, .cancelled), (.queued, .failed): true
        case (.running, .succeeded), (.running, .failed), (.running, .blocked), (.running, .cancelled): true
        case (.running, .queued): true  // handed back by a worker that shut down
        default: false
        }
    }
}

/// What a person (or API client) asked for, before checking.
public struct GenerationDraft: Sendable, Equatable {
    public var prompt: String
    public var negativePrompt: String
    public var width: Int
    public var height: Int
    public var count: Int
    public var seed: UInt64?
    public var style: String

    public init(prompt: String, negativePrompt: String = "", width: Int, height: Int, count: Int = 1, seed: UInt64? = nil, style: String = "") {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.width = width
        self.height = height
        self.count = count
        self.seed = seed
        self.style = style
    }
}

/// Checks a draft against the chosen model's capabilities; every problem is reported
/// against its field, in words a person can act on.
public enum GenerationRules {
    /// Seeds stay within what JSON numbers carry exactly.
    public static let maxSeed: UInt64 = 9_007_199_254_740_991

    public static func check(
        _ draft: GenerationDraft, capabilities: ProviderCapabilities, styles: [String], randomSeed: () -> UInt64
    ) -> Result<GenerationRequest, GenerationInputError> {
        var errors: [FieldError] = []
        // Lengths count Unicode scalars, not what a reader sees as characters: one visible
        // character can carry thousands of combining marks (a 60 KB "short" prompt), and
        // providers count code points. A browser's `maxlength` counts UTF-16 units, never fewer,
        // so whatever the form lets through passes here too.
        let prompt = draft.prompt.trimmingCharacters(in: .whitespacesAndNewlines)
        if prompt.isEmpty {
            errors.append(FieldError(field: "prompt", message: "Describe the picture you want."))
        } else if prompt.unicodeScalars.count > capabilities.maxPromptLength {
            errors.append(
                FieldError(
                    field: "prompt",
                    message: "Use at most \(capabilities.maxPromptLength) characters (this prompt has \(prompt.unicodeScalars.count))."))
        }
        let negative = draft.negativePrompt.trimmingCharacters(in: .whitespacesAndNewlines)
        if !negative.isEmpty, !capabilities.negativePrompt {
            errors.append(FieldError(field: "negativePrompt", message: "This model does not use a negative prompt; leave it empty."))
        } else if negative.unicodeScalars.count > capabilities.maxPromptLength {
            errors.append(FieldError(field: "negativePrompt", message: "Use at most \(capabilities.maxPromptLength) characters."))
        }
        let size = ImageSize(width: draft.width, height: draft.height)
        if !capabilities.sizes.contains(size) {
            let offered = capabilities.sizes.map(\.description).joined(separator: ", ")
            errors.append(FieldError(field: "size", message: "This model makes \(offered); \(size) is not one of them."))
        }
        if !(1...capabilities.maxCount).contains(draft.count) {
            errors.append(FieldError(field: "count", message: "Ask for 1 to \(capabilities.maxCount) images."))
        }
        if let seed = draft.seed, seed > maxSeed {
            errors.append(FieldError(field: "seed", message: "Use a whole number from 0 to \(maxSeed), or leave it empty for a random seed."))
        }
        if !draft.style.isEmpty, !styles.contains(draft.style) {
            errors.append(FieldError(field: "style", message: "Choose one of: \(styles.joined(separator: ", "))."))
        }
        guard errors.isEmpty else { return .failure(GenerationInputError(fieldErrors: errors)) }
        return .success(
            GenerationRequest(
                prompt: prompt, negativePrompt: negative, size: size, count: draft.count,
                seed: draft.seed ?? (randomSeed() % (maxSeed + 1)), style: draft.style))
    }
}

public struct GenerationInputError: UserFacingError, Equatable {
    public let fieldErrors: [FieldError]

    public init(fieldErrors: [FieldError]) {
        self.fieldErrors = fieldErrors
    }
    public var kind: FailureKind { .invalidInput }
    public var userMessage: String { "The request has problems; see each field." }
}
