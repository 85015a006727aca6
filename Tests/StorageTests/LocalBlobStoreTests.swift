import Foundation
import Storage
import Testing

@Suite final class LocalBlobStoreTests {
    let root: URL
    let store: LocalBlobStore

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("pictor-blobs-\(UUID().uuidString)")
        store = try LocalBlobStore(root: root)
    }

    deinit {
        try? FileManager.default.removeItem(at: root)
    }

    @Test func writeReadDelete() async throws {
        let key = try BlobKey("users/42/images/a.png")
        let bytes = Data((0..<10_000).map { UInt8($0 % 251) })
        try await store.put(bytes, at: key)
        #expect(try await store.get(key) == bytes)
        #expect(try await store.exists(key))
        try await store.delete(key)
        #expect(try await store.exists(key) == false)
        await #expect(throws: BlobStoreError.notFound("users/42/images/a.png")) { try await store.get(key) }
        try await store.delete(key)  // deleting twice is fine
    }

    @Test func overwriteReplacesWholeBlob() async throws {
        let key = try BlobKey("a/b")
        try await store.put(Data(repeating: 1, count: 5000), at: key)
        try await store.put(Data([9, 9]), at: key)
        #expect(try await store.get(key) == Data([9, 9]))
    }

    @Test func failedStreamingWriteLeavesNothingBehind() async throws {
        let key = try BlobKey("uploads/broken.bin")
        try await store.put(Data("previous".utf8), at: key)
        struct Interrupted: Error {}
        let chunks = AsyncThrowingStream<Data, any Error> { continuation in
            continuation.yield(Data(repeating: 7, count: 64 * 1024))
            continuation.finish(throwing: Interrupted())
        }
        await #expect(throws: Interrupted.self) { try await store.put(chunks: chunks, at: key) }
        #expect(try await store.get(key) == Data("previous".utf8), "the old blob is untouched")
        let partials = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(".partial").path)
        #expect(partials.isEmpty, "no temporary file is left: \(partials)")
        #expect(try await store.list(prefix: "uploads/") == [key])
    }

    @Test(arguments: [
        "../etc/passwd", "a/../../b", "/absolute", "a//b", "a/", "", ".hidden", "a/.partial/x",
        "a\\b", "a b", "ü", String(repeating: "a", count: 513),
    ])
    func pathTraversalAndOddKeysAreRefused(_ raw: String) {
        #expect(throws: BlobStoreError.self) { try BlobKey(raw) }
    }

    @Test func listReturnsKeysUnderPrefixOnly() async throws {
        for name in ["g/1/a", "g/1/b", "g/2/a", "h/1"] {
            try await store.put(Data(name.utf8), at: try BlobKey(name))
        }
        #expect(try await store.list(prefix: "g/1/").map(\.rawValue) == ["g/1/a", "g/1/b"])
        #expect(try await store.list(prefix: "").count == 4)
        for entry in try await store.entries(prefix: "") {
            #expect(abs(entry.modified.timeIntervalSinceNow) < 60, "\(entry)")
        }
    }

    @Test func readinessProbeLeavesNoBlob() async throws {
        try await store.checkWritable()
        #expect(try await store.list(prefix: "").isEmpty)
    }

    @Test func stalePartialsAreRemoved() async throws {
        let stale = root.appendingPathComponent(".partial/left-by-a-crash")
        try Data("half".utf8).write(to: stale)
        #expect(try await store.removeStalePartials(olderThan: 60, now: Date().addingTimeInterval(3600)) == 1)
        #expect(!FileManager.default.fileExists(atPath: stale.path))
    }

    @Test func putAllStoresEveryBlob() async throws {
        let blobs = try [
            ("users/1/generations/g.0.png", 70_000), ("users/1/generations/g.0.thumb.webp", 900),
            ("users/2/generations/h.0.png", 10),
        ].map { (key: try BlobKey($0.0), data: Data(repeating: UInt8($0.1 % 256), count: $0.1)) }
        try await store.put(all: blobs)
        for blob in blobs {
            #expect(try await store.get(blob.key) == blob.data)
        }
        let partials = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(".partial").path)
        #expect(partials.isEmpty, "\(partials)")
    }

    /// A batch whose last blob cannot be stored (its folder's name is taken by a file) throws,
    /// and the blobs it had already renamed into place are gone again: the caller records none.
    @Test func aFailedPutAllLeavesNoneOfItsBlobs() async throws {
        try await store.put(Data("a file, not a folder".utf8), at: try BlobKey("taken"))
        let blobs = try [("kept/a.png", "a"), ("kept/b.png", "b"), ("taken/c.png", "c")]
            .map { (key: try BlobKey($0.0), data: Data($0.1.utf8)) }
        await #expect(throws: (any Error).self) { try await store.put(all: blobs) }
        #expect(try await store.list(prefix: "kept/").isEmpty)
        #expect(try await store.list(prefix: "") == [try BlobKey("taken")])
        let partials = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(".partial").path)
        #expect(partials.isEmpty, "no temporary file is left: \(partials)")
    }
}

/// The blob layout: keys are built and read back in one place.
@Suite struct BlobLayoutTests {
    @Test func keysBuiltForAPersonAreReadBackAsTheirs() throws {
        let user = UUID()
        let generation = UUID()
        let reference = UUID()
        let image = try BlobKey.generationImage(user: user, generation: generation, position: 2, attempt: "abc_-9", fileExtension: "png")
        let thumbnail = try BlobKey.generationThumbnail(user: user, generation: generation, position: 2, attempt: "abc_-9")
        let upload = try BlobKey.reference(user: user, reference: reference, fileExtension: "webp")
        #expect(image.rawValue == "users/\(user.uuidString.lowercased())/generations/\(generation.uuidString.lowercased()).2-abc_-9.png")
        #expect(thumbnail.rawValue.hasSuffix(".2-abc_-9.thumb.webp"))
        for key in [image, thumbnail, upload] {
            #expect(key.rawValue.hasPrefix(BlobKey.personPrefix(user)))
        }
        #expect(image.owner == .generation(user: user, generation: generation))
        #expect(thumbnail.owner == .generation(user: user, generation: generation))
        #expect(upload.owner == .reference(user: user, reference: reference))
    }

    @Test func keysOutsideTheLayoutHaveNoOwner() throws {
        for raw in [
            "parts/a.png", "users/not-a-uuid/generations/\(UUID()).0-a.png", "users/\(UUID())/other/\(UUID()).png",
            "users/\(UUID())/generations/nope.png", "users/\(UUID())/generations/a/b.png",
        ] {
            #expect(try BlobKey(raw).owner == nil, "\(raw)")
        }
    }
}
