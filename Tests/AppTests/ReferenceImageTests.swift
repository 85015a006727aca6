import Domain
import Fluent
import Foundation
import Imaging
import Persistence
import Providers
import Storage
import TestSupport
import Testing
import Vapor
import VaporTesting

@testable import App

@Suite struct ReferenceImageTests {
    /// A JPEG carrying a comment segment with a location and a name, as cameras and editors leave.
    static func photoWithComment(_ comment: String) throws -> Data {
        var pixels = [UInt8](repeating: 0, count: 96 * 64 * 3)
        for i in stride(from: 0, to: pixels.count, by: 3) {
            pixels[i] = UInt8(i % 251)
            pixels[i + 1] = 90
            pixels[i + 2] = 200
        }
        let jpeg = try pixels.withUnsafeBytes { try Image(pixels: $0, width: 96, height: 64, bands: 3) }.encode(.jpeg(quality: 90))
        let text = Array(comment.utf8)
        let length = text.count + 2
        let segment: [UInt8] = [0xFF, 0xFE, UInt8(length >> 8), UInt8(length & 0xFF)] + text
        return Data([0xFF, 0xD8] + segment + jpeg.dropFirst(2))
    }

    /// A PNG whose header claims 100000 × 100000 pixels in a few dozen bytes.
    static let bomb = TestPNG.bomb(width: 100_000, height: 100_000)

    struct Reference: Decodable {
        let id: UUID
        let width: Int
        let height: Int
        let url: String
        let format: String?
    }

    struct Page: Decodable {
        let data: [Reference]
        let nextCursor: String?
    }

    func upload(_ browser: Browser, _ data: Data) async throws -> TestingHTTPResponse {
        try await browser.apiBytes(.POST, "/api/v1/reference-images", multipart: data)
    }

    /// What is kept is near the upload's size: a photo's JPEG stays JPEG, a PNG becomes lossless
    /// WebP (the same pixels, fewer bytes). Kept as PNG, a 5 MB phone photo took 20–30 MB.
    @Test func referencesAreKeptNearTheirUploadsSize() async throws {
        try await withPictor { app in
            let browser = try await signedInForAPI(app, email: "ref-sizes@example.com")
            var state: UInt64 = 7
            let width = 640
            let height = 480
            var pixels = [UInt8](repeating: 0, count: width * height * 3)
            for y in 0..<height {
                for x in 0..<width {
                    state = state &* 6_364_136_223_846_793_005 &+ 1
                    let grain = UInt8(truncatingIfNeeded: state >> 60)  // a little sensor noise on smooth gradients
                    let index = (y * width + x) * 3
                    pixels[index] = UInt8(x * 255 / width) &+ grain
                    pixels[index + 1] = UInt8(y * 255 / height) &+ grain
                    pixels[index + 2] = 128 &+ grain
                }
            }
            let image = try pixels.withUnsafeBytes { try Image(pixels: $0, width: width, height: height, bands: 3) }
            let limits = app.pictor.config.imageLimits
            for (upload, kept) in [(try image.encode(.jpeg(quality: 90)), ImageFormat.jpeg), (try image.encode(.png(compression: 6)), .webp)] {
                let reference: Reference = try await self.upload(browser, upload).decoded()
                let served = Data(try await browser.api(.GET, reference.url).body.readableBytesView)
                #expect(ImageFormat.sniff(served) == kept)
                #expect(reference.format == kept.rawValue, "the API names the format stored")
                #expect(Double(served.count) <= 1.5 * Double(upload.count), "\(kept): \(served.count) bytes kept for \(upload.count) uploaded")
                #expect(try Image.header(of: served, limits: limits).metadataFields.filter { $0.hasPrefix("exif") || $0.hasPrefix("xmp") }.isEmpty)
                if kept == .webp {  // lossless: the same pixels
                    #expect(try Image.decode(served, limits: limits).image.pixels() == Data(pixels))
                }
            }
        }
    }

    @Test func uploadsLoseTheirMetadataAndFeedGenerations() async throws {
        let provider = ScriptedProvider()
        try await withPictor { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(provider))
            let browser = try await signedInForAPI(app, email: "refs@example.com")
            let uploaded = try await upload(browser, try Self.photoWithComment("GPS 52.5200N 13.4050E taken by Alice Example"))
            #expect(uploaded.status == .created)
            let reference: Reference = try uploaded.decoded()
            #expect(reference.width == 96 && reference.height == 64)

            let served = try await browser.api(.GET, reference.url)
            // A JPEG stays a JPEG (re-encoded without its metadata), not a PNG several times its size.
            #expect(served.status == .ok && served.headers.contentType == HTTPMediaType(type: "image", subType: "jpeg"))
            let bytes = Data(served.body.readableBytesView)
            #expect(bytes.range(of: Data("Alice".utf8)) == nil && bytes.range(of: Data("52.5200".utf8)) == nil)
            #expect(
                try Image.header(of: bytes, limits: app.pictor.config.imageLimits).metadataFields.filter {
                    $0.contains("comment") || $0.hasPrefix("exif")
                }.isEmpty)
            let row = try #require(try await ReferenceImageModel.find(reference.id, on: app.db))
            #expect(try await app.pictor.blobs.get(BlobKey(row.blobKey)).range(of: Data("JFIF".utf8)) == nil)  // sealed at rest

            try await withRunner(app, handlers: workHandlers) { _ in
                let created: GenerationView = try await browser.generate(
                    #"{"model":"scripted","prompt":"like this","size":"64x64","referenceImageIds":["\#(reference.id)"]}"#
                ).decoded()
                let done = try await browser.finished(created.id)
                #expect(done.status == "succeeded")
                #expect(done.images.first?.digitalSourceType == "compositeWithTrainedAlgorithmicMedia")
                let image = try await browser.api(.GET, try #require(done.images.first).url)
                #expect(
                    try Image.header(of: Data(image.body.readableBytesView), limits: app.pictor.config.imageLimits)
                        .xmp?.text.contains("compositeWithTrainedAlgorithmicMedia") == true)
            }
            let sent = try #require(await provider.received().first)
            #expect(sent.referenceImages == [bytes])

            // A model that takes no references: the request says so next to the field.
            let textOnly = ScriptedProvider(
                id: "text-only",
                capabilities: .init(
                    referenceImages: false, sizes: [ImageSize(width: 64, height: 64)], maxCount: 1,
                    negativePrompt: true, seed: true, progress: false, cancel: false, maxPromptLength: 1000))
            app.pictor = app.pictor.with(
                models: ModelCatalog(entries: [
                    .init(id: "text-only", provider: textOnly, pricePerImage: 1, timeout: .seconds(5), maxAttempts: 1, styles: [])
                ]))
            let refused = try await browser.generate(#"{"model":"text-only","prompt":"x","size":"64x64","referenceImageIds":["\#(reference.id)"]}"#)
            #expect(refused.status == .badRequest)
            #expect(try refused.decoded(ProblemView.self).errors?.first?.field == "referenceImageIds")

            #expect(try await browser.api(.DELETE, "/api/v1/reference-images/\(reference.id)").status == .noContent)
            #expect(try await browser.api(.GET, reference.url).status == .notFound)
            #expect(try await app.pictor.blobs.exists(BlobKey(row.blobKey)) == false)
        }
    }

    /// The provider gets the reference images in the order the request named them (several
    /// providers start from the first), whatever order the database returns them in.
    @Test func referencesReachTheProviderInTheOrderGiven() async throws {
        let provider = ScriptedProvider()
        try await withPictor { app in
            app.pictor = app.pictor.with(models: scriptedCatalog(provider))
            let browser = try await signedInForAPI(app, email: "ordered-refs@example.com")
            var references: [(id: UUID, bytes: Data)] = []
            for shade in [UInt8(40), 120, 200] {
                let pixels = [UInt8](repeating: shade, count: 32 * 32 * 3)
                let picture = try pixels.withUnsafeBytes { try Image(pixels: $0, width: 32, height: 32, bands: 3) }.encode(.png(compression: 1))
                let reference: Reference = try await upload(browser, picture).decoded()
                let served = try await browser.api(.GET, reference.url)
                references.append((reference.id, Data(served.body.readableBytesView)))
            }
            #expect(Set(references.map(\.bytes)).count == 3)
            // An order that is neither the upload order nor the ids' order (nor either reversed),
            // so that no way the database might return them matches it by chance.
            let byUpload = references.map(\.id)
            let byID = byUpload.sorted { $0.uuidString < $1.uuidString }
            let unlikely = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
                .map { $0.map { references[$0] } }
                .first { order in ![byUpload, byID, byUpload.reversed(), byID.reversed()].contains(order.map(\.id)) }
            let order = try #require(unlikely)
            let ids = order.map { "\"\($0.id)\"" }.joined(separator: ",")
            try await withRunner(app, handlers: workHandlers) { _ in
                let created: GenerationView = try await browser.generate(
                    #"{"model":"scripted","prompt":"like these","size":"64x64","referenceImageIds":[\#(ids)]}"#
                ).decoded()
                #expect(try await browser.finished(created.id).status == "succeeded")
            }
            let sent = try #require(await provider.received().first)
            #expect(sent.referenceImages == order.map(\.bytes), "the references reached the provider in another order")
        }
    }

    @Test func bombsNonImagesAndOversizedFilesAreRefusedClearly() async throws {
        try await withPictor({ $0.imageLimits.maxBytes = 200_000 }) { app in
            let browser = try await signedInForAPI(app, email: "attacker@example.com")
            let bomb = try await upload(browser, Self.bomb)
            #expect(bomb.status == .payloadTooLarge)
            #expect(try bomb.decoded(ProblemView.self).detail == "The image is 100000×100000 pixels; images may have at most 40 megapixels.")
            let text = try await upload(browser, Data("just some text, not a picture".utf8))
            #expect(text.status == .unsupportedMediaType)
            #expect(try text.decoded(ProblemView.self).detail?.contains("not a PNG, JPEG or WebP") == true)
            let huge = try await upload(browser, Data(repeating: 0xFF, count: 400_000))
            #expect(huge.status == .payloadTooLarge)
            let json = try await browser.api(.POST, "/api/v1/reference-images", json: "{}")
            #expect(json.status == .unsupportedMediaType)
            #expect(try await ReferenceImageModel.query(on: app.db).count() == 0)
            #expect(try await app.pictor.blobs.list(prefix: "users/").isEmpty)
        }
    }

    @Test func referencesArePrivate() async throws {
        try await withPictor { app in
            let owner = try await signedInForAPI(app, email: "ref-owner@example.com")
            let other = try await signedInForAPI(app, email: "ref-other@example.com")
            let reference: Reference = try await upload(owner, try Self.photoWithComment("mine")).decoded()
            #expect(try await other.api(.GET, reference.url).status == .notFound)
            #expect(try await other.api(.DELETE, "/api/v1/reference-images/\(reference.id)").status == .notFound)
            let list: Page = try await other.api(.GET, "/api/v1/reference-images").decoded()
            #expect(list.data.isEmpty)
            let used = try await other.generate(#"{"prompt":"x","size":"512x512","referenceImageIds":["\#(reference.id)"]}"#)
            #expect(used.status == .badRequest)
            // The owner's browser keeps it privately, per signed-in person, and asks again cheaply.
            let file = try await owner.api(.GET, reference.url)
            let etag = try #require(file.headers.first(name: .eTag))
            #expect(file.status == .ok && file.headers.first(name: .vary) == "Cookie, Authorization")
            #expect(file.headers.first(name: .cacheControl) == "private, no-cache")
            #expect(try await owner.api(.GET, reference.url, headers: ["If-None-Match": etag]).status == .notModified)
            #expect(try await other.api(.GET, reference.url, headers: ["If-None-Match": etag]).status == .notFound)
        }
    }

    /// The list goes page by page, newest first, so that every stored reference can be found
    /// (and deleted); and one person can keep at most `maxStoredPerUser`.
    @Test func referencesAreListedPageByPageAndTheirNumberIsCapped() async throws {
        try await withPictor { app in
            let owner = try await signedInForAPI(app, email: "collector@example.com")
            var uploaded: [UUID] = []
            for n in 0..<3 {
                let reference: Reference = try await upload(owner, try Self.photoWithComment("\(n)")).decoded()
                uploaded.append(reference.id)
            }
            let first: Page = try await owner.api(.GET, "/api/v1/reference-images?limit=2").decoded()
            let cursor = try #require(first.nextCursor)
            let second: Page = try await owner.api(.GET, "/api/v1/reference-images?limit=2&cursor=\(cursor)").decoded()
            #expect(second.nextCursor == nil)
            #expect((first.data + second.data).map(\.id) == uploaded.reversed())
            #expect(try await owner.api(.GET, "/api/v1/reference-images?cursor=nonsense").status == .badRequest)

            // Filled up to the cap (rows alone: the count is what is checked), the next upload is refused.
            let user = try #require(try await UserModel.query(on: app.db).filter(\.$email == "collector@example.com").first()?.id)
            for n in 3..<ReferenceImagesAPI.maxStoredPerUser {
                let row = ReferenceImageModel()
                row.id = UUID()
                row.userID = user
                row.blobKey = "users/\(user.uuidString.lowercased())/references/filler-\(n).png"
                row.format = "png"
                row.width = 1
                row.height = 1
                row.bytes = 1
                row.sha256 = String(repeating: "0", count: 64)
                row.createdAt = Date()
                try await row.create(on: app.db)
            }
            let refused = try await upload(owner, try Self.photoWithComment("one too many"))
            #expect(refused.status == .conflict && refused.body.string.contains("reference images stored"), "\(refused.body.string)")
            #expect(try await ReferenceImageModel.query(on: app.db).count() == ReferenceImagesAPI.maxStoredPerUser)
        }
    }
}
