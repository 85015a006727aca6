import Foundation

/// Gives encoded PNG, JPEG or WebP bytes exactly the metadata Pictor wants:
/// none from the source, and Pictor's XMP packet when one is given.
///
/// libvips 8.14 saves with `strip` leave nothing in PNG and JPEG, but its WebP
/// saver still writes an EXIF chunk of its own; and an unstripped save adds
/// EXIF to JPEG and WebP. So Pictor saves stripped, removes what WebP kept,
/// and adds its XMP packet where each format's XMP specification puts it.
enum MetadataWriter {
    static func finish(
        _ encoded: Data, format: ImageFormat, xmp packet: XMPPacket?, hasAlpha: Bool
    ) throws(ImagingError) -> Data {
        switch (format, packet) {
        case (.webp, _): try webp(packet, encoded, hasAlpha: hasAlpha)
        case (.jpeg, let packet?): try jpeg(packet, encoded)
        case (.png, let packet?): try png(packet, encoded)
        case (.jpeg, nil), (.png, nil): encoded
        }
    }

    /// JPEG: an APP1 segment with the XMP namespace, right after SOI.
    private static func jpeg(_ packet: XMPPacket, _ encoded: Data) throws(ImagingError) -> Data {
        let bytes = [UInt8](encoded)
        guard bytes.starts(with: [0xFF, 0xD8]) else { throw .encodingFailed("JPEG output does not start with SOI") }
        let payload = Array("http://ns.adobe.com/xap/1.0/".utf8) + [0] + [UInt8](packet.bytes)
        guard payload.count + 2 <= 0xFFFF else { throw .encodingFailed("XMP packet too large for one JPEG segment") }
        let segment: [UInt8] = [0xFF, 0xE1] + bigEndian16(UInt16(payload.count + 2)) + payload
        return Data(bytes[0..<2] + segment + bytes[2...])
    }

    /// PNG: an uncompressed `iTXt` chunk with keyword `XML:com.adobe.xmp`, right after IHDR.
    private static func png(_ packet: XMPPacket, _ encoded: Data) throws(ImagingError) -> Data {
        let bytes = [UInt8](encoded)
        // Signature (8) + IHDR length (4) + type (4) + data (13) + CRC (4).
        let afterHeader = 8 + 4 + 4 + 13 + 4
        guard bytes.count > afterHeader, Array(bytes[12..<16]) == Array("IHDR".utf8) else {
            throw .encodingFailed("PNG output does not start with IHDR")
        }
        // keyword, NUL, compression flag 0, method 0, empty language, NUL, empty translation, NUL, text
        let body = Array("XML:com.adobe.xmp".utf8) + [0, 0, 0, 0, 0] + [UInt8](packet.bytes)
        let typed = Array("iTXt".utf8) + body
        let chunk = bigEndian32(UInt32(body.count)) + typed + bigEndian32(CRC32.checksum(typed))
        return Data(bytes[0..<afterHeader] + chunk + bytes[afterHeader...])
    }

    /// WebP: image chunks only (metadata chunks dropped), in the extended format
    /// (`VP8X`) with an `XMP ` chunk at the end when a packet is given.
    private static func webp(_ packet: XMPPacket?, _ encoded: Data, hasAlpha: Bool) throws(ImagingError) -> Data {
        let bytes = [UInt8](encoded)
        guard bytes.count > 20, Array(bytes[0..<4]) == Array("RIFF".utf8), Array(bytes[8..<12]) == Array("WEBP".utf8)
        else { throw .encodingFailed("WebP output is not a RIFF/WEBP file") }
        var chunks = try riffChunks(bytes[12...])
        chunks.removeAll { ["EXIF", "XMP ", "ICCP"].contains($0.type) }
        if let index = chunks.firstIndex(where: { $0.type == "VP8X" }) {
            chunks[index].body[0] &= ~UInt8(0x20 | 0x08 | 0x04)  // no ICC, EXIF or XMP
        }
        if let packet {
            if !chunks.contains(where: { $0.type == "VP8X" }) {
                guard let first = chunks.first, let (width, height) = webpCanvasSize(first) else {
                    throw .encodingFailed("WebP output has no image chunk Pictor knows")
                }
                let body = [hasAlpha ? 0x10 : 0, 0, 0, 0] + littleEndian24(UInt32(width - 1)) + littleEndian24(UInt32(height - 1))
                chunks.insert(RIFFChunk(type: "VP8X", body: body), at: 0)
            }
            chunks[0].body[0] |= 0x04  // XMP present
            chunks.append(RIFFChunk(type: "XMP ", body: [UInt8](packet.bytes)))
        } else if chunks.first?.type == "VP8X", chunks.first!.body[0] & ~UInt8(0x10) == 0 {
            chunks.removeFirst()  // nothing extended is left: back to the simple format
        }
        let payload = chunks.flatMap(\.serialized)
        return Data(Array("RIFF".utf8) + littleEndian32(UInt32(4 + payload.count)) + Array("WEBP".utf8) + payload)
    }

    private struct RIFFChunk {
        let type: String
        var body: [UInt8]

        var serialized: [UInt8] {
            Array(type.utf8) + littleEndian32(UInt32(body.count)) + body + (body.count % 2 == 1 ? [0] : [])
        }
    }

    private static func riffChunks(_ bytes: ArraySlice<UInt8>) throws(ImagingError) -> [RIFFChunk] {
        var chunks: [RIFFChunk] = []
        var offset = bytes.startIndex
        while offset + 8 <= bytes.endIndex {
            let type = String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
            let size = Int(bytes[offset + 4]) | Int(bytes[offset + 5]) << 8 | Int(bytes[offset + 6]) << 16 | Int(bytes[offset + 7]) << 24
            let start = offset + 8
            guard start + size <= bytes.endIndex else { throw .encodingFailed("WebP chunk \(type) overruns the file") }
            chunks.append(RIFFChunk(type: type, body: Array(bytes[start..<start + size])))
            offset = start + size + size % 2
        }
        return chunks
    }

    /// Canvas size from a simple-format WebP's `VP8 ` (lossy) or `VP8L` (lossless) chunk.
    private static func webpCanvasSize(_ chunk: RIFFChunk) -> (Int, Int)? {
        let b = chunk.body
        switch chunk.type {
        case "VP8 " where b.count >= 10:
            // Frame tag (3) + start code (3), then 14-bit width and height.
            let width = Int(b[6]) | (Int(b[7]) & 0x3F) << 8
            let height = Int(b[8]) | (Int(b[9]) & 0x3F) << 8
            return (width, height)
        case "VP8L" where b.count >= 5:
            // Signature 0x2f, then 14 bits width-1 and 14 bits height-1, little-endian bit order.
            let bits = UInt32(b[1]) | UInt32(b[2]) << 8 | UInt32(b[3]) << 16 | UInt32(b[4]) << 24
            return (Int(bits & 0x3FFF) + 1, Int((bits >> 14) & 0x3FFF) + 1)
        default:
            return nil
        }
    }

    private static func bigEndian16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    private static func bigEndian32(_ v: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8((v >> $0) & 0xFF) } }
    private static func littleEndian32(_ v: UInt32) -> [UInt8] { [0, 8, 16, 24].map { UInt8((v >> $0) & 0xFF) } }
    private static func littleEndian24(_ v: UInt32) -> [UInt8] { [0, 8, 16].map { UInt8((v >> $0) & 0xFF) } }
}

/// CRC-32 (ISO 3309, as PNG uses it).
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
