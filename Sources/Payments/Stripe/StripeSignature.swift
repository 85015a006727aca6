import Crypto
import Foundation

/// Stripe's webhook signature: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, where
/// each `v1` is HMAC-SHA256 over `"<t>.<raw body>"` keyed with the endpoint's whole `whsec_…`
/// secret (its bytes as written). Several `v1`s appear while a secret is being rolled: any may match.
public enum StripeSignature {
    /// Deliveries signed longer ago (or further ahead) than this are refused: replays.
    public static let tolerance: TimeInterval = 300

    /// The header value for `body` signed at `timestamp` (the offline checkout signs its events so).
    public static func header(for body: [UInt8], secret: String, timestamp: Int64) -> String {
        "t=\(timestamp),v1=" + hex(mac(body, secret: secret, timestamp: String(timestamp)))
    }

    /// Whether `header` signs `body` with `secret`, at a time within `tolerance` of `now`.
    /// Checked on the raw bytes before anything parses them; the comparison takes the same time
    /// whatever it finds.
    public static func isAuthentic(header: String, body: [UInt8], secret: String, now: Date) -> Bool {
        var timestamp: String?
        var signatures: [[UInt8]] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let key = pair[0].trimmingCharacters(in: .whitespaces)
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            if key == "t" {
                timestamp = value
            } else if key == "v1", let bytes = bytes(hex: value) {
                signatures.append(bytes)
            }
        }
        // A timestamp is digits only (no sign, no fraction) and of a sane length: never trapped on.
        guard let timestamp, (1...12).contains(timestamp.count), timestamp.utf8.allSatisfy({ (48...57).contains($0) }),
            let seconds = Double(timestamp), abs(now.timeIntervalSince1970 - seconds) <= tolerance, !signatures.isEmpty
        else { return false }
        let expected = mac(body, secret: secret, timestamp: timestamp)
        var matched = false
        for given in signatures where given.count == expected.count {
            if zip(given, expected).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 { matched = true }
        }
        return matched
    }

    static func mac(_ body: [UInt8], secret: String, timestamp: String) -> [UInt8] {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: Data(secret.utf8)))
        hmac.update(data: Data((timestamp + ".").utf8))
        hmac.update(data: body)
        return Array(hmac.finalize())
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func bytes(hex text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0, digits.count <= 128 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 48...57: digit - 48
        case 97...102: digit - 87
        case 65...70: digit - 55
        default: nil
        }
    }
}
