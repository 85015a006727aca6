import Domain
import Foundation
import Imaging
import Persistence
import Storage
import Vapor

/// `GET /images/{id}/download?format=png|jpeg|webp`: the owner's image as a file to save, in
/// the format asked for (PNG is the stored file; JPEG and WebP are encoded from it, carrying
/// the same AI-origin marker). Every download is recorded in the person's download activity
/// (a HEAD, which downloads nothing, is not).
enum DownloadsController {
    @Sendable static func download(req: Request) async throws -> Response {
        let user = try req.requireUser(scope: .generationsRead)
        let requested = (try? req.query.get(String.self, at: "format"))?.lowercased() ?? "png"
        guard let format = ImageFormat(rawValue: requested == "jpg" ? "jpeg" : requested) else {
            throw GenerationInputError(fieldErrors: [FieldError(field: "format", message: "Download as png, jpeg or webp.")])
        }
        guard let id = req.parameters.get("imageID", as: UUID.self),
            let image = try await GalleryStore.image(id, of: user.id, on: req.db),
            let key = try await req.pictor.contentKeys.existingKey(for: user.id, on: req.db)
        else { throw AccessError.notFound }
        let stored = try key.open(try await req.pictor.blobs.get(BlobKey(image.blobKey)))
        let bytes = try await convert(stored, storedFormat: image.format, to: format, source: image.digitalSourceType, req: req)
        // Vapor answers a HEAD with this route, sending no body: nothing was downloaded. (It is
        // still encoded, so that its Content-Length is the download's.)
        if req.method != .HEAD {
            try await DownloadStore.record(
                DownloadRecord(
                    userID: user.id, imageID: image.id!, generationID: image.generationID, format: format.rawValue, createdAt: req.pictor.clock.now()),
                on: req.db)
        }
        var headers = HTTPHeaders()
        headers.contentType = HTTPMediaType(type: "image", subType: format.rawValue)
        headers.replaceOrAdd(name: .cacheControl, value: "private, no-store")
        let name = "pictor-\(image.generationID.uuidString.prefix(8).lowercased())-\(image.position + 1).\(format.fileExtension)"
        headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"\(name)\"")
        return Response(status: .ok, headers: headers, body: .init(data: bytes))
    }

    /// The stored image in `format`; encoding runs on the thread pool (tens of ms for WebP).
    private static func convert(_ stored: Data, storedFormat: String, to format: ImageFormat, source: String, req: Request) async throws -> Data {
        if format.rawValue == storedFormat { return stored }
        let limits = req.pictor.config.outputLimits
        let marker = XMPPacket.digitalSource(DigitalSourceType(rawValue: source) ?? .trainedAlgorithmicMedia)
        return try await req.application.threadPool.runIfActive {
            let image = try Image.decode(stored, limits: limits).image
            return try image.encode(format == .jpeg ? .jpeg(quality: 92) : format == .webp ? .webp(quality: 90) : .png(), xmp: marker)
        }
    }
}
