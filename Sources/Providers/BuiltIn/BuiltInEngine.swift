import Domain
import Imaging

/// The built-in preview engine: no AI model, no network. It paints a picture from the
/// prompt's words (palette, horizon, shapes, style) in Swift, deterministically for
/// (prompt, negative prompt, seed, size, style, references). Image `i` of a request uses
/// seed + i. With a reference image, its sky and ground take the reference's colours.
public struct BuiltInEngine: ImageProvider {
    public static let styles = Scene.Style.allCases.map(\.rawValue)

    public let id = "builtin"
    public let displayName = "Built-in preview engine (no AI model)"
    public let capabilities = ProviderCapabilities(
        referenceImages: true,
        sizes: [
            ImageSize(width: 512, height: 512), ImageSize(width: 768, height: 768), ImageSize(width: 1024, height: 1024),
            ImageSize(width: 1024, height: 768), ImageSize(width: 768, height: 1024),
            ImageSize(width: 1216, height: 832), ImageSize(width: 832, height: 1216),
        ],
        maxCount: 4, negativePrompt: true, seed: true, progress: true, cancel: true, maxPromptLength: 1000)

    /// A pause before each picture (zero normally; demos and crash tests slow it down).
    public let delayPerImage: Duration

    public init(delayPerImage: Duration = .zero) {
        self.delayPerImage = delayPerImage
    }

    public func generate(_ request: GenerationRequest, progress: @Sendable (Double) -> Void) async throws -> [ProviderImage] {
        var images: [ProviderImage] = []
        let references = request.referenceImages
        // Only with references: the image threads are the busiest, and a trip there is a wait in line.
        let reference = references.isEmpty ? nil : try await ImageWork.run { ReferencePalette.read(references) }
        for index in 0..<request.count {
            if delayPerImage > .zero { try await Task.sleep(for: delayPerImage) }
            try Task.checkCancellation()
            var single = request
            single.seed = request.seed &+ UInt64(index)
            let picture = single
            let pixels = try await ImageWork.run { Self.render(picture, reference: reference) }
            images.append(.rgb(pixels: pixels, width: request.size.width, height: request.size.height))
            progress(Double(index + 1) / Double(request.count))
        }
        return images
    }

    /// One picture's pixels (8-bit RGB, row by row).
    public static func render(_ request: GenerationRequest) -> [UInt8] {
        render(request, reference: ReferencePalette.read(request.referenceImages))
    }

    static func render(_ request: GenerationRequest, reference: ReferencePalette?) -> [UInt8] {
        var scene = SceneReading.scene(for: request)
        if let reference { SceneReading.adopt(reference, into: &scene) }
        return Painter.paint(scene, width: request.size.width, height: request.size.height, grainSeed: request.seed ^ 0x5EED)
    }
}
