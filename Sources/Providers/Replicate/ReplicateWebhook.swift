import Crypto
import Foundation

/// Replicate's webhook signature (the Standard Webhooks scheme): HMAC-SHA256, keyed with the
/// base64-decoded part of the `whsec_…` secret, over `"{webhook-id}.{webhook-timestamp}.{body}"`;
/// the `webhook-signature` header lists `v1,<base64>` signatures separated by spaces.
public enum ReplicateWebhook {
    /// Timestamps older or newer than this are refused (replays).
    public static let tolerance: TimeInterval = 300

    public static func isAuthentic(
        id: String, timestamp: String, signatures: String, body: Data, secret: String, now: Date = Date()
    ) -> Bool {
        guard let seconds = TimeInterval(timestamp), abs(now.timeIntervalSince1970 - seconds) <= tolerance,
            let key = Data(base64Encoded: String(secret.hasPrefix("whsec_") ? secret.dropFirst(6) : Substring(secret)))
        else { return false }
        let signed = Data("\(id).\(timestamp).".utf8) + body
        let expected = Data(HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: key)))
        return signatures.split(separator: " ").contains { candidate in
            let parts = candidate.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, parts[0] == "v1", let given = Data(base64Encoded: String(parts[1])) else { return false }
            return given.count == expected.count && zip(given, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
        }
    }
}
