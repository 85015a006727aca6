import Domain

/// A picture described in numbers: sky, optional ground, shapes, grain, style.
struct Scene: Sendable, Equatable {
    enum Style: String, Sendable, CaseIterable { case plain, mono, neon, watercolor, pixel }
    enum ShapeKind: Sendable, Equatable { case disc, ring, box, glow }

    struct Shape: Sendable, Equatable {
        var kind: ShapeKind
        /// Centre as fractions of width and height.
        var x: Float
        var y: Float
        /// Radius (or half side) as a fraction of the shorter side.
        var radius: Float
        var color: RGB
        var opacity: Float
    }

    struct Ground: Sendable, Equatable {
        var top: RGB
        var bottom: RGB
        /// Where the horizon sits, as a fraction of the height.
        var horizon: Float
        /// How far ridges rise above it, as a fraction of the height.
        var ridge: Float
        var frequency: Float
        var phase: Float
    }

    var skyTop: RGB
    var skyBottom: RGB
    var ground: Ground?
    var shapes: [Shape]
    var grain: Int
    var style: Style
}

/// Reads a prompt into a `Scene`. Everything comes from the words and the seed, through
/// a fixed hash and generator, so the same (prompt, negative prompt, seed, style) always
/// gives the same scene on every machine.
enum SceneReading {
    static let hues: [String: Float] = [
        "red": 0, "crimson": 350, "scarlet": 5, "rose": 340, "pink": 330, "magenta": 300, "purple": 275,
        "violet": 270, "lavender": 260, "indigo": 245, "blue": 220, "navy": 225, "azure": 205, "cyan": 185,
        "teal": 175, "turquoise": 170, "mint": 150, "green": 120, "emerald": 140, "forest": 130, "jungle": 110,
        "lime": 90, "olive": 70, "yellow": 55, "gold": 48, "golden": 48, "amber": 40, "orange": 30, "sunset": 20,
        "autumn": 25, "fire": 12, "lava": 8, "desert": 38, "sand": 40, "brown": 25, "ocean": 200, "sea": 198,
        "water": 195, "sky": 205, "ice": 195, "snow": 210, "winter": 210, "night": 235, "storm": 230,
    ]
    static let darkWords: Set<String> = ["night", "dark", "noir", "shadow", "midnight", "storm", "gloomy", "space"]
    static let brightWords: Set<String> = ["bright", "sunny", "day", "light", "pastel", "snow", "summer", "morning"]
    static let softWords: Set<String> = ["pastel", "soft", "misty", "fog", "foggy", "dreamy", "calm", "muted"]
    static let vividWords: Set<String> = ["vivid", "neon", "electric", "vibrant", "bold", "psychedelic"]
    static let landWords: Set<String> = [
        "mountain", "mountains", "hill", "hills", "sea", "ocean", "lake", "field", "desert", "beach", "city",
        "landscape", "valley", "forest", "river", "shore", "island", "meadow", "coast", "horizon",
    ]
    static let waterWords: Set<String> = ["sea", "ocean", "lake", "river", "water", "shore", "coast", "beach", "waves"]
    static let ridgeWords: Set<String> = ["mountain", "mountains", "hill", "hills", "valley", "peaks", "alps"]
    static let stopWords: Set<String> = [
        "a", "an", "the", "of", "in", "on", "at", "and", "or", "with", "by", "for", "to", "from", "over", "under",
        "is", "are", "very", "some", "its", "it", "this", "that", "into", "as", "no", "without",
    ]
    static let styleWords: [String: Scene.Style] = [
        "watercolor": .watercolor, "watercolour": .watercolor, "neon": .neon, "mono": .mono, "monochrome": .mono,
        "noir": .mono, "pixel": .pixel, "pixelart": .pixel, "8bit": .pixel,
    ]

    /// A reference image's colours replace the sky's and the ground's (a ground is added
    /// when the prompt had none, low in the picture); the shapes keep the prompt's palette.
    static func adopt(_ reference: ReferencePalette, into scene: inout Scene) {
        scene.skyTop = reference.top
        scene.skyBottom = RGB(
            r: reference.top.r / 2 + reference.bottom.r / 2, g: reference.top.g / 2 + reference.bottom.g / 2,
            b: reference.top.b / 2 + reference.bottom.b / 2)
        var ground =
            scene.ground
            ?? Scene.Ground(
                top: reference.bottom, bottom: reference.bottom, horizon: 0.72, ridge: 0.015, frequency: 3, phase: 0)
        ground.top = reference.bottom
        ground.bottom = RGB(r: reference.bottom.r / 2, g: reference.bottom.g / 2, b: reference.bottom.b / 2)
        scene.ground = ground
    }

    static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }

    static func scene(for request: GenerationRequest) -> Scene {
        let words = Self.words(request.prompt)
        let unwanted = Set(Self.words(request.negativePrompt))
        var random = SplitMix64(seed: FNV1a.hash(words.joined(separator: " ")) ^ request.seed)

        let unwantedHues = unwanted.compactMap { hues[$0] }
        let wantedHues = words.compactMap { hues[$0] }.filter { hue in
            !unwantedHues.contains { abs(angle(hue, $0)) < 25 }
        }
        var base = wantedHues.first ?? Float(FNV1a.hash(request.prompt) % 360)
        if unwantedHues.contains(where: { abs(angle(base, $0)) < 25 }) { base = (base + 120).truncatingRemainder(dividingBy: 360) }
        let second = wantedHues.dropFirst().first ?? (base + 35).truncatingRemainder(dividingBy: 360)
        let accent = wantedHues.dropFirst(2).first ?? (base + 180).truncatingRemainder(dividingBy: 360)

        let style = styleWords[request.style.lowercased()] ?? words.lazy.compactMap { styleWords[$0] }.first ?? .plain
        var lightness: Float = 0.55
        if words.contains(where: darkWords.contains) || style == .neon { lightness = 0.22 }
        if words.contains(where: brightWords.contains) { lightness = 0.72 }
        var saturation: Float = 0.65
        if words.contains(where: softWords.contains) || style == .watercolor { saturation = 0.38 }
        if words.contains(where: vividWords.contains) { saturation = 0.92 }

        var scene = Scene(
            skyTop: RGB(hue: second, saturation: saturation, lightness: min(lightness + 0.15, 0.92)),
            skyBottom: RGB(hue: base, saturation: saturation, lightness: lightness),
            ground: nil, shapes: [], grain: style == .pixel ? 0 : 6, style: style)

        if words.contains(where: landWords.contains) {
            let ridged = words.contains(where: ridgeWords.contains)
            // Water takes the colour of water; other ground the palette's accent.
            let groundHue: Float = words.contains(where: waterWords.contains) ? 205 : accent
            scene.ground = Scene.Ground(
                top: RGB(hue: groundHue, saturation: saturation * 0.8, lightness: lightness * 0.8),
                bottom: RGB(hue: groundHue, saturation: saturation, lightness: lightness * 0.45),
                horizon: 0.55 + random.unit() * 0.15, ridge: ridged ? 0.12 + random.unit() * 0.12 : 0.015,
                frequency: 2 + random.unit() * 5, phase: random.unit() * 6.283)
        }
        if words.contains("sun") && !unwanted.contains("sun") {
            scene.shapes.append(
                .init(
                    kind: .disc, x: 0.25 + random.unit() * 0.5, y: 0.18 + random.unit() * 0.2,
                    radius: 0.09, color: RGB(hue: 45, saturation: 0.95, lightness: 0.68), opacity: 1))
            scene.shapes.append(
                .init(
                    kind: .glow, x: scene.shapes.last!.x, y: scene.shapes.last!.y,
                    radius: 0.3, color: RGB(hue: 40, saturation: 0.9, lightness: 0.7), opacity: 0.5))
        }
        if words.contains("moon") && !unwanted.contains("moon") {
            scene.shapes.append(
                .init(
                    kind: .disc, x: 0.2 + random.unit() * 0.6, y: 0.15 + random.unit() * 0.15,
                    radius: 0.07, color: RGB(hue: 50, saturation: 0.15, lightness: 0.9), opacity: 1))
        }
        if (words.contains("stars") || words.contains("star")) && !unwanted.contains("stars") {
            for _ in 0..<60 {
                scene.shapes.append(
                    .init(
                        kind: .disc, x: random.unit(), y: random.unit() * 0.5,
                        radius: 0.002 + random.unit() * 0.004, color: RGB(r: 255, g: 250, b: 235), opacity: 0.9))
            }
        }

        let reserved = Set(hues.keys).union(darkWords).union(brightWords).union(softWords).union(vividWords)
            .union(stopWords).union(styleWords.keys).union(["sun", "moon", "star", "stars"])
        let subjects = words.filter { !reserved.contains($0) && !unwanted.contains($0) && !landWords.contains($0) }
        let palette = [base, second, accent]
        for (index, word) in subjects.prefix(7).enumerated() {
            let hash = FNV1a.hash(word)
            let kinds: [Scene.ShapeKind] = style == .neon ? [.ring, .glow, .ring, .glow] : [.disc, .ring, .box, .glow]
            let thirds: [Float] = [1.0 / 3, 0.5, 2.0 / 3]
            scene.shapes.append(
                .init(
                    kind: kinds[Int(hash % 4)],
                    x: thirds[Int((hash >> 8) % 3)] + (random.unit() - 0.5) * 0.25,
                    y: (scene.ground?.horizon ?? 0.6) - 0.1 + (random.unit() - 0.5) * 0.3,
                    radius: 0.05 + Float(min(word.count, 12)) * 0.012 + random.unit() * 0.05,
                    color: RGB(
                        hue: (palette[index % 3] + Float((hash >> 16) % 40) - 20 + 360).truncatingRemainder(dividingBy: 360),
                        saturation: min(saturation + 0.15, 1), lightness: style == .neon ? 0.6 : min(lightness + 0.1, 0.85)),
                    opacity: style == .watercolor ? 0.55 : 0.92))
        }
        return scene
    }

    /// Signed difference between two hues, in degrees (-180…180).
    static func angle(_ a: Float, _ b: Float) -> Float {
        var d = (a - b).truncatingRemainder(dividingBy: 360)
        if d > 180 { d -= 360 }
        if d < -180 { d += 360 }
        return d
    }
}
