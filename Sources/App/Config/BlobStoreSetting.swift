import Domain
import Foundation
import Storage

extension ConfigReader {
    /// `BLOB_STORE_URL=s3://BUCKET?endpoint=…&region=…&path_style=true&prefix=…` switches to an
    /// S3-compatible bucket, with `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY` and optionally
    /// `S3_SSE` (`AES256` or `aws:kms`). Unset: the local directory (`BLOB_DIR`).
    func s3Store(_ name: String) throws(ConfigError) -> S3BlobStore.Settings? {
        guard let raw = optionalString(name) else { return nil }
        guard let parts = URLComponents(string: raw), parts.scheme == "s3", let bucket = parts.host, !bucket.isEmpty else {
            throw ConfigError(variable: name, problem: "write s3://BUCKET?endpoint=https://…&region=…")
        }
        let query = Dictionary((parts.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        let region = query["region"] ?? "us-east-1"
        let endpointText = query["endpoint"] ?? "https://s3.\(region).amazonaws.com"
        guard let endpoint = URL(string: endpointText), ["http", "https"].contains(endpoint.scheme ?? "") else {
            throw ConfigError(variable: name, problem: "endpoint '\(endpointText)' is not an http:// or https:// URL")
        }
        guard let accessKey = optionalString("S3_ACCESS_KEY_ID"), let secret = optionalString("S3_SECRET_ACCESS_KEY") else {
            throw ConfigError(variable: "S3_ACCESS_KEY_ID", problem: "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set with \(name)")
        }
        var prefix = query["prefix"] ?? ""
        if !prefix.isEmpty, !prefix.hasSuffix("/") { prefix += "/" }
        return S3BlobStore.Settings(
            endpoint: endpoint, bucket: bucket, region: region,
            credentials: .init(accessKeyID: accessKey, secretAccessKey: secret),
            pathStyle: (query["path_style"] ?? "false") == "true", serverSideEncryption: optionalString("S3_SSE"), prefix: prefix)
    }
}
