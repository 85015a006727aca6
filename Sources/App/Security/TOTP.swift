import Crypto
import Foundation

/// Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA1, 30-second steps,
/// 6 digits, accepted one step either side of now. A code's step is returned so the
/// caller can refuse the same (or an earlier) step twice.
struct TOTP: Sendable {
    let secret: Data
    var digits = 6
    var period: TimeInterval = 30

    static func generateSecret() -> Data {
        Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0.prefix(20)) })
    }

    func step(at date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 / period).rounded(.down))
    }

    func code(forStep step: Int64) -> String {
        var counter = UInt64(step).bigEndian
        let message = Data(bytes: &counter, count: 8)
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary =
            (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let value = String(binary % modulus)
        return String(repeating: "0", count: digits - value.count) + value
    }

    /// The step the code belongs to (now, one before, one after), or nil when it matches none
    /// or belongs to a step at or before `lastUsedStep`.
    func matchingStep(for code: String, at date: Date, lastUsedStep: Int64?) -> Int64? {
        let cleaned = code.filter(\.isNumber)
        guard cleaned.count == digits else { return nil }
        let now = step(at: date)
        for candidate in [now - 1, now, now + 1] where candidate > (lastUsedStep ?? Int64.min) {
            if constantTimeEquals(Array(self.code(forStep: candidate).utf8), Array(cleaned.utf8)) { return candidate }
        }
        return nil
    }

    /// `otpauth://totp/Pictor:ada@example.com?secret=…&issuer=Pictor…`, for authenticator apps.
    func provisioningURI(account: String, issuer: String = "Pictor") -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~@+"))
        let label = [issuer, account].map { $0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0 }.joined(separator: ":")
        return "otpauth://totp/\(label)?secret=\(Base32.encode(secret))&issuer=\(issuer)&algorithm=SHA1&digits=\(digits)&period=\(Int(period))"
    }
}

/// RFC 4648 base32 without padding, as authenticator apps expect secrets.
enum Base32 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    static func encode(_ data: Data) -> String {
        var output = ""
        var buffer: UInt32 = 0
        var bits = 0
        for byte in data {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return output
    }
}
