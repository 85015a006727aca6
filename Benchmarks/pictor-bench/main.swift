import CVips
import CVipsShim
import Foundation
import Imaging

// Repeatable image-work benchmarks: `make bench`.
// Each figure is the median of many runs on one thread (IMAGE_THREADS=1), next to
// a baseline measured in the same run, so the ratio holds on any machine.

struct Measurement {
    let median: Double
    let p90: Double
}

func measure(iterations: Int, _ body: () throws -> Void) rethrows -> Measurement {
    for _ in 0..<3 { try body() }  // warm-up
    var samples: [Double] = []
    samples.reserveCapacity(iterations)
    for _ in 0..<iterations {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        samples.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
    }
    samples.sort()
    return Measurement(median: samples[samples.count / 2], p90: samples[samples.count * 9 / 10])
}

/// A picture with gradients and shapes, like the ones Pictor stores.
func picture(side: Int) throws -> Image {
    var pixels = [UInt8](repeating: 0, count: side * side * 3)
    for y in 0..<side {
        for x in 0..<side {
            let i = (y * side + x) * 3
            let dx = x - side / 2, dy = y - side / 3
            let inCircle = dx * dx + dy * dy < (side / 5) * (side / 5)
            pixels[i] = inCircle ? 240 : UInt8(x * 255 / side)
            pixels[i + 1] = inCircle ? 180 : UInt8(y * 255 / side)
            pixels[i + 2] = UInt8((x + y) * 255 / (2 * side))
        }
    }
    return try pixels.withUnsafeBytes { try Image(pixels: $0, width: side, height: side, bands: 3) }
}

/// libvips alone: decode to memory, no limits, rotation, colour conversion or copy.
func rawVipsDecode(_ data: Data) {
    data.withUnsafeBytes { bytes in
        guard let image = pictor_vips_load(bytes.baseAddress, bytes.count) else { fatalError(String(cString: pictor_vips_take_error())) }
        var size = 0
        let memory = vips_image_write_to_memory(image, &size)
        pictor_vips_free(memory)
        pictor_vips_unref(image)
    }
}

func ratio(_ a: Measurement, _ b: Measurement) -> String { String(format: "%.2f×", a.median / b.median) }
func ms(_ m: Measurement) -> String { String(format: "%.2f / %.2f", m.median, m.p90) }

try Vips.start()
let marker = XMPPacket.digitalSource(.trainedAlgorithmicMedia)
let limits = ImageLimits(maxBytes: 64 << 20, maxPixels: 100_000_000)
var rows: [String] = []

print("## Imaging (median / p90 ms, one thread)\n")
print("| work | size | baseline | Pictor | ratio |")
print("| --- | --- | --- | --- | --- |")
for side in [512, 1024] {
    let image = try picture(side: side)
    let encodings: [(String, Encoding)] = [("PNG c6", .png()), ("JPEG q90", .jpeg()), ("WebP q85", .webp())]
    for (name, encoding) in encodings {
        // Baseline: the same save with no marker (for WebP this includes dropping libvips' EXIF chunk).
        let baseline = try measure(iterations: 40) { _ = try image.encode(encoding) }
        let pictor = try measure(iterations: 40) { _ = try image.encode(encoding, xmp: marker) }
        print("| encode \(name) + XMP marker | \(side)² | \(ms(baseline)) | \(ms(pictor)) | \(ratio(pictor, baseline)) |")
    }
    let thumbnail = try measure(iterations: 40) { _ = try image.thumbnail(width: 256, height: 256).encode(.webp(quality: 80, effort: 0)) }
    print("| thumbnail 256 WebP e0 | \(side)² | – | \(ms(thumbnail)) | – |")
}
for (name, encoding) in [("JPEG", Encoding.jpeg(quality: 92)), ("PNG", Encoding.png(compression: 1))] {
    let upload = try picture(side: 2048).encode(encoding)
    // Baseline: libvips decoding the same bytes to memory, with none of Pictor's checks.
    let baseline = measure(iterations: 20) { rawVipsDecode(upload) }
    let pictor = try measure(iterations: 20) { _ = try Image.decode(upload, limits: limits) }
    print("| decode upload (\(name)): limits, upright, sRGB, pixels only | 2048² | \(ms(baseline)) | \(ms(pictor)) | \(ratio(pictor, baseline)) |")
}
let bomb = measure(iterations: 200) { _ = try? Image.decode(Data(pngBombHeader()), limits: limits) }
print("| refuse a 100000² PNG bomb | header only | – | \(ms(bomb)) | – |")

/// A PNG header declaring 100000×100000 pixels (CRCs are not checked before the size test).
func pngBombHeader() -> [UInt8] {
    let ihdr: [UInt8] = [0, 0, 0, 13] + Array("IHDR".utf8) + [0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0, 8, 2, 0, 0, 0]
    return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + ihdr + [0, 0, 0, 0]
}
