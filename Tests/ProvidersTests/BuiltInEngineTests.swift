import Domain
import Foundation
import Imaging
import Testing

@testable import Providers

@Suite struct BuiltInEngineTests {
    let engine = BuiltInEngine()

    func request(_ prompt: String, negative: String = "", seed: UInt64 = 42, size: Int = 256, style: String = "") -> GenerationRequest {
        GenerationRequest(prompt: prompt, negativePrompt: negative, size: ImageSize(width: size, height: size), count: 1, seed: seed, style: style)
    }

    /// Mean of each channel.
    func means(_ pixels: [UInt8]) -> (r: Double, g: Double, b: Double) {
        var sums = (0.0, 0.0, 0.0)
        for i in stride(from: 0, to: pixels.count, by: 3) {
            sums.0 += Double(pixels[i])
            sums.1 += Double(pixels[i + 1])
            sums.2 += Double(pixels[i + 2])
        }
        let n = Double(pixels.count / 3)
        return (sums.0 / n, sums.1 / n, sums.2 / n)
    }

    @Test func sameInputsSamePictureOtherSeedOrPromptAnother() {
        let a = BuiltInEngine.render(request("a lighthouse on a cliff at sunset"))
        #expect(a == BuiltInEngine.render(request("a lighthouse on a cliff at sunset")))
        #expect(a != BuiltInEngine.render(request("a lighthouse on a cliff at sunset", seed: 43)))
        #expect(a != BuiltInEngine.render(request("a cabin in a snowy forest")))
        #expect(a.count == 256 * 256 * 3)
    }

    @Test func colourWordsSetThePalette() {
        let red = means(BuiltInEngine.render(request("red roses")))
        #expect(red.r > red.b + 30)
        let blue = means(BuiltInEngine.render(request("blue ocean waves")))
        #expect(blue.b > blue.r + 30)
        let notRed = means(BuiltInEngine.render(request("red roses", negative: "red")))
        #expect(notRed.r < red.r - 20, "the negative prompt moves the palette away from red")
    }

    @Test func darkAndBrightWordsSetTheLight() {
        let night = means(BuiltInEngine.render(request("city at night")))
        let day = means(BuiltInEngine.render(request("city on a bright sunny day")))
        let nightLight: Double = night.r + night.g + night.b
        let dayLight: Double = day.r + day.g + day.b
        #expect(nightLight < dayLight - 150)
    }

    @Test func monoStyleIsGray() {
        let pixels = BuiltInEngine.render(request("a fox in a meadow", style: "mono"))
        var colourful = 0
        for i in stride(from: 0, to: pixels.count, by: 3) where pixels[i] != pixels[i + 1] || pixels[i + 1] != pixels[i + 2] {
            colourful += 1
        }
        #expect(colourful == 0)
    }

    @Test func generatesCountImagesOfTheRequestedSizeWithProgress() async throws {
        var wide = request("mountains under stars")
        wide.size = ImageSize(width: 320, height: 200)
        wide.count = 3
        let reports = Reports()
        let images = try await engine.generate(wide) { reports.add($0) }
        #expect(images.count == 3)
        for case .rgb(let pixels, let width, let height) in images {
            #expect(width == 320 && height == 200 && pixels.count == 320 * 200 * 3)
        }
        #expect(images[0] != images[1], "image i uses seed + i")
        #expect(reports.values == [1.0 / 3, 2.0 / 3, 1.0])
    }

    @Test func cancellationStopsBetweenImages() async throws {
        var many = request("waves")
        many.count = 4
        let task = Task { try await engine.generate(many) { _ in } }
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
    }

    @Test func itsPicturesEncodeWithTheMarker() throws {
        let pixels = BuiltInEngine.render(request("a tiny robot", size: 128))
        let image = try pixels.withUnsafeBytes { try Image(pixels: $0, width: 128, height: 128, bands: 3) }
        let png = try image.encode(.png(), xmp: .digitalSource(.trainedAlgorithmicMedia))
        let header = try Image.header(of: png, limits: ImageLimits(maxBytes: 1 << 20, maxPixels: 1 << 20))
        #expect(header.width == 128 && header.xmp != nil)
    }

    /// A reference image (PNG bytes) half `top`, half `bottom`.
    func reference(top: (UInt8, UInt8, UInt8), bottom: (UInt8, UInt8, UInt8), side: Int = 64) throws -> Data {
        var pixels: [UInt8] = []
        for y in 0..<side {
            let c = y < side / 2 ? top : bottom
            for _ in 0..<side { pixels += [c.0, c.1, c.2] }
        }
        let image = try pixels.withUnsafeBytes { try Image(pixels: $0, width: side, height: side, bands: 3) }
        return try image.encode(.png())
    }

    @Test func aReferenceImageGivesItsColoursToSkyAndGround() throws {
        var asked = request("a lighthouse", size: 128)
        asked.referenceImages = [try reference(top: (230, 40, 40), bottom: (20, 160, 40))]
        let pixels = BuiltInEngine.render(asked)
        func at(_ x: Int, _ y: Int) -> (Int, Int, Int) {
            let i = (y * 128 + x) * 3
            return (Int(pixels[i]), Int(pixels[i + 1]), Int(pixels[i + 2]))
        }
        let sky = at(2, 2)
        let ground = at(2, 125)
        #expect(sky.0 > sky.1 + 100 && sky.0 > sky.2 + 100, "sky \(sky) is not the reference's red")
        #expect(ground.1 > ground.0 + 30 && ground.1 > ground.2 + 30, "ground \(ground) is not the reference's green")
        #expect(pixels == BuiltInEngine.render(asked), "the same reference gives the same picture")
        var unreadable = asked
        unreadable.referenceImages = [Data("not an image".utf8)]
        #expect(BuiltInEngine.render(unreadable) == BuiltInEngine.render(request("a lighthouse", size: 128)))
        #expect(engine.capabilities.referenceImages)
    }

    @Test func itIsLabelledAsNoAIModel() {
        #expect(engine.displayName == "Built-in preview engine (no AI model)")
        #expect(engine.capabilities.sizes.contains(ImageSize(width: 1024, height: 1024)))
    }
}

final class Reports: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Double] = []
    func add(_ value: Double) {
        lock.lock()
        stored.append(value)
        lock.unlock()
    }
    var values: [Double] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}
