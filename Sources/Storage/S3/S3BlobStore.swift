import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Blobs in an S3-compatible bucket (AWS, MinIO, RustFS, Ceph, R2, …), signed with SigV4 over
/// AsyncHTTPClient. Path-style (`endpoint/bucket/key`) or virtual-host style
/// (`bucket.endpoint/key`) addressing; server-side encryption passed through. A PUT is atomic
/// in S3: a reader sees the whole object or none of it.
public struct S3BlobStore: BlobStore {
    public struct Settings: Sendable, Equatable {
        /// e.g. `https://s3.eu-central-1.amazonaws.com` or `http://127.0.0.1:9000`.
        public var endpoint: URL
        public var bucket: String
        public var region: String
        public var credentials: SigV4.Credentials
        public var pathStyle: Bool
        /// `AES256` or `aws:kms` (`x-amz-server-side-encryption`), or nil.
        public var serverSideEncryption: String?
        /// A key prefix inside the bucket (e.g. `pictor/`).
        public var prefix: String

        public init(
            endpoint: URL, bucket: String, region: String, credentials: SigV4.Credentials, pathStyle: Bool,
            serverSideEncryption: String? = nil, prefix: String = ""
        ) {
            self.endpoint = endpoint
            self.bucket = bucket
            self.region = region
            self.credentials = credentials
            self.pathStyle = pathStyle
            self.serverSideEncryption = serverSideEncryption
            self.prefix = prefix
        }
    }

    public let settings: Settings
    let signer: SigV4
    let client: HTTPClient
    /// Size of each part of a multipart upload (S3's minimum is 5 MiB).
    let partSize: Int

    public init(settings: Settings, partSize: Int = 8 * 1_048_576, client: HTTPClient = .shared) {
        self.settings = settings
        self.signer = SigV4(credentials: settings.credentials, region: settings.region)
        self.partSize = max(partSize, 5 * 1_048_576)
        self.client = client
    }

    public func put(_ data: Data, at key: BlobKey) async throws {
        var headers = ["content-type": "application/octet-stream"]
        if let sse = settings.serverSideEncryption { headers["x-amz-server-side-encryption"] = sse }
        let answer = try await send("PUT", url: url(for: key), headers: headers, body: data, operation: "store")
        guard answer.status == .ok else { throw failure(answer, operation: "store", key: key) }
    }

    /// Objects up to `partSize` go in one PUT; larger ones as a multipart upload, part by part as
    /// the chunks arrive (a chunk larger than a part becomes several parts; the buffer never holds
    /// more than a part and a chunk). If the sequence throws or the task is cancelled, the upload
    /// is aborted: nothing is stored, and no unfinished upload is left to be billed.
    public func put(chunks: some AsyncSequence<Data, any Error> & Sendable, at key: BlobKey) async throws {
        var buffer = Data()
        var upload: MultipartUpload?
        do {
            for try await chunk in chunks {
                buffer.append(chunk)
                while buffer.count >= partSize {
                    if upload == nil { upload = try await MultipartUpload.start(self, key: key) }
                    try await upload!.add(buffer.prefix(partSize))
                    buffer = buffer.dropFirst(partSize)  // a slice: the rest is not copied for each part
                }
            }
            // A cancelled task's stream may just end: that is no reason to store what came so far.
            try Task.checkCancellation()
            guard var started = upload else { return try await put(buffer, at: key) }
            if !buffer.isEmpty { try await started.add(buffer) }
            try await started.complete()
        } catch {
            if let upload {
                // In a task of its own: in this (perhaps cancelled) one, the request would be
                // cancelled before it was sent.
                await Task.detached { await upload.abort() }.value
            }
            throw error
        }
    }

    public func get(_ key: BlobKey) async throws -> Data {
        let answer = try await send("GET", url: url(for: key), operation: "read")
        guard answer.status == .ok else { throw failure(answer, operation: "read", key: key) }
        return answer.body
    }

    public func exists(_ key: BlobKey) async throws -> Bool {
        let answer = try await send("HEAD", url: url(for: key), operation: "check")
        if answer.status == .notFound { return false }
        guard answer.status == .ok else { throw failure(answer, operation: "check", key: key) }
        return true
    }

    public func delete(_ key: BlobKey) async throws {
        let answer = try await send("DELETE", url: url(for: key), operation: "delete")
        guard answer.status == .noContent || answer.status == .ok || answer.status == .notFound else {
            throw failure(answer, operation: "delete", key: key)
        }
    }

    public func entries(prefix: String) async throws -> [StoredBlob] {
        var blobs: [StoredBlob] = []
        var token: String?
        repeat {
            var query = "list-type=2&prefix=" + SigV4.encode(settings.prefix + prefix)
            if let token { query += "&continuation-token=" + SigV4.encode(token) }
            let answer = try await send("GET", url: URL(string: bucketURL().absoluteString + "?" + query)!, operation: "list")
            guard answer.status == .ok else { throw failure(answer, operation: "list", key: nil) }
            let listing = ListingParser.parse(answer.body)
            blobs += listing.objects.compactMap { object in
                guard object.key.hasPrefix(settings.prefix),
                    let key = try? BlobKey(String(object.key.dropFirst(settings.prefix.count)))
                else { return nil }
                return StoredBlob(key: key, modified: object.modified)
            }
            token = listing.nextToken
        } while token != nil
        return blobs.sorted { $0.key.rawValue < $1.key.rawValue }
    }

    /// Creates the bucket (tests and first-time setup); an existing bucket of yours is fine.
    public static func createBucket(_ settings: Settings, client: HTTPClient = .shared) async throws {
        let store = S3BlobStore(settings: settings, client: client)
        let answer = try await store.send("PUT", url: store.bucketURL(), operation: "create bucket")
        guard answer.status == .ok || ListingParser.errorCode(answer.body) == "BucketAlreadyOwnedByYou" else {
            throw store.failure(answer, operation: "create bucket", key: nil)
        }
    }

    /// A URL that lets anyone GET the blob until it expires (for handing large downloads to S3).
    public func presignedURL(for key: BlobKey, expiresIn seconds: Int, now: Date = Date()) -> URL {
        signer.presignedURL(url(for: key), expires: seconds, date: now)
    }

    // MARK: - Requests

    func bucketURL() -> URL {
        if settings.pathStyle { return settings.endpoint.appendingPathComponent(settings.bucket) }
        var components = URLComponents(url: settings.endpoint, resolvingAgainstBaseURL: false)!
        components.host = "\(settings.bucket).\(components.host ?? "")"
        return components.url!
    }

    func url(for key: BlobKey) -> URL {
        let path = (settings.prefix + key.rawValue).split(separator: "/").map { SigV4.encode(String($0)) }.joined(separator: "/")
        return URL(string: bucketURL().absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/" + path)!
    }

    struct Answer {
        let status: HTTPResponseStatus
        let headers: HTTPHeaders
        let body: Data
    }

    func send(_ method: String, url: URL, headers: [String: String] = [:], body: Data = Data(), operation: String) async throws -> Answer {
        var toSign = headers
        toSign["host"] = SigV4.host(url)
        let signed = signer.sign(method: method, url: url, headers: toSign, payloadHash: SigV4.payloadHash(body), date: Date())
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        for (name, value) in signed { request.headers.add(name: name, value: value) }
        if !body.isEmpty || method == "PUT" { request.body = .bytes(ByteBuffer(data: body)) }
        do {
            let response = try await client.execute(request, timeout: .seconds(60))
            let bytes = try await response.body.collect(upTo: 512 * 1_048_576)
            return Answer(status: response.status, headers: response.headers, body: Data(buffer: bytes))
        } catch {
            throw BlobStoreError.ioFailure(operation: operation, detail: "the S3 endpoint could not be reached: \(error)")
        }
    }

    func failure(_ answer: Answer, operation: String, key: BlobKey?) -> BlobStoreError {
        if answer.status == .notFound, let key, operation != "list" { return .notFound(key.rawValue) }
        let code = ListingParser.errorCode(answer.body) ?? "HTTP \(answer.status.code)"
        let detail =
            switch code {
            case "SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied":
                "S3 refused the credentials (\(code)); check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"
            case "NoSuchBucket": "the bucket \(settings.bucket) does not exist"
            default: "S3 answered \(code)"
            }
        return .ioFailure(operation: operation, detail: detail)
    }
}

/// One multipart upload: start, add parts in order, complete (or abort).
struct MultipartUpload {
    let store: S3BlobStore
    let key: BlobKey
    let uploadID: String
    private(set) var etags: [String] = []

    static func start(_ store: S3BlobStore, key: BlobKey) async throws -> MultipartUpload {
        var headers = ["content-type": "application/octet-stream"]
        if let sse = store.settings.serverSideEncryption { headers["x-amz-server-side-encryption"] = sse }
        let answer = try await store.send(
            "POST", url: URL(string: store.url(for: key).absoluteString + "?uploads")!, headers: headers, operation: "store")
        guard answer.status == .ok, let id = ListingParser.values(of: "UploadId", in: String(decoding: answer.body, as: UTF8.self)).first else {
            throw store.failure(answer, operation: "store", key: key)
        }
        return MultipartUpload(store: store, key: key, uploadID: id)
    }

    private func url(_ query: String) -> URL {
        URL(string: store.url(for: key).absoluteString + "?" + query)!
    }

    mutating func add(_ part: Data) async throws {
        let number = etags.count + 1
        let answer = try await store.send(
            "PUT", url: url("partNumber=\(number)&uploadId=\(SigV4.encode(uploadID))"), body: part, operation: "store")
        guard answer.status == .ok, let etag = answer.headers.first(name: "ETag") else { throw store.failure(answer, operation: "store", key: key) }
        etags.append(etag)
    }

    func complete() async throws {
        let parts = etags.enumerated().map { "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\($0.element)</ETag></Part>" }.joined()
        let body = Data("<CompleteMultipartUpload>\(parts)</CompleteMultipartUpload>".utf8)
        let answer = try await store.send("POST", url: url("uploadId=\(SigV4.encode(uploadID))"), body: body, operation: "store")
        // S3 may answer 200 with an error document when completion fails late.
        guard answer.status == .ok, ListingParser.errorCode(answer.body) == nil else { throw store.failure(answer, operation: "store", key: key) }
    }

    func abort() async {
        _ = try? await store.send("DELETE", url: url("uploadId=\(SigV4.encode(uploadID))"), operation: "store")
    }
}

/// Reads the few XML answers S3 gives: object listings and error codes.
enum ListingParser {
    struct Listing {
        let objects: [(key: String, modified: Date)]
        let nextToken: String?
    }

    static func parse(_ xml: Data) -> Listing {
        let text = String(decoding: xml, as: UTF8.self)
        let truncated = values(of: "IsTruncated", in: text).first == "true"
        let objects = values(of: "Contents", in: text).compactMap { entry -> (key: String, modified: Date)? in
            guard let key = values(of: "Key", in: entry).first.map(unescape) else { return nil }
            return (key, values(of: "LastModified", in: entry).first.flatMap(date) ?? .distantFuture)
        }
        return Listing(objects: objects, nextToken: truncated ? values(of: "NextContinuationToken", in: text).first.map(unescape) : nil)
    }

    /// `2026-12-02T06:00:00.000Z`, with or without the fraction.
    static func date(_ text: String) -> Date? {
        (try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)))
            ?? (try? Date(text, strategy: .iso8601))
    }

    static func errorCode(_ xml: Data) -> String? {
        values(of: "Code", in: String(decoding: xml, as: UTF8.self)).first
    }

    static func values(of element: String, in text: String) -> [String] {
        var found: [String] = []
        var rest = Substring(text)
        while let open = rest.range(of: "<\(element)>"), let close = rest.range(of: "</\(element)>", range: open.upperBound..<rest.endIndex) {
            found.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return found
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
