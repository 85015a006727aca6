import Crypto
import Domain
import Foundation

/// AWS Signature Version 4 for S3 requests: header signing and presigned URLs.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
public struct SigV4: Sendable {
    public struct Credentials: Sendable, Equatable {
        public let accessKeyID: String
        public let secretAccessKey: String

        public init(accessKeyID: String, secretAccessKey: String) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
        }
    }

    public let credentials: Credentials
    public let region: String
    public let service: String

    public init(credentials: Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// The headers to add to a request: `x-amz-date`, `x-amz-content-sha256` and `Authorization`.
    /// `headers` are the others to sign (at least `host`); names are compared lowercased.
    public func sign(
        method: String, url: URL, headers: [String: String], payloadHash: String, date: Date
    ) -> [String: String] {
        let (stamp, day) = Self.timestamps(date)
        var signed = Dictionary(uniqueKeysWithValues: headers.map { ($0.key.lowercased(), Self.trim($0.value)) })
        signed["x-amz-date"] = stamp
        signed["x-amz-content-sha256"] = payloadHash
        let names = signed.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(signed[$0]!)\n" }.joined()
        let request = [
            method, Self.canonicalPath(url), Self.canonicalQuery(url), canonicalHeaders, names.joined(separator: ";"), payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let signature = self.signature(
            stringToSign: "AWS4-HMAC-SHA256\n\(stamp)\n\(scope)\n\(Self.hex(SHA256.hash(data: Data(request.utf8))))", day: day)
        return [
            "x-amz-date": stamp, "x-amz-content-sha256": payloadHash,
            "Authorization":
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(names.joined(separator: ";")), Signature=\(signature)",
        ]
    }

    /// A URL anyone can GET until it expires (query-string authentication; only `host` signed).
    public func presignedURL(_ url: URL, method: String = "GET", expires: Int, date: Date) -> URL {
        let (stamp, day) = Self.timestamps(date)
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        var items = components.percentEncodedQueryItems ?? []
        items += [
            URLQueryItem(name: "X-Amz-Algorithm", value: "AWS4-HMAC-SHA256"),
            URLQueryItem(name: "X-Amz-Credential", value: Self.encode("\(credentials.accessKeyID)/\(scope)")),
            URLQueryItem(name: "X-Amz-Date", value: stamp),
            URLQueryItem(name: "X-Amz-Expires", value: String(expires)),
            URLQueryItem(name: "X-Amz-SignedHeaders", value: "host"),
        ]
        components.percentEncodedQueryItems = items
        let unsigned = components.url!
        let request = [
            method, Self.canonicalPath(unsigned), Self.canonicalQuery(unsigned), "host:\(Self.host(unsigned))\n", "host", Self.unsignedPayload,
        ].joined(separator: "\n")
        let signature = self.signature(
            stringToSign: "AWS4-HMAC-SHA256\n\(stamp)\n\(scope)\n\(Self.hex(SHA256.hash(data: Data(request.utf8))))", day: day)
        components.percentEncodedQueryItems = items + [URLQueryItem(name: "X-Amz-Signature", value: signature)]
        return components.url!
    }

    private func signature(stringToSign: String, day: String) -> String {
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)))
        }
        let signingKey = hmac(
            hmac(hmac(hmac(SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8)), day), region), service), "aws4_request")
        return Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey))
    }

    static func host(_ url: URL) -> String {
        guard let host = url.host else { return "" }
        if let port = url.port, !(url.scheme == "http" && port == 80) && !(url.scheme == "https" && port == 443) { return "\(host):\(port)" }
        return host
    }

    /// The path as S3 expects it: each segment URI-encoded once ("/" kept).
    static func canonicalPath(_ url: URL) -> String {
        let path = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedPath ?? "/"
        let decoded = path.removingPercentEncoding ?? path
        let encoded = decoded.split(separator: "/", omittingEmptySubsequences: false).map { encode(String($0)) }.joined(separator: "/")
        return encoded.isEmpty ? "/" : encoded
    }

    /// Query parameters sorted by name, names and values URI-encoded.
    static func canonicalQuery(_ url: URL) -> String {
        let items = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedQueryItems ?? []
        var pairs: [(name: String, value: String)] = []
        for item in items {
            let rawValue: String = item.value ?? ""
            let name: String = encode(item.name.removingPercentEncoding ?? item.name)
            let value: String = encode(rawValue.removingPercentEncoding ?? rawValue)
            pairs.append((name, value))
        }
        pairs.sort { $0.name == $1.name ? $0.value < $1.value : $0.name < $1.name }
        return pairs.map { $0.name + "=" + $0.value }.joined(separator: "&")
    }

    /// RFC 3986 unreserved characters stay; everything else is %XX (uppercase).
    static func encode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                result.append(Character(UnicodeScalar(byte)))
            default:
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }

    static func trim(_ value: String) -> String {
        value.trimmingCharacters(in: .whitespaces).split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    static func timestamps(_ date: Date) -> (stamp: String, day: String) {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let stamp = formatter.string(from: date)
        return (stamp, String(stamp.prefix(8)))
    }

    static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 { Hex.lowercase(bytes) }

    public static func payloadHash(_ data: Data) -> String { hex(SHA256.hash(data: data)) }
}
