import Foundation

/// Paints a `Scene` into 8-bit RGB pixels: sky gradient, ridged ground, shapes with
/// soft edges, grain, then the style's finish. Work is proportional to the pixels
/// each element covers.
enum Painter {
    static func paint(_ scene: Scene, width: Int, height: Int, grainSeed: UInt64) -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        pixels.withUnsafeMutableBufferPointer { buffer in
            paintBackground(scene, buffer, width, height)
            let side = Float(min(width, height))
            for shape in scene.shapes {
                paintShape(shape, soft: scene.style == .watercolor, buffer, width, height, side)
            }
            if scene.grain > 0 { addGrain(scene.grain, seed: grainSeed, buffer) }
            switch scene.style {
            case .mono: toGray(buffer)
            case .pixel: pixelate(buffer, width, height, block: max(4, min(width, height) / 64))
            case .plain, .neon, .watercolor: break
            }
        }
        return pixels
    }

    private static func paintBackground(_ scene: Scene, _ p: UnsafeMutableBufferPointer<UInt8>, _ w: Int, _ h: Int) {
        var ridge = [Int](repeating: h, count: w)
        if let ground = scene.ground {
            for x in 0..<w {
                let t = Float(x) / Float(w)
                let wave =
                    0.5 + 0.35 * sin(t * ground.frequency * 6.283 + ground.phase)
                    + 0.15 * sin(t * ground.frequency * 17.1 + ground.phase * 2)
                ridge[x] = Int((ground.horizon - ground.ridge * wave) * Float(h))
            }
        }
        for y in 0..<h {
            let t = Float(y) / Float(max(h - 1, 1))
            let sky = mix(scene.skyTop, scene.skyBottom, t)
            var earth = sky
            if let ground = scene.ground {
                let depth = max(0, (Float(y) / Float(h) - ground.horizon + ground.ridge) / (1 - ground.horizon + ground.ridge))
                earth = mix(ground.top, ground.bottom, min(depth, 1))
            }
            var index = y * w * 3
            for x in 0..<w {
                let c = y >= ridge[x] ? earth : sky
                p[index] = c.r
                p[index + 1] = c.g
                p[index + 2] = c.b
                index += 3
            }
        }
    }

    private static func paintShape(
        _ shape: Scene.Shape, soft: Bool, _ p: UnsafeMutableBufferPointer<UInt8>, _ w: Int, _ h: Int, _ side: Float
    ) {
        let cx = shape.x * Float(w)
        let cy = shape.y * Float(h)
        let r = max(shape.radius * side, 1)
        let feather: Float = soft ? max(r * 0.25, 2) : 1.2
        let reach = shape.kind == .glow ? r : r + feather
        let x0 = max(0, Int(cx - reach))
        let x1 = min(w - 1, Int(cx + reach))
        let y0 = max(0, Int(cy - reach))
        let y1 = min(h - 1, Int(cy + reach))
        guard x0 <= x1, y0 <= y1 else { return }
        let (sr, sg, sb) = (Float(shape.color.r), Float(shape.color.g), Float(shape.color.b))
        for y in y0...y1 {
            let dy = Float(y) + 0.5 - cy
            var index = (y * w + x0) * 3
            for x in x0...x1 {
                let dx = Float(x) + 0.5 - cx
                let alpha = coverage(shape.kind, dx: dx, dy: dy, r: r, feather: feather) * shape.opacity
                if alpha > 0.002 {
                    p[index] = UInt8(Float(p[index]) + (sr - Float(p[index])) * alpha)
                    p[index + 1] = UInt8(Float(p[index + 1]) + (sg - Float(p[index + 1])) * alpha)
                    p[index + 2] = UInt8(Float(p[index + 2]) + (sb - Float(p[index + 2])) * alpha)
                }
                index += 3
            }
        }
    }

    /// How much of a pixel at (dx, dy) from the centre the shape covers, 0…1.
    @inline(__always)
    private static func coverage(_ kind: Scene.ShapeKind, dx: Float, dy: Float, r: Float, feather: Float) -> Float {
        switch kind {
        case .disc:
            return clamp((r - (dx * dx + dy * dy).squareRoot()) / feather + 0.5)
        case .ring:
            let thickness = max(r * 0.12, 2)
            return clamp((thickness - abs((dx * dx + dy * dy).squareRoot() - r)) / feather + 0.5)
        case .box:
            return clamp((r - max(abs(dx), abs(dy))) / feather + 0.5)
        case .glow:
            let falloff = max(0, 1 - (dx * dx + dy * dy).squareRoot() / r)
            return falloff * falloff
        }
    }

    @inline(__always)
    private static func clamp(_ value: Float) -> Float { min(max(value, 0), 1) }

    private static func addGrain(_ amount: Int, seed: UInt64, _ p: UnsafeMutableBufferPointer<UInt8>) {
        var state = seed | 1
        let span = UInt64(2 * amount + 1)
        var index = 0
        while index < p.count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            let offset = Int(state % span) - amount
            for channel in 0..<3 {
                p[index + channel] = UInt8(clamping: Int(p[index + channel]) + offset)
            }
            index += 3
        }
    }

    private static func toGray(_ p: UnsafeMutableBufferPointer<UInt8>) {
        var index = 0
        while index < p.count {
            let luma = (54 * Int(p[index]) + 183 * Int(p[index + 1]) + 19 * Int(p[index + 2])) >> 8
            p[index] = UInt8(luma)
            p[index + 1] = UInt8(luma)
            p[index + 2] = UInt8(luma)
            index += 3
        }
    }

    /// Each block takes the colour of its top-left pixel.
    private static func pixelate(_ p: UnsafeMutableBufferPointer<UInt8>, _ w: Int, _ h: Int, block: Int) {
        for y in 0..<h {
            let sourceRow = (y / block) * block
            for x in 0..<w {
                let source = (sourceRow * w + (x / block) * block) * 3
                let target = (y * w + x) * 3
                p[target] = p[source]
                p[target + 1] = p[source + 1]
                p[target + 2] = p[source + 2]
            }
        }
    }

    private static func mix(_ a: RGB, _ b: RGB, _ t: Float) -> RGB {
        RGB(
            r: UInt8(Float(a.r) + (Float(b.r) - Float(a.r)) * t),
            g: UInt8(Float(a.g) + (Float(b.g) - Float(a.g)) * t),
            b: UInt8(Float(a.b) + (Float(b.b) - Float(a.b)) * t))
    }
}
