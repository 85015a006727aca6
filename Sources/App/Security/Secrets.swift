import Crypto
import Domain
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The server's secret key and what is derived from it.
struct Secrets: Sendable {
    let key: SymmetricKey

    /// SECRET_KEY when set; otherwise `DATA_DIR/secret.key`, made on first start (mode 0600),
    /// so a fresh install works with no configuration and keeps its key across restarts.
    static func load(config: AppConfig) throws -> Secrets {
        if let bytes = config.secretKey { return Secrets(key: SymmetricKey(data: bytes)) }
        let file = URL(fileURLWithPath: config.dataDirectory).appendingPathComponent("secret.key")
        if let stored = try storedKey(at: file) { return Secrets(key: SymmetricKey(data: stored)) }
        try FileManager.default.createDirectory(
            at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        let fresh = Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
        // Written whole to a file of its own, then linked into place: `link` fails if the key
        // exists, so of servers starting together one key wins and no one reads a half-written file.
        let draft = file.deletingLastPathComponent().appendingPathComponent("secret.key.\(UUID().uuidString).new")
        let descriptor = Glibc.open(draft.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw SecretKeyError("cannot create \(draft.path): \(String(cString: strerror(errno))); set SECRET_KEY or make DATA_DIR writable")
        }
        defer { unlink(draft.path) }
        let written = fresh.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == fresh.count, synced else {
            throw SecretKeyError("cannot write \(draft.path); set SECRET_KEY or make DATA_DIR writable")
        }
        guard link(draft.path, file.path) == 0 else {
            if errno == EEXIST, let stored = try storedKey(at: file) {
                return Secrets(key: SymmetricKey(data: stored))
            }
            throw SecretKeyError("cannot create \(file.path): \(String(cString: strerror(errno))); set SECRET_KEY or make DATA_DIR writable")
        }
        return Secrets(key: SymmetricKey(data: fresh))
    }

    /// The key in `file`; nil when there is no such file (one read, so no check-then-read race).
    private static func storedKey(at file: URL) throws -> Data? {
        let stored: Data
        do {
            stored = try Data(contentsOf: file)
        } catch CocoaError.fileReadNoSuchFile {
            return nil
        }
        guard stored.count >= 32 else {
            throw SecretKeyError("\(file.path) holds fewer than 32 bytes; restore it, or set SECRET_KEY")
        }
        return stored
    }

    /// HMAC-SHA256 of `parts`, hex: for stored code hashes and throttle keys.
    func mac(_ parts: String...) -> String {
        let message = parts.joined(separator: "\u{1F}")
        return Data(HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: key)).hexString
    }
}

struct SecretKeyError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum Tokens {
    /// `bytes` random bytes, base64url without padding: session tokens, CSRF tokens.
    static func random(bytes: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
        return data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A six-digit code for email confirmation and password reset.
    static func sixDigits() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(format: "%06d", Int.random(in: 0...999_999, using: &generator))
    }

    /// Letters and digits that cannot be mistaken for each other (no 0/O, 1/I/L): recovery codes.
    static func readable(length: Int) -> String {
        let alphabet = Array("ABCDEFGHJKMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
    }

    static func sha256(_ text: String) -> String {
        Data(SHA256.hash(data: Data(text.utf8))).hexString
    }
}

extension Data {
    /// Lower-case hex, two digits a byte. (`String(format:)` per byte cost 4 % of the
    /// service's CPU: every API key check, request hash and image hash goes through here.)
    var hexString: String { Hex.lowercase(self) }
}

extension Secrets {
    /// A key for one purpose, derived from the server key (HKDF-SHA256).
    func derivedKey(_ purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Data("pictor:\(purpose)".utf8), outputByteCount: 32)
    }

    /// AES-GCM under a purpose key, base64: for secrets kept in the database (TOTP seeds).
    func seal(_ plaintext: Data, purpose: String) throws -> String {
        try AES.GCM.seal(plaintext, using: derivedKey(purpose)).combined!.base64EncodedString()
    }

    func open(_ sealed: String, purpose: String) throws -> Data {
        guard let combined = Data(base64Encoded: sealed) else { throw CryptoKitError.incorrectParameterSize }
        return try AES.GCM.open(AES.GCM.SealedBox(combined: combined), using: derivedKey(purpose))
    }
}
