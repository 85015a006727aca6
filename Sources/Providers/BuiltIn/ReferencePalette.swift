import Foundation
import Imaging

/// What the built-in engine takes from a reference image: the average colour of its top half
/// (the sky) and of its bottom half (the ground). Deterministic for the same bytes.
struct ReferencePalette: Sendable, Equatable {
    var top: RGB
    var bottom: RGB

    /// Reads the first image that decodes; nil when none does.
    static func read(_ references: [Data]) -> ReferencePalette? {
        for data in references {
            if let palette = read(data) { return palette }
        }
        return nil
    }

    static func read(_ data: Data) -> ReferencePalette? {
        let limits = ImageLimits(maxBytes: 64 << 20, maxPixels: 100_000_000)
        guard let decoded = try? Image.decode(data, limits: limits),
            let small = try? decoded.image.thumbnail(width: 16, height: 16),
            let pixels = try? small.pixels()
        else { return nil }
        let width = small.width
        let height = small.height
        let bands = small.bands
        guard width > 0, height > 1, bands >= 1 else { return nil }
        func average(rows: Range<Int>) -> RGB {
            var sums = [Int](repeating: 0, count: 3)
            var count = 0
            for y in rows {
                for x in 0..<width {
                    let offset = (y * width + x) * bands
                    for channel in 0..<3 { sums[channel] += Int(pixels[offset + (bands >= 3 ? channel : 0)]) }
                    count += 1
                }
            }
            return RGB(r: UInt8(sums[0] / count), g: UInt8(sums[1] / count), b: UInt8(sums[2] / count))
        }
        return ReferencePalette(top: average(rows: 0..<(height / 2)), bottom: average(rows: (height / 2)..<height))
    }
}
