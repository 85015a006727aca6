import Crypto
import Fluent
import Foundation
import Persistence
import Synchronization

/// Per-user content keys. Each user's prompts, reference images and outputs are sealed
/// with AES-GCM under that user's own random key; the key itself is stored sealed under a
/// key derived from the server key. Deleting a user's `content_keys` row makes all of
/// their content unreadable wherever a copy of it lies.
struct ContentKeys: Sendable {
    let secrets: Secrets
    /// Unsealed keys recently used in this process, so a generation's several steps read the
    /// key once. Entries live `cacheLifetime`; `forget` drops one at once (erasure).
    private let cache = KeyCache()
    static let cacheLifetime: TimeInterval = 300

    init(secrets: Secrets) {
        self.secrets = secrets
    }

    func forget(_ userID: UUID) {
        cache.entries.withLock { $0[userID] = nil }
    }

    /// The user's key, made on first use. Safe to call concurrently: if two requests
    /// make a key at once, the one stored first wins and both use it.
    func key(for userID: UUID, on db: any Database) async throws -> ContentKey {
        if let cached = cache.key(for: userID) { return cached }
        if let row = try await ContentKeyStore.find(userID, on: db) { return try unseal(row, userID: userID) }
        let row = ContentKeyModel()
        row.id = userID
        row.sealedKey = try secrets.seal(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }, purpose: purpose(userID))
        row.createdAt = Date()  // a record of when, not a rule: the system clock
        return try unseal(try await ContentKeyStore.insertOrExisting(row, on: db), userID: userID)
    }

    /// The user's key if one exists (nil after erasure: their content is gone).
    func existingKey(for userID: UUID, on db: any Database) async throws -> ContentKey? {
        if let cached = cache.key(for: userID) { return cached }
        return try await ContentKeyStore.find(userID, on: db).map { try unseal($0, userID: userID) }
    }

    private func unseal(_ row: ContentKeyModel, userID: UUID) throws -> ContentKey {
        let key = ContentKey(key: SymmetricKey(data: try secrets.open(row.sealedKey, purpose: purpose(userID))))
        cache.store(key, for: userID)
        return key
    }

    private func purpose(_ userID: UUID) -> String { "content-key:\(userID.uuidString.lowercased())" }
}

/// A bounded, short-lived map of unsealed keys.
final class KeyCache: Sendable {
    let entries = Mutex<[UUID: (key: ContentKey, until: Date)]>([:])
    static let capacity = 10_000

    func key(for userID: UUID) -> ContentKey? {
        entries.withLock { entries in
            guard let entry = entries[userID], entry.until > Date() else { return nil }
            return entry.key
        }
    }

    func store(_ key: ContentKey, for userID: UUID) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[userID] = (key, Date().addingTimeInterval(ContentKeys.cacheLifetime))
        }
    }
}

/// One user's content key: seals and opens their prompts (as base64 text) and blobs.
struct ContentKey: Sendable {
    let key: SymmetricKey

    func seal(_ data: Data) throws -> Data {
        guard let combined = try AES.GCM.seal(data, using: key).combined else { throw CryptoKitError.incorrectParameterSize }
        return combined
    }

    func open(_ sealed: Data) throws -> Data {
        try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key)
    }

    /// HMAC-SHA256 (hex) of the parts under this key.
    func mac(_ parts: [String]) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data(parts.joined(separator: "\u{1F}").utf8), using: key)).hexString
    }

    func seal(text: String) throws -> String {
        try seal(Data(text.utf8)).base64EncodedString()
    }

    func open(text sealed: String) throws -> String {
        guard let data = Data(base64Encoded: sealed) else { throw CryptoKitError.incorrectParameterSize }
        return String(decoding: try open(data), as: UTF8.self)
    }
}

extension ContentKey {
    /// A generation's prompt and negative prompt, unsealed.
    func prompts(of generation: GenerationModel) throws -> (prompt: String, negative: String) {
        (try open(text: generation.promptSealed), try open(text: generation.negativePromptSealed))
    }
}
