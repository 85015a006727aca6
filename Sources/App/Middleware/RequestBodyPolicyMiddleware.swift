import Domain
import NIOCore
import Vapor

/// What a route takes as a request body: which encodings, how many bytes, and (for multipart)
/// how many parts. Checked before anything parses the body, because parsing is where the cost
/// is: 11,500 tiny multipart parts sent to the sign-in form cost 2.5 s of CPU, with no account.
struct BodyPolicy: Sendable, Equatable {
    enum Encoding: Sendable, Hashable {
        case urlEncodedForm, json, multipartForm
    }

    var accepts: Set<Encoding>
    var maxBytes: Int
    /// Multipart only: the most parts a form of this route can honestly have.
    var maxParts: Int = 0

    /// A page's form: urlencoded, small.
    static let form = BodyPolicy(accepts: [.urlEncodedForm], maxBytes: 64 * 1024)
    /// An API call: JSON (or an empty form, as `fetch` sends with no body), small.
    static let api = BodyPolicy(accepts: [.json, .urlEncodedForm], maxBytes: 64 * 1024)

    /// The policy of `method path` among `routes` (route patterns such as `/generations/:generationID`),
    /// else the default for its kind of path.
    static func of(method: HTTPMethod, pattern: String, in routes: [String: BodyPolicy]) -> BodyPolicy {
        if let policy = routes["\(method.rawValue) \(pattern)"] { return policy }
        return pattern.hasPrefix("/api/") || pattern.hasPrefix(SiteURL.webhooksPrefix) ? .api : .form
    }
}

/// Refuses a body the route does not take before it is parsed: another encoding (415), more
/// bytes than the route's limit (413, from `Content-Length` at once or while reading), or a
/// multipart form with more parts than it can have (413, counted in one pass over the bytes).
/// Multipart is read only for someone signed in; every multipart route requires it.
struct RequestBodyPolicyMiddleware: AsyncMiddleware {
    /// Keyed by `METHOD pattern`, e.g. `POST /studio`.
    let routes: [String: BodyPolicy]
    /// How long a client may take to send a whole body (HTTP_BODY_TIMEOUT_SECONDS): a client
    /// that trickles one could otherwise hold a connection and its buffer for good.
    var bodyTimeout: TimeAmount = .seconds(30)

    /// The most `name=value` pairs a query string or a urlencoded form may have: Vapor's parser
    /// takes time that grows with the square of repeated names (12,000 `a=1&` pairs: 2.9 s of CPU on
    /// the threads that serve every connection), and no Pictor form or query has more than a few.
    static let maxPairs = 64

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if let query = request.url.query, Self.pairCount(query.utf8) > Self.maxPairs { throw BodyPolicyError.tooManyFields(Self.maxPairs) }
        guard [.POST, .PUT, .PATCH, .DELETE].contains(request.method) else { return try await next.respond(to: request) }
        if let coding = request.headers.first(name: .contentEncoding), coding.lowercased() != "identity" {
            throw BodyPolicyError.compressed
        }
        guard let contentType = request.headers.contentType else { return try await next.respond(to: request) }
        let pattern = RequestObservationMiddleware.routeLabel(request)
        let policy = BodyPolicy.of(method: request.method, pattern: pattern, in: routes)
        let encoding: BodyPolicy.Encoding? =
            switch (contentType.type, contentType.subType) {
            case ("application", "x-www-form-urlencoded"): .urlEncodedForm
            case ("application", "json"): .json
            case ("multipart", "form-data"): .multipartForm
            default: nil
            }
        guard let encoding, policy.accepts.contains(encoding) else {
            throw BodyPolicyError.unsupportedEncoding(policy.accepts)
        }
        if let length = request.headers.first(name: .contentLength).flatMap({ BoundedNumber.parse($0, in: 0...Int.max) }),
            length > policy.maxBytes
        {
            throw BodyPolicyError.tooLarge(maxBytes: policy.maxBytes)
        }
        if encoding == .multipartForm {
            guard request.currentUser != nil else { return try await next.respond(to: request) }
            guard let boundary = MultipartShape.boundary(fromParameter: contentType.parameters["boundary"]) else {
                throw BodyPolicyError.malformedMultipart
            }
            let body = try await collect(request, max: policy.maxBytes)
            let parts = body.withUnsafeReadableBytes {
                MultipartShape.partCount(in: $0.assumingMemoryBound(to: UInt8.self), boundary: boundary, limit: policy.maxParts)
            }
            guard parts <= policy.maxParts else { throw BodyPolicyError.tooManyParts(policy.maxParts) }
        } else {
            let body = try await collect(request, max: policy.maxBytes)
            if encoding == .urlEncodedForm, Self.pairCount(body.readableBytesView) > Self.maxPairs {
                throw BodyPolicyError.tooManyFields(Self.maxPairs)
            }
        }
        return try await next.respond(to: request)
    }

    /// `&`-separated pairs, counted without parsing.
    static func pairCount<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> Int {
        bytes.reduce(1) { $0 + ($1 == UInt8(ascii: "&") || $1 == UInt8(ascii: ";") ? 1 : 0) }
    }

    /// The whole body, at most `max` bytes, within the body timeout.
    private func collect(_ request: Request, max: Int) async throws -> ByteBuffer {
        let promise = request.eventLoop.makePromise(of: ByteBuffer?.self)
        let timer = request.eventLoop.scheduleTask(in: bodyTimeout) { promise.fail(BodyPolicyError.tooSlow) }
        request.body.collect(max: max).whenComplete { result in
            timer.cancel()
            promise.completeWith(result)  // ignored when the timer failed it first
        }
        do {
            return try await promise.futureResult.get() ?? ByteBuffer()
        } catch let error as any AbortError where error.status == .payloadTooLarge {
            throw BodyPolicyError.tooLarge(maxBytes: max)
        }
    }
}

enum BodyPolicyError: UserFacingError, Equatable {
    case unsupportedEncoding(Set<BodyPolicy.Encoding>)
    case tooLarge(maxBytes: Int)
    case tooManyParts(Int)
    case tooManyFields(Int)
    case malformedMultipart
    case compressed
    case tooSlow

    var kind: FailureKind {
        switch self {
        case .unsupportedEncoding, .compressed: .unsupportedMediaType
        case .tooLarge, .tooManyParts: .payloadTooLarge
        case .tooManyFields, .malformedMultipart: .invalidInput
        case .tooSlow: .requestTimeout
        }
    }

    var userMessage: String {
        switch self {
        case .unsupportedEncoding(let accepted):
            let names = [
                (BodyPolicy.Encoding.json, "application/json"), (.multipartForm, "multipart/form-data"),
                (.urlEncodedForm, "application/x-www-form-urlencoded"),
            ].filter { accepted.contains($0.0) }.map(\.1)
            return "This address takes a body sent as \(names.joined(separator: " or ")) only."
        case .tooLarge(let maxBytes):
            return maxBytes >= 1_048_576
                ? "The request is too large: send at most \(maxBytes / 1_048_576) MB."
                : "The request is too large: send at most \(maxBytes / 1024) KB."
        case .tooManyParts(let parts):
            return "This form has more fields than it can have (at most \(parts)). Reload the page and try again."
        case .malformedMultipart:
            return "The form's multipart boundary is missing or malformed."
        case .tooManyFields(let fields):
            return "The request has more fields than any form here (at most \(fields))."
        case .tooSlow:
            return "The request's body did not arrive in time."
        case .compressed:
            return "Send the body uncompressed: Pictor does not take a Content-Encoding on requests."
        }
    }
}
