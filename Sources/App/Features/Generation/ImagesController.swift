import Domain
import Fluent
import Foundation
import Persistence
import Storage
import Vapor

/// Serves generated images and their thumbnails to their owner only (404 for anyone else),
/// opened with the owner's content key. Images never change, so the ETag is the image's
/// SHA-256 and a matching `If-None-Match` gets 304 without reading the blob.
enum ImagesController {
    @Sendable static func image(req: Request) async throws -> Response {
        try await serve(req, thumbnail: false)
    }

    @Sendable static func thumbnail(req: Request) async throws -> Response {
        try await serve(req, thumbnail: true)
    }

    private static func serve(_ req: Request, thumbnail: Bool) async throws -> Response {
        let user = try req.requireUser(scope: .generationsRead)
        guard let id = req.parameters.get("imageID", as: UUID.self),
            let image = try await GalleryStore.image(id, of: user.id, on: req.db)
        else { throw AccessError.notFound }
        // The owner's content key first: after erasure not even a 304 answers for the image.
        guard let key = try await req.pictor.contentKeys.existingKey(for: user.id, on: req.db) else { throw AccessError.notFound }
        let etag = "\"\(image.sha256)\(thumbnail ? "-t" : "")\""
        var headers = HTTPHeaders.privateFile(etag: etag)
        if req.hasCurrentCopy(of: etag) { return Response(status: .notModified, headers: headers) }
        let sealed = try await req.pictor.blobs.get(BlobKey(thumbnail ? image.thumbnailKey : image.blobKey))
        let bytes = try key.open(sealed)
        let format = thumbnail ? "webp" : image.format
        headers.contentType = HTTPMediaType(type: "image", subType: format)
        let name =
            "pictor-\(image.generationID.uuidString.prefix(8).lowercased())-\(image.position + 1)\(thumbnail ? "-thumb" : "").\(format == "jpeg" ? "jpg" : format)"
        headers.replaceOrAdd(name: .contentDisposition, value: "inline; filename=\"\(name)\"")
        return Response(status: .ok, headers: headers, body: .init(data: bytes))
    }
}
