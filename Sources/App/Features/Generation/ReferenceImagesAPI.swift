import Crypto
import Domain
import Fluent
import Foundation
import Imaging
import Persistence
import Storage
import Vapor

/// Reference images: uploaded as multipart (`image` field), checked from their bytes (PNG,
/// JPEG or WebP; size and pixel limits; decompression bombs refused from the header),
/// re-encoded as PNG so that no EXIF, GPS or text survives, sealed with the owner's key and
/// stored. Owners list, view and delete their own; everyone else gets 404.
enum ReferenceImagesAPI {
    struct ReferenceImageDTO: Content {
        let id: UUID
        let width: Int
        let height: Int
        let format: String
        let bytes: Int
        let createdAt: Date
        let url: String

        init(_ row: ReferenceImageModel) {
            id = row.id!
            width = row.width
            height = row.height
            format = row.format
            bytes = row.bytes
            createdAt = row.createdAt
            url = SiteURL.apiReferenceImageFile.path(reference: row.id!)
        }
    }

    struct ReferenceImagePageDTO: Content {
        let data: [ReferenceImageDTO]
        /// Pass as `cursor` to get the next page; null on the last page.
        let nextCursor: String?
    }

    /// How many reference images one person may keep stored on their own (those uploaded with a
    /// generation in the studio go with it and are not counted).
    static let maxStoredPerUser = 500

    struct Upload: Content {
        var image: File?
    }

    /// Largest request body an upload may have: the image limit plus room for the multipart framing.
    static func maxBody(_ config: AppConfig) -> ByteCount {
        ByteCount(value: config.imageLimits.maxBytes + 64 * 1024)
    }

    @Sendable static func upload(req: Request) async throws -> Response {
        let user = try req.requireUser(scope: .generationsWrite)
        guard req.headers.contentType?.type == "multipart" else {
            throw UploadError.notMultipart
        }
        let upload = try req.content.decode(Upload.self)
        guard let file = upload.image, file.data.readableBytes > 0 else { throw UploadError.missingFile }
        let row = try await store(Data(file.data.readableBytesView), user: user.id, req: req)
        let response = try await ReferenceImageDTO(row).encodeResponse(status: .created, for: req)
        response.headers.replaceOrAdd(name: .location, value: ReferenceImageDTO(row).url)
        return response
    }

    /// Checks and cleans an uploaded image, then stores it sealed, bytes before row.
    static func store(_ data: Data, user: UUID, req: Request) async throws -> ReferenceImageModel {
        guard try await ReferenceImageStore.storedCount(of: user, on: req.db) < maxStoredPerUser else { throw UploadError.tooMany }
        // Decoding an upload of up to 40 megapixels takes seconds: on the image threads.
        let limits = req.pictor.config.imageLimits
        let reencoded = try await ImageWork.run { try clean(data, limits: limits) }
        let key = try await req.pictor.contentKeys.key(for: user, on: req.db)
        let row = ReferenceImageModel()
        row.id = UUID()
        row.userID = user
        let blobKey = try BlobKey.reference(user: user, reference: row.id!, fileExtension: reencoded.format.fileExtension)
        row.blobKey = blobKey.rawValue
        row.format = reencoded.format.rawValue
        row.width = reencoded.width
        row.height = reencoded.height
        row.bytes = reencoded.data.count
        row.sha256 = Data(SHA256.hash(data: reencoded.data)).hexString
        row.createdAt = req.pictor.clock.now().roundedToMillisecond
        // Bytes first: a row never exists without its blob.
        try await req.pictor.blobs.put(try key.seal(reencoded.data), at: blobKey)
        do {
            try await ReferenceImageStore.insert(row, on: req.db)
        } catch {
            try? await req.pictor.blobs.delete(blobKey)
            throw error
        }
        return row
    }

    /// Removes a stored reference: the row, then its bytes. Bytes that cannot be deleted now
    /// (storage unavailable) are left to the maintenance sweep, which removes unrecorded ones.
    static func remove(_ row: ReferenceImageModel, req: Request) async throws {
        try await ReferenceImageStore.delete(row, on: req.db)
        do {
            try await req.pictor.blobs.delete(BlobKey(row.blobKey))
        } catch {
            req.logger.warning("reference image bytes left for the maintenance sweep", metadata: ["error": .string("\(error)")])
        }
    }

    /// Decodes untrusted bytes with every check and writes the pixels only, with no metadata
    /// (upright, sRGB, 8-bit), in a format near the upload's size: a JPEG stays JPEG (quality 92,
    /// close to what was sent), a PNG or WebP becomes lossless WebP. Saved as PNG, a phone photo
    /// took several times the upload limit.
    static func clean(_ data: Data, limits: ImageLimits) throws -> (data: Data, format: ImageFormat, width: Int, height: Int) {
        let decoded = try Image.decode(data, limits: limits)
        let (encoding, format): (Encoding, ImageFormat) =
            decoded.sourceFormat == .jpeg
            ? (.jpeg(quality: 92), .jpeg) : (.webp(quality: 100, effort: 2, lossless: true), .webp)
        return (try decoded.image.encode(encoding), format, decoded.image.width, decoded.image.height)
    }

    /// `GET /api/v1/reference-images`: the owner's, newest first, `limit` (1–100, default 50) a
    /// page, `cursor` from the previous page's `nextCursor`.
    @Sendable static func list(req: Request) async throws -> ReferenceImagePageDTO {
        let user = try req.requireUser(scope: .generationsRead)
        let limit = PageCursor.limit(req, fallback: 50)
        let rows = try await ReferenceImageStore.page(of: user.id, after: try PageCursor.from(req), limit: limit + 1, on: req.db)
        let data = rows.prefix(limit).map(ReferenceImageDTO.init)
        let next = rows.count > limit ? data.last.map { PageCursor(createdAt: $0.createdAt, id: $0.id).token } : nil
        return ReferenceImagePageDTO(data: data, nextCursor: next)
    }

    @Sendable static func file(req: Request) async throws -> Response {
        let user = try req.requireUser(scope: .generationsRead)
        let row = try await owned(req, user: user)
        guard let key = try await req.pictor.contentKeys.existingKey(for: user.id, on: req.db) else { throw AccessError.notFound }
        let etag = "\"\(row.sha256)\""
        var headers = HTTPHeaders.privateFile(etag: etag)
        if req.hasCurrentCopy(of: etag) { return Response(status: .notModified, headers: headers) }
        let bytes = try key.open(try await req.pictor.blobs.get(BlobKey(row.blobKey)))
        let format = ImageFormat.sniff(bytes) ?? .png  // stored before 2026-12-07: PNG
        headers.contentType = HTTPMediaType(type: "image", subType: format.rawValue)
        return Response(status: .ok, headers: headers, body: .init(data: bytes))
    }

    @Sendable static func delete(req: Request) async throws -> HTTPStatus {
        let user = try req.requireUser(scope: .generationsWrite)
        try await remove(try await owned(req, user: user), req: req)
        return .noContent
    }

    private static func owned(_ req: Request, user: CurrentUser) async throws -> ReferenceImageModel {
        guard let id = req.parameters.get("referenceID", as: UUID.self),
            let row = try await ReferenceImageStore.find(id, of: user.id, on: req.db)
        else { throw AccessError.notFound }
        return row
    }

    enum UploadError: UserFacingError {
        case notMultipart, missingFile, tooMany

        var kind: FailureKind {
            switch self {
            case .notMultipart: .unsupportedMediaType
            case .missingFile: .invalidInput
            case .tooMany: .conflict
            }
        }

        var userMessage: String {
            switch self {
            case .notMultipart: "Send the image as multipart/form-data in a field named image."
            case .missingFile: "Choose an image to upload (PNG, JPEG or WebP)."
            case .tooMany:
                "You have \(ReferenceImagesAPI.maxStoredPerUser) reference images stored, the most Pictor keeps for one person. Delete some you no longer need first."
            }
        }

        var fieldErrors: [FieldError] {
            self == .notMultipart ? [] : [FieldError(field: "image", message: userMessage)]
        }
    }
}
