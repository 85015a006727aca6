import CVipsShim
import Foundation
import Imaging
import TestSupport
import Testing

@Suite struct ImagingTests {
    let limits = ImageLimits(maxBytes: 20 * 1_048_576, maxPixels: 40_000_000)
    let marker = XMPPacket.digitalSource(.trainedAlgorithmicMedia)

    @Test(arguments: [Encoding.png(), .jpeg(), .webp()])
    func reencodingStripsSourceMetadataAndWritesTheMarker(_ encoding: Encoding) throws {
        var source = try TestImages.encodeWithMetadata(
            try TestImages.gradient(width: 320, height: 200), as: encoding,
            blobs: ["exif-data": TestImages.exifWithGPS])
        if encoding.format == .png {
            source = TestImages.addingPNGText(source, keyword: "Author", text: "Jane Doe at 12 High Street")
        }
        let before = try Image.header(of: source, limits: limits)
        #expect(before.format == encoding.format)
        #expect(before.metadataFields.contains("exif-data"), "the test image must carry EXIF to prove anything")
        #expect(source.contains("PictorCam"))
        if encoding.format == .png {
            #expect(before.metadataFields.contains("png-comment-0-Author"))
        }

        let decoded = try Image.decode(source, limits: limits)
        let output = try decoded.image.encode(encoding, xmp: marker)

        let after = try Image.header(of: output, limits: limits)
        #expect(after.width == 320 && after.height == 200)
        #expect(
            after.metadataFields.filter { $0.hasPrefix("exif") || $0.hasPrefix("png-comment") || $0 == "icc-profile-data" }.isEmpty,
            "left: \(after.metadataFields)")
        #expect(!output.contains("PictorCam"))
        #expect(!output.contains("Jane Doe"))
        let xmp = try #require(after.xmp)
        #expect(
            xmp.text.contains(
                "<Iptc4xmpExt:DigitalSourceType>http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia</Iptc4xmpExt:DigitalSourceType>"
            ))
    }

    @Test(arguments: [Encoding.png(), .jpeg(), .webp(), .webp(lossless: true)])
    func encodingWithoutAPacketWritesNoMetadataAtAll(_ encoding: Encoding) throws {
        let output = try TestImages.gradient(width: 40, height: 30).encode(encoding)
        let header = try Image.header(of: output, limits: limits)
        #expect(header.xmp == nil)
        #expect(
            header.metadataFields.filter { $0.hasPrefix("exif") || $0 == "icc-profile-data" }.isEmpty,
            "left: \(header.metadataFields)")
        #expect(header.width == 40 && header.height == 30)
    }

    @Test func losslessWebPWithAlphaKeepsItsMarkerAndAlpha() throws {
        var rgba = [UInt8](repeating: 128, count: 16 * 16 * 4)
        for i in stride(from: 3, to: rgba.count, by: 4) { rgba[i] = UInt8(i % 255) }
        let image = try rgba.withUnsafeBytes { try Image(pixels: $0, width: 16, height: 16, bands: 4) }
        let output = try image.encode(.webp(lossless: true), xmp: marker)
        let decoded = try Image.decode(output, limits: limits)
        #expect(decoded.image.bands == 4)
        #expect(try decoded.image.pixels() == Data(rgba))
        #expect(try Image.header(of: output, limits: limits).xmp == marker)
    }

    @Test func pngRoundTripKeepsPixelsExactly() throws {
        let original = try TestImages.gradient(width: 64, height: 48)
        let png = try original.encode(.png(compression: 1))
        let decoded = try Image.decode(png, limits: limits)
        #expect(decoded.sourceFormat == .png)
        #expect(try decoded.image.pixels() == original.pixels())
    }

    @Test func jpegRoundTripStaysClose() throws {
        let original = try TestImages.gradient(width: 64, height: 48)
        let decoded = try Image.decode(try original.encode(.jpeg(quality: 95)), limits: limits).image
        let (a, b) = (try original.pixels(), try decoded.pixels())
        #expect(a.count == b.count)
        let meanError = zip(a, b).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) } / Double(a.count)
        #expect(meanError < 6, "mean absolute error \(meanError)")
    }

    @Test func exifOrientationIsAppliedBeforeItIsStripped() throws {
        let sideways = try TestImages.encodeWithMetadata(
            try TestImages.gradient(width: 120, height: 80), as: .jpeg(), integers: ["orientation": 6])
        let decoded = try Image.decode(sideways, limits: limits).image
        #expect(decoded.width == 80 && decoded.height == 120)
    }

    /// orc's run-time compiled code is not safe to free from two threads at once (it crashed
    /// the image threads within seconds of concurrent thumbnails), so Pictor starts libvips without it.
    /// (Debian 12's libvips is built with orc and has it on unless told otherwise.)
    @Test func libvipsRunsWithoutRuntimeCompiledVectorCode() throws {
        try Vips.start()
        #expect(pictor_vips_vectorised() == 0)
    }

    @Test func thumbnailFitsTheBoxAndKeepsAspect() throws {
        let image = try TestImages.gradient(width: 1024, height: 768)
        let thumbnail = try image.thumbnail(width: 256, height: 256)
        #expect(thumbnail.width == 256 && thumbnail.height == 192)
        let webp = try thumbnail.encode(.webp(quality: 80, effort: 0))
        #expect(ImageFormat.sniff(webp) == .webp)
        let small = try TestImages.gradient(width: 100, height: 50).thumbnail(width: 256, height: 256)
        #expect(small.width == 100, "never enlarged")
    }

    @Test func decompressionBombIsRefusedFromItsHeader() throws {
        let bomb = TestPNG.bomb(width: 100_000, height: 100_000)
        #expect(bomb.count < 100)
        #expect(throws: ImagingError.tooManyPixels(width: 100_000, height: 100_000, limit: 40_000_000)) {
            try Image.decode(bomb, limits: limits)
        }
        let error = ImagingError.tooManyPixels(width: 100_000, height: 100_000, limit: 40_000_000)
        #expect(error.userMessage == "The image is 100000×100000 pixels; images may have at most 40 megapixels.")
        // A limit that is not a whole number of megapixels is not rounded down (to "2", or "0").
        #expect(ImagingError.tooManyPixels(width: 2000, height: 2000, limit: 2_500_000).userMessage.hasSuffix("at most 2.5 megapixels."))
        #expect(ImagingError.tooManyPixels(width: 300, height: 300, limit: 50_000).userMessage.hasSuffix("at most 50000 pixels."))
    }

    @Test func oversizedFileIsRefusedBeforeDecoding() throws {
        let png = try TestImages.gradient(width: 64, height: 64).encode(.png())
        let tight = ImageLimits(maxBytes: png.count - 1, maxPixels: 40_000_000)
        #expect(throws: ImagingError.tooManyBytes(actual: png.count, limit: png.count - 1)) {
            try Image.decode(png, limits: tight)
        }
    }

    @Test func nonImagesAndDamagedImagesGetClearErrors() throws {
        #expect(throws: ImagingError.unsupportedFormat) { try Image.decode(Data("GIF89a....".utf8), limits: limits) }
        #expect(throws: ImagingError.unsupportedFormat) { try Image.decode(Data("<svg/>".utf8), limits: limits) }
        let jpeg = try TestImages.gradient(width: 256, height: 256).encode(.jpeg())
        let truncated = jpeg.prefix(jpeg.count / 2)
        #expect {
            try Image.decode(Data(truncated), limits: limits)
        } throws: { error in
            guard case ImagingError.undecodable = error else { return false }
            return (error as? ImagingError)?.userMessage == "The image could not be read: the file is damaged or incomplete."
        }
    }

    @Test func formatIsSniffedFromBytes() throws {
        let image = try TestImages.gradient(width: 8, height: 8)
        #expect(ImageFormat.sniff(try image.encode(.png())) == .png)
        #expect(ImageFormat.sniff(try image.encode(.jpeg())) == .jpeg)
        #expect(ImageFormat.sniff(try image.encode(.webp())) == .webp)
        #expect(ImageFormat.sniff(Data("hello world!".utf8)) == nil)
    }
}
