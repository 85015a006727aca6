import Domain
import Foundation

/// Where image bytes live. Every implementation writes atomically: a reader sees
/// either the whole blob or none of it, never a partial file.
public protocol BlobStore: Sendable {
    /// Stores `data` at `key`, replacing what was there. If it throws, nothing is stored at
    /// `key` (when the failure came after the replacing, the old blob is gone too).
    func put(_ data: Data, at key: BlobKey) async throws
    /// Stores each blob at its key, as one step: when it returns, all of them are stored (on a
    /// disk, flushed with their names, so they outlive a power cut). If it throws, those it had
    /// stored are removed again; use new keys, as what a key held before is not brought back.
    func put(all blobs: [(key: BlobKey, data: Data)]) async throws
    /// Stores the concatenation of `chunks` at `key`. If the sequence throws,
    /// nothing is stored and what was at `key` before is untouched; other failures are as
    /// for `put(_:at:)`.
    func put(chunks: some AsyncSequence<Data, any Error> & Sendable, at key: BlobKey) async throws
    /// The bytes at `key`; throws `BlobStoreError.notFound` when there are none.
    func get(_ key: BlobKey) async throws -> Data
    func exists(_ key: BlobKey) async throws -> Bool
    /// Removes the blob; removing a missing blob is not an error.
    func delete(_ key: BlobKey) async throws
    /// Every blob whose key starts with `prefix`, sorted by key, with when it was written.
    func entries(prefix: String) async throws -> [StoredBlob]
    /// Throws unless a blob can be written, read back and deleted now (readiness).
    func checkWritable() async throws
}

/// A blob as a listing shows it.
public struct StoredBlob: Sendable, Equatable {
    public let key: BlobKey
    /// When it was last written; `.distantFuture` when the store did not say (never "old").
    public let modified: Date

    public init(key: BlobKey, modified: Date) {
        self.key = key
        self.modified = modified
    }
}

extension BlobStore {
    /// One blob after another (a store whose writes are durable once they return, such as S3).
    public func put(all blobs: [(key: BlobKey, data: Data)]) async throws {
        var stored: [BlobKey] = []
        do {
            for blob in blobs {
                try await put(blob.data, at: blob.key)
                stored.append(blob.key)
            }
        } catch {
            for key in stored { try? await delete(key) }
            throw error
        }
    }

    /// Every key that starts with `prefix`, sorted.
    public func list(prefix: String) async throws -> [BlobKey] {
        try await entries(prefix: prefix).map(\.key)
    }

    /// Writes a small blob, reads it back and deletes it: the same probe for every store.
    public func checkWritable() async throws {
        let probe = try BlobKey("readiness-probe/\(UUID().uuidString)")
        try await put(Data("ok".utf8), at: probe)
        guard try await get(probe) == Data("ok".utf8) else {
            throw BlobStoreError.ioFailure(operation: "readiness", detail: "probe read back different bytes")
        }
        try await delete(probe)
    }
}

public enum BlobStoreError: UserFacingError, Equatable {
    case invalidKey(String, reason: String)
    case notFound(String)
    case ioFailure(operation: String, detail: String)

    public var kind: FailureKind {
        switch self {
        case .invalidKey: .invalidInput
        case .notFound: .notFound
        case .ioFailure: .unavailable
        }
    }

    public var userMessage: String {
        switch self {
        case .invalidKey(_, let reason): "Invalid storage key: \(reason)."
        case .notFound: "That file does not exist."
        case .ioFailure: "Storage is unavailable right now. Please try again."
        }
    }
}
