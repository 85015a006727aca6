/// Encoded formats Pictor reads and writes.
public enum ImageFormat: String, Sendable, CaseIterable, Codable {
    case png, jpeg, webp

    public var mimeType: String {
        switch self {
        case .png: "image/png"
        case .jpeg: "image/jpeg"
        case .webp: "image/webp"
        }
    }

    public var fileExtension: String {
        switch self {
        case .png: "png"
        case .jpeg: "jpg"
        case .webp: "webp"
        }
    }

    /// The format of encoded bytes, judged from their first bytes (never from a file name).
    public static func sniff(_ bytes: some Collection<UInt8>) -> ImageFormat? {
        let head = Array(bytes.prefix(12))
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if head.count >= 12, head[0..<4].elementsEqual("RIFF".utf8), head[8..<12].elementsEqual("WEBP".utf8) {
            return .webp
        }
        return nil
    }
}

/// Limits applied before any pixel is decoded.
public struct ImageLimits: Sendable, Equatable {
    public var maxBytes: Int
    public var maxPixels: Int

    public init(maxBytes: Int, maxPixels: Int) {
        self.maxBytes = maxBytes
        self.maxPixels = maxPixels
    }
}

/// How to encode an image.
public enum Encoding: Sendable, Equatable {
    /// PNG; `compression` 0 (fastest) to 9.
    case png(compression: Int = 6)
    case jpeg(quality: Int = 90)
    /// WebP; `effort` 0 (fastest) to 6.
    case webp(quality: Int = 85, effort: Int = 4, lossless: Bool = false)

    public var format: ImageFormat {
        switch self {
        case .png: .png
        case .jpeg: .jpeg
        case .webp: .webp
        }
    }
}
