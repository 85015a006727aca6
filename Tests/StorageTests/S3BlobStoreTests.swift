import AsyncHTTPClient
import Foundation
import TestSupport
import Testing

@testable import Storage

/// S3BlobStore against moto's S3 server with signature checking on (a wrong secret is refused).
@Suite(.serialized) struct S3BlobStoreTests {
    struct Credentials: Decodable {
        let accessKeyId: String
        let secretAccessKey: String
    }

    /// Runs `body` with a store on a fresh moto server and a new bucket.
    func withStore(pathStyle: Bool = true, prefix: String = "", _ body: (S3BlobStore, S3BlobStore.Settings) async throws -> Void) async throws {
        let server = try TestServer(script: "s3_server.py")
        defer { server.stop() }
        let credentials = try JSONDecoder().decode(
            Credentials.self, from: Data(contentsOf: server.directory.appendingPathComponent("credentials.json")))
        let settings = S3BlobStore.Settings(
            endpoint: URL(string: "http://127.0.0.1:\(server.port)")!, bucket: "pictor-test", region: "us-east-1",
            credentials: .init(accessKeyID: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey),
            pathStyle: pathStyle, serverSideEncryption: "AES256", prefix: prefix)
        try await S3BlobStore.createBucket(settings)
        try await body(S3BlobStore(settings: settings), settings)
    }

    @Test func storesReadsListsAndDeletes() async throws {
        try await withStore(prefix: "pictor/") { store, _ in
            let image = Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            let key = try BlobKey("users/u1/generations/g1/0-abc.png")
            try await store.put(image, at: key)
            try await store.put(Data("thumb".utf8), at: try BlobKey("users/u1/generations/g1/0-abc.thumb.webp"))
            try await store.put(Data("other".utf8), at: try BlobKey("users/u2/references/r1.png"))
            #expect(try await store.get(key) == image)
            #expect(try await store.exists(key))
            #expect(
                try await store.list(prefix: "users/u1/").map(\.rawValue) == [
                    "users/u1/generations/g1/0-abc.png", "users/u1/generations/g1/0-abc.thumb.webp",
                ])
            // When each was written, as the bucket says (its clock: within a few minutes of ours).
            for entry in try await store.entries(prefix: "users/") {
                #expect(abs(entry.modified.timeIntervalSinceNow) < 600, "\(entry)")
            }
            try await store.delete(key)
            try await store.delete(key)  // deleting twice is fine
            #expect(try await store.exists(key) == false)
            await #expect(throws: BlobStoreError.notFound(key.rawValue)) { try await store.get(key) }
            try await store.checkWritable()
        }
    }

    @Test func aWrongSecretFailsClearlyAndWritesNothing() async throws {
        try await withStore { store, settings in
            var wrong = settings
            wrong.credentials = .init(accessKeyID: settings.credentials.accessKeyID, secretAccessKey: "not-the-secret")
            let key = try BlobKey("users/u1/a.png")
            do {
                try await S3BlobStore(settings: wrong).put(Data("x".utf8), at: key)
                Issue.record("a wrong secret must be refused")
            } catch let error as BlobStoreError {
                guard case .ioFailure(_, let detail) = error else {
                    Issue.record("\(error)")
                    return
                }
                #expect(detail.contains("SignatureDoesNotMatch") && detail.contains("S3_SECRET_ACCESS_KEY"))
                #expect(!detail.contains("not-the-secret"))
            }
            #expect(try await store.exists(key) == false)
            #expect(try await store.list(prefix: "").isEmpty)
        }
    }

    @Test func manyKeysArePagedThrough() async throws {
        try await withStore { store, _ in
            for n in 0..<1_005 { try await store.put(Data([UInt8(n % 256)]), at: try BlobKey("k/\(String(format: "%04d", n))")) }
            let keys = try await store.list(prefix: "k/")
            #expect(keys.count == 1_005 && keys.first?.rawValue == "k/0000" && keys.last?.rawValue == "k/1004")
        }
    }

    /// `count` chunks of 1 MiB, throwing after `failAfter` of them when set.
    static func chunks(_ count: Int, failAfter: Int? = nil) -> AsyncThrowingStream<Data, any Error> {
        AsyncThrowingStream { continuation in
            for n in 0..<count {
                if let failAfter, n == failAfter {
                    continuation.finish(throwing: CancellationError())
                    return
                }
                continuation.yield(Data(repeating: UInt8(n), count: 1_048_576))
            }
            continuation.finish()
        }
    }

    @Test func largeObjectsGoUpInPartsAndAFailedStreamStoresNothing() async throws {
        try await withStore { _, settings in
            let store = S3BlobStore(settings: settings, partSize: 5 * 1_048_576)
            let key = try BlobKey("exports/u1/archive.zip")
            try await store.put(chunks: Self.chunks(12), at: key)
            let stored = try await store.get(key)
            #expect(stored.count == 12 * 1_048_576)
            #expect(stored[0] == 0 && stored[5 * 1_048_576] == 5 && stored.last == 11)

            let broken = try BlobKey("exports/u1/broken.zip")
            await #expect(throws: CancellationError.self) { try await store.put(chunks: Self.chunks(12, failAfter: 7), at: broken) }
            #expect(try await store.exists(broken) == false)
            // A small stream is one plain PUT.
            try await store.put(chunks: Self.chunks(2), at: try BlobKey("exports/u1/small.zip"))
            #expect(try await store.get(try BlobKey("exports/u1/small.zip")).count == 2 * 1_048_576)
        }
    }

    /// The multipart uploads the bucket has in progress (started, neither completed nor aborted).
    static func uploadsInProgress(_ store: S3BlobStore, _ settings: S3BlobStore.Settings) async throws -> Int {
        let answer = try await store.send(
            "GET", url: URL(string: "\(settings.endpoint.absoluteString)/\(settings.bucket)?uploads")!, operation: "list")
        return String(decoding: answer.body, as: UTF8.self).components(separatedBy: "<UploadId>").count - 1
    }

    /// One chunk of three parts' size goes up as three parts (the object's ETag ends in "-3"),
    /// not as one part and a buffer that grows by the rest.
    @Test func aChunkLargerThanAPartBecomesSeveralParts() async throws {
        try await withStore { _, settings in
            let store = S3BlobStore(settings: settings, partSize: 5 * 1_048_576)
            let key = try BlobKey("exports/u1/big-chunk.zip")
            let one = AsyncThrowingStream<Data, any Error> { continuation in
                continuation.yield(Data(repeating: 7, count: 15 * 1_048_576))
                continuation.finish()
            }
            try await store.put(chunks: one, at: key)
            let head = try await store.send("HEAD", url: store.url(for: key), operation: "check")
            #expect(head.headers.first(name: "ETag")?.hasSuffix("-3\"") == true, "\(head.headers.first(name: "ETag") ?? "none")")
            #expect(try await store.get(key).count == 15 * 1_048_576)
        }
    }

    /// A multipart upload whose task is cancelled mid-way is aborted (the abort used to run in the
    /// cancelled task and never reach S3), and nothing is stored.
    @Test func aCancelledUploadIsAbortedAndStoresNothing() async throws {
        try await withStore { _, settings in
            let store = S3BlobStore(settings: settings, partSize: 5 * 1_048_576)
            let key = try BlobKey("exports/u1/cancelled.zip")
            let (stream, continuation) = AsyncThrowingStream<Data, any Error>.makeStream()
            for n in 0..<6 { continuation.yield(Data(repeating: UInt8(n), count: 1_048_576)) }  // one part, then silence
            let upload = Task { try await store.put(chunks: stream, at: key) }
            var started = false
            for _ in 0..<100 where !started {
                started = try await Self.uploadsInProgress(store, settings) == 1
                if !started { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(started, "the multipart upload did not start")
            upload.cancel()
            _ = await upload.result
            #expect(try await Self.uploadsInProgress(store, settings) == 0)
            #expect(try await store.exists(key) == false)
        }
    }

    @Test func virtualHostStyleAddressesTheBucketInTheHostName() async throws {
        let settings = S3BlobStore.Settings(
            endpoint: URL(string: "https://s3.eu-central-1.amazonaws.com")!, bucket: "pictor-prod", region: "eu-central-1",
            credentials: .init(accessKeyID: "AKIA", secretAccessKey: "s"), pathStyle: false, prefix: "p/")
        let store = S3BlobStore(settings: settings)
        let url = store.presignedURL(for: try BlobKey("users/u1/a b.png".replacingOccurrences(of: " ", with: "_")), expiresIn: 600)
        #expect(url.host == "pictor-prod.s3.eu-central-1.amazonaws.com")
        #expect(url.path == "/p/users/u1/a_b.png")
        #expect(url.query?.contains("X-Amz-Expires=600") == true && url.query?.contains("X-Amz-Signature=") == true)
    }
}
