import CVips
import CVipsShim
import Foundation

/// What an encoded image says about itself, read from its header only.
public struct ImageHeader: Sendable, Equatable {
    public let format: ImageFormat
    public let width: Int
    public let height: Int
    /// Names of the metadata fields libvips found (e.g. `exif-data`, `xmp-data`, `icc-profile-data`).
    public let metadataFields: [String]
    /// The XMP packet, when the image carries one.
    public let xmp: XMPPacket?
}

/// An image decoded from untrusted bytes, with the format it came in.
public struct DecodedImage: Sendable {
    public let image: Image
    public let sourceFormat: ImageFormat
}

extension Image {
    /// Reads the header of encoded bytes without decoding pixels.
    public static func header(of data: Data, limits: ImageLimits) throws(ImagingError) -> ImageHeader {
        let (format, handle) = try load(data, limits: limits)
        defer { pictor_vips_unref(handle) }
        return ImageHeader(
            format: format,
            width: Int(vips_image_get_width(handle)),
            height: Int(vips_image_get_height(handle)),
            metadataFields: fieldNames(of: handle),
            xmp: xmp(of: handle)
        )
    }

    /// Decodes untrusted bytes into 8-bit sRGB pixels and nothing else.
    ///
    /// Size, format and pixel count are checked before any pixel is decoded, so a
    /// decompression bomb costs only its header. The image is turned upright from its
    /// EXIF orientation, converted through its ICC profile to sRGB, and then copied
    /// pixel by pixel: EXIF, GPS, XMP, IPTC, ICC and text chunks cannot survive.
    public static func decode(_ data: Data, limits: ImageLimits) throws(ImagingError) -> DecodedImage {
        let (format, loaded) = try load(data, limits: limits)
        var current = loaded
        defer { pictor_vips_unref(current) }
        for step in [pictor_vips_autorotate, pictor_vips_to_srgb, pictor_vips_cast_uchar] {
            var next: UnsafeMutablePointer<VipsImage>?
            guard step(current, &next) == 0, let next else { throw .undecodable(Vips.takeError()) }
            pictor_vips_unref(current)
            current = next
        }
        guard let pixels = pictor_vips_pixels_only(current) else { throw .undecodable(Vips.takeError()) }
        return DecodedImage(image: Image(owning: pixels), sourceFormat: format)
    }

    private static func load(
        _ data: Data, limits: ImageLimits
    ) throws(ImagingError) -> (ImageFormat, UnsafeMutablePointer<VipsImage>) {
        try Vips.start()
        guard data.count <= limits.maxBytes else {
            throw .tooManyBytes(actual: data.count, limit: limits.maxBytes)
        }
        guard let format = ImageFormat.sniff(data) else { throw .unsupportedFormat }
        let handle: UnsafeMutablePointer<VipsImage>? = data.withUnsafeBytes { bytes in
            pictor_vips_load(bytes.baseAddress, bytes.count)
        }
        guard let handle else { throw .undecodable(Vips.takeError()) }
        let width = Int(vips_image_get_width(handle))
        let height = Int(vips_image_get_height(handle))
        // libvips dimensions are 32-bit, so the product cannot overflow.
        guard width * height <= limits.maxPixels else {
            pictor_vips_unref(handle)
            throw .tooManyPixels(width: width, height: height, limit: limits.maxPixels)
        }
        return (format, handle)
    }

    private static func fieldNames(of handle: UnsafeMutablePointer<VipsImage>) -> [String] {
        guard let fields = vips_image_get_fields(handle) else { return [] }
        defer { g_strfreev(fields) }
        var names: [String] = []
        var index = 0
        while let name = fields[index] {
            names.append(String(cString: name))
            index += 1
        }
        return names
    }

    private static func xmp(of handle: UnsafeMutablePointer<VipsImage>) -> XMPPacket? {
        guard vips_image_get_typeof(handle, "xmp-data") != 0 else { return nil }
        var bytes: UnsafeRawPointer?
        var length = 0
        guard vips_image_get_blob(handle, "xmp-data", &bytes, &length) == 0, let bytes else { return nil }
        return XMPPacket(bytes: Data(bytes: bytes, count: length))
    }
}
