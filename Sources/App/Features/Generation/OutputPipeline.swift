import Crypto
import Domain
import Foundation
import Imaging

/// Turns what a provider delivered into what Pictor stores: decoded (remote bytes are
/// untrusted), re-encoded as PNG with no metadata but the AI-origin XMP marker, a WebP
/// thumbnail (marked too), and the SHA-256 of the stored image.
public struct OutputPipeline: Sendable {
    public struct Output: Sendable {
        public let image: Data
        public let format: ImageFormat
        public let width: Int
        public let height: Int
        public let thumbnail: Data
        public let sha256: String
    }

    static let thumbnailSide = 256
    let limits: ImageLimits

    public init(limits: ImageLimits) {
        self.limits = limits
    }

    public func process(_ delivered: ProviderImage, source: DigitalSourceType) throws -> Output {
        let image: Image
        switch delivered {
        case .encoded(let bytes):
            image = try Image.decode(bytes, limits: limits).image
        case .rgb(let pixels, let width, let height):
            image = try pixels.withUnsafeBytes { buffer throws(ImagingError) in
                try Image(pixels: buffer, width: width, height: height, bands: 3)
            }
        }
        let marker = XMPPacket.digitalSource(source)
        let encoded = try image.encode(.png(compression: 2), xmp: marker)
        let thumbnail = try image.thumbnail(width: Self.thumbnailSide, height: Self.thumbnailSide)
            .encode(.webp(quality: 80, effort: 0), xmp: marker)
        return Output(
            image: encoded, format: .png, width: image.width, height: image.height, thumbnail: thumbnail,
            sha256: Data(SHA256.hash(data: encoded)).hexString)
    }
}
