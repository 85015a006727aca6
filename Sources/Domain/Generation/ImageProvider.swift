import Foundation

/// What a model can do; the studio offers only what its model has.
public struct ProviderCapabilities: Sendable, Equatable {
    public var textToImage: Bool
    public var referenceImages: Bool
    /// Exact sizes the model accepts (width × height).
    public var sizes: [ImageSize]
    public var maxCount: Int
    public var negativePrompt: Bool
    public var seed: Bool
    public var progress: Bool
    public var cancel: Bool
    public var maxPromptLength: Int

    public init(
        textToImage: Bool = true, referenceImages: Bool, sizes: [ImageSize], maxCount: Int,
        negativePrompt: Bool, seed: Bool, progress: Bool, cancel: Bool, maxPromptLength: Int
    ) {
        self.textToImage = textToImage
        self.referenceImages = referenceImages
        self.sizes = sizes
        self.maxCount = maxCount
        self.negativePrompt = negativePrompt
        self.seed = seed
        self.progress = progress
        self.cancel = cancel
        self.maxPromptLength = maxPromptLength
    }
}

public struct ImageSize: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    public let width: Int
    public let height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    public var description: String { "\(width)x\(height)" }

    /// The largest side a size string may name: more than any model makes, small enough that
    /// no product of two sides can overflow.
    public static let maxSide = 100_000

    /// Reads `WIDTHxHEIGHT` (e.g. `1024x768`), the form `description` writes.
    public init?(text: String) {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let width = BoundedNumber.parse(parts[0], in: 1...Self.maxSide),
            let height = BoundedNumber.parse(parts[1], in: 1...Self.maxSide)
        else { return nil }
        self.init(width: width, height: height)
    }
}

/// One request to a provider, already validated against its capabilities.
public struct GenerationRequest: Sendable, Equatable {
    public var prompt: String
    public var negativePrompt: String
    public var size: ImageSize
    public var count: Int
    public var seed: UInt64
    /// A style preset name ("" for none).
    public var style: String
    /// Reference images (PNG, metadata already stripped) for models that take them.
    public var referenceImages: [Data]
    /// A pseudonymous id for the person (a keyed hash, never the email), for providers'
    /// abuse detection; empty when unknown.
    public var endUser: String
    /// The same for every attempt of one generation (its id), so providers that accept a
    /// caller-chosen id never run a retried request twice; empty when unknown.
    public var idempotencyKey: String

    public init(
        prompt: String, negativePrompt: String = "", size: ImageSize, count: Int = 1, seed: UInt64, style: String = "",
        referenceImages: [Data] = [], endUser: String = "", idempotencyKey: String = ""
    ) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.size = size
        self.count = count
        self.seed = seed
        self.style = style
        self.referenceImages = referenceImages
        self.endUser = endUser
        self.idempotencyKey = idempotencyKey
    }
}

/// An image as a provider hands it over: encoded bytes (remote models) or raw
/// 8-bit RGB pixels (the built-in engine, which need not encode twice).
public enum ProviderImage: Sendable, Equatable {
    case encoded(Data)
    case rgb(pixels: [UInt8], width: Int, height: Int)
}

/// How a provider's attempt failed, so the caller can retry, fail or block. The text is shown
/// to the person who asked (as the generation's reason): adapters write a plain sentence
/// fragment ("the model does not support this size") and log technical detail themselves,
/// never credentials or the operator's configuration.
public enum ProviderError: Error, Sendable, Equatable {
    /// Worth trying again (timeout, 429, 5xx).
    case retryable(String)
    /// Will fail again (bad request, unsupported option; the operator's credentials rejected).
    case permanent(String)
    /// The provider refused the content (safety filter).
    case blocked(String)
    case cancelled
}

/// An image model. Remote adapters and the built-in engine implement it.
public protocol ImageProvider: Sendable {
    /// Stable id used in configuration and records, e.g. `builtin`.
    var id: String { get }
    /// What people see in the model picker.
    var displayName: String { get }
    var capabilities: ProviderCapabilities { get }
    /// Makes `request.count` images. `progress` receives 0…1 where the provider reports it.
    func generate(_ request: GenerationRequest, progress: @Sendable (Double) -> Void) async throws -> [ProviderImage]
}
