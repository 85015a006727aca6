import CVips
import CVipsShim
import Foundation
import TestSupport

@testable import Imaging

/// Images made inside the tests, with the metadata a camera or editor would leave.
enum TestImages {
    /// A 3-band gradient with a block of colour, `width` × `height`.
    static func gradient(width: Int, height: Int) throws -> Image {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                pixels[i] = UInt8(x * 255 / max(width - 1, 1))
                pixels[i + 1] = UInt8(y * 255 / max(height - 1, 1))
                pixels[i + 2] = (x / 16 + y / 16) % 2 == 0 ? 200 : 40
            }
        }
        return try pixels.withUnsafeBytes { try Image(pixels: $0, width: width, height: height, bands: 3) }
    }

    /// Encodes `image` with the given metadata fields set, as a camera would (no stripping).
    static func encodeWithMetadata(
        _ image: Image, as encoding: Encoding,
        blobs: [String: Data] = [:], strings: [String: String] = [:], integers: [String: Int32] = [:]
    ) throws -> Data {
        var copy: UnsafeMutablePointer<VipsImage>?
        guard pictor_vips_copy(image.handle, &copy) == 0, let copy else { throw ImagingError.notStarted }
        for (name, value) in blobs {
            value.withUnsafeBytes { vips_image_set_blob_copy(copy, name, $0.baseAddress, $0.count) }
        }
        for (name, value) in strings { vips_image_set_string(copy, name, value) }
        for (name, value) in integers { vips_image_set_int(copy, name, value) }
        let tagged = Image(owning: copy)
        return try tagged.save(encoding, strip: false)
    }

    /// A minimal EXIF block (TIFF, little-endian): Make = "PictorCam" and a GPS latitude of 52°31′N.
    static let exifWithGPS: Data = {
        var b: [UInt8] = Array("Exif".utf8) + [0, 0]
        func u16(_ v: UInt16) { b += [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: UInt32) { b += [0, 8, 16, 24].map { UInt8((v >> $0) & 0xFF) } }
        b += Array("II".utf8)
        u16(42)
        u32(8)
        // IFD0 at 8: Make, GPS pointer.
        u16(2)
        u16(0x010F)
        u16(2)
        u32(10)
        u32(38)
        u16(0x8825)
        u16(4)
        u32(1)
        u32(48)
        u32(0)
        b += Array("PictorCam".utf8) + [0]  // at 38
        // GPS IFD at 48: latitude ref "N", latitude 52/1 31/1 0/1 at 78.
        u16(2)
        u16(0x0001)
        u16(2)
        u32(2)
        b += Array("N".utf8) + [0, 0, 0]
        u16(0x0002)
        u16(5)
        u32(3)
        u32(78)
        u32(0)
        for value: UInt32 in [52, 1, 31, 1, 0, 1] { u32(value) }
        return Data(b)
    }()

    /// Inserts a PNG `tEXt` chunk after IHDR, as editors do for author and comment fields.
    static func addingPNGText(_ png: Data, keyword: String, text: String) -> Data {
        let bytes = [UInt8](png)
        let chunk = TestPNG.chunk("tEXt", Array(keyword.utf8) + [0] + Array(text.utf8))
        return Data(bytes[0..<33] + chunk + bytes[33...])
    }
}

extension Data {
    func contains(_ text: String) -> Bool {
        range(of: Data(text.utf8)) != nil
    }
}
