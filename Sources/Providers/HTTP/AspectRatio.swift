import Domain

/// Providers that take an aspect ratio instead of pixel sizes: the ratio closest to a size.
public enum AspectRatio {
    /// Stability's ratios; Gemini's are the same set without 21:9 and 9:21, plus 4:3 and 3:4.
    public static let stability = ["16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21"]
    public static let gemini = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"]

    public static func closest(to size: ImageSize, among ratios: [String]) -> String {
        let wanted = Double(size.width) / Double(size.height)
        return ratios.min { distance($0, wanted) < distance($1, wanted) } ?? "1:1"
    }

    private static func distance(_ ratio: String, _ wanted: Double) -> Double {
        let parts = ratio.split(separator: ":").compactMap { Double($0) }
        guard parts.count == 2, parts[1] > 0 else { return .infinity }
        return abs((parts[0] / parts[1]).squareRoot() - wanted.squareRoot())
    }
}
