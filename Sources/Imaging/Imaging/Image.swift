import CVips
import CVipsShim
import Foundation

/// A decoded image held by libvips. Images are immutable once made; libvips
/// reference-counts them atomically, so one may be shared between threads.
public final class Image: @unchecked Sendable {
    let handle: UnsafeMutablePointer<VipsImage>

    public var width: Int { Int(vips_image_get_width(handle)) }
    public var height: Int { Int(vips_image_get_height(handle)) }
    public var bands: Int { Int(vips_image_get_bands(handle)) }

    /// Takes ownership of one reference to `handle`.
    init(owning handle: UnsafeMutablePointer<VipsImage>) {
        self.handle = handle
    }

    deinit {
        pictor_vips_unref(handle)
    }

    /// An image from 8-bit pixels in row order: 1 (grey), 3 (RGB) or 4 (RGBA) bands.
    public convenience init(pixels: UnsafeRawBufferPointer, width: Int, height: Int, bands: Int) throws(ImagingError) {
        try Vips.start()
        guard [1, 3, 4].contains(bands), width > 0, height > 0, pixels.count == width * height * bands else {
            throw .encodingFailed("pixel buffer of \(pixels.count) bytes does not match \(width)×\(height)×\(bands)")
        }
        guard
            let handle = vips_image_new_from_memory_copy(
                pixels.baseAddress, pixels.count, Int32(width), Int32(height), Int32(bands), VIPS_FORMAT_UCHAR)
        else { throw .encodingFailed(Vips.takeError()) }
        handle.pointee.Type = bands == 1 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB
        self.init(owning: handle)
    }

    /// A smaller copy that fits inside `width` × `height`, keeping the aspect ratio; never enlarges.
    public func thumbnail(width: Int, height: Int) throws(ImagingError) -> Image {
        var output: UnsafeMutablePointer<VipsImage>?
        guard pictor_vips_thumbnail(handle, &output, Int32(width), Int32(height)) == 0, let output else {
            throw .encodingFailed(Vips.takeError())
        }
        return Image(owning: output)
    }

    /// Encodes the pixels with no metadata at all, then adds `xmp` (when given) as the only item.
    public func encode(_ encoding: Encoding, xmp: XMPPacket? = nil) throws(ImagingError) -> Data {
        let encoded = try save(encoding, strip: true)
        return try MetadataWriter.finish(encoded, format: encoding.format, xmp: xmp, hasAlpha: bands == 2 || bands == 4)
    }

    /// Saves through libvips; `strip: false` keeps whatever metadata the image carries.
    func save(_ encoding: Encoding, strip: Bool) throws(ImagingError) -> Data {
        let strip: Int32 = strip ? 1 : 0
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        let status: Int32
        switch encoding {
        case .png(let compression):
            status = pictor_vips_save_png(handle, &buffer, &length, Int32(compression), strip)
        case .jpeg(let quality):
            status = pictor_vips_save_jpeg(handle, &buffer, &length, Int32(quality), strip)
        case .webp(let quality, let effort, let lossless):
            status = pictor_vips_save_webp(handle, &buffer, &length, Int32(quality), Int32(effort), lossless ? 1 : 0, strip)
        }
        guard status == 0, let buffer else { throw .encodingFailed(Vips.takeError()) }
        defer { pictor_vips_free(buffer) }
        return Data(bytes: buffer, count: length)
    }
}

extension Image {
    /// The raw 8-bit pixels, row by row, `bands` bytes per pixel.
    public func pixels() throws(ImagingError) -> Data {
        var size = 0
        guard let memory = vips_image_write_to_memory(handle, &size) else {
            throw .encodingFailed(Vips.takeError())
        }
        defer { pictor_vips_free(memory) }
        return Data(bytes: memory, count: size)
    }
}
