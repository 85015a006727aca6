import App
import CVips
import CVipsShim
import Domain
import Foundation
import Imaging
import Providers
import TestSupport

// Repeatable image-work benchmarks: `make bench`.
// Each figure is the median of many runs on one thread (IMAGE_THREADS=1), next to
// a baseline measured in the same run, so the ratio holds on any machine.

struct Measurement {
    let median: Double
    let p90: Double
}

func milliseconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
}

func summary(_ samples: [Double]) -> Measurement {
    let sorted = samples.sorted()
    return Measurement(median: sorted[sorted.count / 2], p90: sorted[sorted.count * 9 / 10])
}

func measure(iterations: Int, _ body: () throws -> Void) rethrows -> Measurement {
    for _ in 0..<3 { try body() }  // warm-up
    return summary(try (0..<iterations).map { _ in try milliseconds(body) })
}

/// Baseline and candidate alternate run by run, so drift in the machine's speed hits both alike.
func measurePair(
    iterations: Int, baseline: () throws -> Void, candidate: () throws -> Void
) rethrows -> (baseline: Measurement, candidate: Measurement) {
    for _ in 0..<3 {
        try baseline()
        try candidate()
    }
    var a: [Double] = []
    var b: [Double] = []
    for _ in 0..<iterations {
        a.append(try milliseconds(baseline))
        b.append(try milliseconds(candidate))
    }
    return (summary(a), summary(b))
}

/// A picture with gradients and shapes, like the ones Pictor stores.
func picture(side: Int) throws -> Image {
    var pixels = [UInt8](repeating: 0, count: side * side * 3)
    for y in 0..<side {
        for x in 0..<side {
            let i = (y * side + x) * 3
            let dx = x - side / 2
            let dy = y - side / 3
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

// Tasks run where `pictor` runs them: on the event loops (first thing, like its `main`).
// PICTOR_BENCH_TASK_THREADS=separate leaves them on Swift's own pool, to measure the difference.
if ProcessInfo.processInfo.environment["PICTOR_BENCH_TASK_THREADS"] != "separate" {
    TaskThreads.runOnEventLoops()
}
try Vips.start()

// `pictor-bench --samples DIR` writes the built-in engine's pictures for the bench prompts and stops.
if let flag = CommandLine.arguments.firstIndex(of: "--samples"), flag + 1 < CommandLine.arguments.count {
    let directory = URL(fileURLWithPath: CommandLine.arguments[flag + 1])
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let samples = [
        "a lighthouse on a cliff at sunset, stormy sea", "red roses in a glass vase on a wooden table",
        "mountains under stars, neon", "a calm blue lake with a small boat, pastel", "a fox in a snowy forest, watercolor",
        "city at night with a full moon",
    ]
    for (index, prompt) in samples.enumerated() {
        let pixels = BuiltInEngine.render(GenerationRequest(prompt: prompt, size: ImageSize(width: 512, height: 512), seed: 7))
        let image = try pixels.withUnsafeBytes { try Image(pixels: $0, width: 512, height: 512, bands: 3) }
        try image.encode(.png()).write(to: directory.appendingPathComponent("sample-\(index).png"))
    }
    exit(0)
}
// `pictor-bench --service` runs only the generation service figures.
if CommandLine.arguments.contains("--service") {
    try await serviceBenchmarks()
    BenchService.removeLeftovers()
    exit(0)
}
// `pictor-bench --failover` runs only the failing-neighbour figures.
if CommandLine.arguments.contains("--failover") {
    try await failingNeighbourBenchmarks()
    BenchService.removeLeftovers()
    exit(0)
}
// `pictor-bench --billing` runs only the credits figures.
if CommandLine.arguments.contains("--billing") {
    try await billingBenchmarks()
    BenchService.removeLeftovers()
    exit(0)
}
// `pictor-bench --gallery` runs only the gallery figures.
if CommandLine.arguments.contains("--gallery") {
    try await galleryBenchmarks()
    BenchService.removeLeftovers()
    exit(0)
}
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
        let (baseline, pictor) = try measurePair(
            iterations: 60, baseline: { _ = try image.encode(encoding) }, candidate: { _ = try image.encode(encoding, xmp: marker) })
        print("| encode \(name) + XMP marker | \(side)² | \(ms(baseline)) | \(ms(pictor)) | \(ratio(pictor, baseline)) |")
    }
    let thumbnail = try measure(iterations: 40) { _ = try image.thumbnail(width: 256, height: 256).encode(.webp(quality: 80, effort: 0)) }
    print("| thumbnail 256 WebP e0 | \(side)² | – | \(ms(thumbnail)) | – |")
}
for (name, encoding) in [("JPEG", Encoding.jpeg(quality: 92)), ("PNG", Encoding.png(compression: 1))] {
    let upload = try picture(side: 2048).encode(encoding)
    // Baseline: libvips decoding the same bytes to memory, with none of Pictor's checks.
    let (baseline, pictor) = try measurePair(
        iterations: 30, baseline: { rawVipsDecode(upload) }, candidate: { _ = try Image.decode(upload, limits: limits) })
    print("| decode upload (\(name)): limits, upright, sRGB, pixels only | 2048² | \(ms(baseline)) | \(ms(pictor)) | \(ratio(pictor, baseline)) |")
}
let bombBytes = TestPNG.bomb(width: 100_000, height: 100_000)
precondition(isRefusedForItsSize(bombBytes), "the bomb was not refused for its pixel count")
let bomb = measure(iterations: 200) { _ = try? Image.decode(bombBytes, limits: limits) }
print("| refuse a 100000² PNG bomb | header only | – | \(ms(bomb)) | – |")

func isRefusedForItsSize(_ data: Data) -> Bool {
    let result = Result { () throws(ImagingError) -> DecodedImage in try Image.decode(data, limits: limits) }
    guard case .failure(let error) = result, case .tooManyPixels = error else { return false }
    return true
}

// MARK: Built-in engine

/// Keeps the optimiser from deleting work whose result is otherwise unused.
nonisolated(unsafe) var sink = 0
@inline(never) func consume(_ pixels: [UInt8]) { sink &+= Int(pixels[pixels.count / 2]) &+ pixels.count }

/// The least work a 1024² picture can cost: write a vertical gradient into a fresh RGB buffer.
func gradientFill(side: Int) -> [UInt8] {
    var pixels = [UInt8](repeating: 0, count: side * side * 3)
    pixels.withUnsafeMutableBufferPointer { p in
        for y in 0..<side {
            let value = UInt8(y * 255 / side)
            for i in (y * side * 3)..<((y + 1) * side * 3) { p[i] = value }
        }
    }
    return pixels
}

print("\n## Built-in engine (median / p90 ms, one core)\n")
print("| work | size | baseline | Pictor | ratio |")
print("| --- | --- | --- | --- | --- |")
let prompts = [
    "a lighthouse on a cliff at sunset, stormy sea",
    "red roses in a glass vase on a wooden table",
    "mountains under stars, neon",
]
for side in [512, 1024] {
    let requests = prompts.enumerated().map { index, prompt in
        GenerationRequest(prompt: prompt, size: ImageSize(width: side, height: side), seed: UInt64(index))
    }
    var turn = 0
    let (fill, render) = measurePair(
        iterations: 30, baseline: { consume(gradientFill(side: side)) },
        candidate: {
            turn += 1
            consume(BuiltInEngine.render(requests[turn % requests.count]))
        })
    print("| render from prompt (baseline: write a gradient into a new buffer) | \(side)² | \(ms(fill)) | \(ms(render)) | \(ratio(render, fill)) |")
    let endToEnd = try measure(iterations: 20) {
        turn += 1
        let pixels = BuiltInEngine.render(requests[turn % requests.count])
        let image = try pixels.withUnsafeBytes { try Image(pixels: $0, width: side, height: side, bands: 3) }
        _ = try image.encode(.png(compression: 1), xmp: marker)
        _ = try image.thumbnail(width: 256, height: 256).encode(.webp(quality: 80, effort: 0))
    }
    print("| render + PNG (c1) with marker + 256 WebP thumbnail | \(side)² | – | \(ms(endToEnd)) | – |")
}

// MARK: Generation service and gallery

try await serviceBenchmarks()
try await failingNeighbourBenchmarks()
try await galleryBenchmarks()
try await billingBenchmarks()
BenchService.removeLeftovers()
