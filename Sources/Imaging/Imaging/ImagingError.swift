import Domain
import Foundation

public enum ImagingError: UserFacingError, Equatable {
    case tooManyBytes(actual: Int, limit: Int)
    case tooManyPixels(width: Int, height: Int, limit: Int)
    case unsupportedFormat
    case undecodable(String)
    case encodingFailed(String)
    case notStarted

    public var kind: FailureKind {
        switch self {
        case .tooManyBytes, .tooManyPixels: .payloadTooLarge
        case .unsupportedFormat: .unsupportedMediaType
        case .undecodable: .invalidInput
        case .encodingFailed, .notStarted: .internalFailure
        }
    }

    public var userMessage: String {
        switch self {
        case .tooManyBytes(let actual, let limit):
            "The image is \(Self.megabytes(actual)) MB; the limit is \(Self.megabytes(limit)) MB."
        case .tooManyPixels(let width, let height, let limit):
            "The image is \(width)×\(height) pixels; images may have at most \(Self.pixelCount(limit))."
        case .unsupportedFormat:
            "This file is not a PNG, JPEG or WebP image."
        case .undecodable:
            "The image could not be read: the file is damaged or incomplete."
        case .encodingFailed, .notStarted:
            "The image could not be processed."
        }
    }

    /// "40 megapixels", "2.5 megapixels", or "50000 pixels" below a tenth of one.
    private static func pixelCount(_ pixels: Int) -> String {
        if pixels % 1_000_000 == 0 { return "\(pixels / 1_000_000) megapixels" }
        if pixels < 100_000 { return "\(pixels) pixels" }
        return String(format: "%.1f megapixels", Double(pixels) / 1_000_000)
    }

    private static func megabytes(_ bytes: Int) -> String {
        String(format: "%.1f", Double(bytes) / 1_048_576)
    }
}
