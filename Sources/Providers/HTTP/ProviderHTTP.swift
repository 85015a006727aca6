import AsyncHTTPClient
import Domain
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// What every HTTP adapter shares: sending with a deadline, reading the answer, and turning
/// HTTP failures into `ProviderError`s in words a person can read (no keys, no URLs).
public enum ProviderHTTP {
    public struct Answer: Sendable {
        public let status: HTTPResponseStatus
        public let headers: HTTPHeaders
        public let body: Data
    }

    /// `base` + `/` + `path`, whether or not the configured base ends with a slash.
    public static func url(_ base: URL, _ path: String) -> String {
        base.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/" + path
    }

    /// Largest answer read into memory (several base64 images fit).
    public static let maxAnswerBytes = 256 * 1_048_576

    public static func send(
        _ request: HTTPClientRequest, client: HTTPClient, timeout: Duration, provider: String, upTo limit: Int = maxAnswerBytes
    ) async throws -> Answer {
        let seconds = Int64(timeout.components.seconds) + (timeout.components.attoseconds > 0 ? 1 : 0)
        let deadline = ContinuousClock.now + .seconds(seconds)
        do {
            let response = try await client.execute(request, timeout: .seconds(seconds))
            // The client's deadline ends with the answer's head: a body that stalls half-way
            // would hold the call for as long as the server likes. Read within the same deadline.
            let body = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
                group.addTask { try await response.body.collect(upTo: limit) }
                group.addTask {
                    try await Task.sleep(until: deadline)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let body = first else { throw HTTPClientError.deadlineExceeded }
                return body
            }
            return Answer(status: response.status, headers: response.headers, body: Data(buffer: body))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw ProviderError.retryable("\(provider) did not answer in time")
        } catch is CancellationError {
            throw CancellationError()
        } catch is NIOTooManyBytesError {
            // Retrying would fetch (and for some providers, pay for) the same oversized answer.
            throw ProviderError.permanent("\(provider) answered with more than \(limit / 1_048_576) MiB")
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw ProviderError.retryable("\(provider) could not be reached")
        }
    }

    /// GETs `url` and returns its bytes (images a provider links to, which expire: fetched at once).
    public static func fetch(_ url: String, client: HTTPClient, timeout: Duration, provider: String) async throws -> Data {
        let answer = try await send(HTTPClientRequest(url: url), client: client, timeout: timeout, provider: provider)
        guard answer.status == .ok else { throw failure(answer, provider: provider, detail: nil) }
        return answer.body
    }

    /// Largest image a provider may link to.
    static let maxLinkedImageBytes = 64 * 1_048_576

    /// The client every adapter calls its provider with: it follows no redirect. A provider's
    /// answer is to the request sent, and a redirect would carry the request, and the operator's
    /// key in its headers (Gemini's `x-goog-api-key` is no `Authorization` a client would drop),
    /// to whatever host it names.
    ///
    /// A server that cannot be reached fails the call within `connectTimeout`: a refused
    /// connection at once, an unanswered one when the timeout ends. (By default the client keeps
    /// retrying the connection: with a stopped ComfyUI every call sat 30 s, the fallback model was
    /// tried only after that, and every worker waited; with retries on and a short connect
    /// timeout, calls still took 10 s when several waited for the host.) The price: a connection
    /// that fails fails every call then waiting for one to that host, each a retryable failure
    /// that counts towards the model's breaker; the breaker then rests the model (its jobs wait,
    /// or go to its fallback) rather than every call hanging.
    public static let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration())

    /// Longest wait for a connection (TCP and TLS) to a provider.
    public static let connectTimeout: TimeAmount = .milliseconds(1500)

    /// How every provider client is set up: no redirects, connections fail fast.
    public static func configuration() -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout.connect = connectTimeout
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    /// An image a provider's answer links to (links expire: fetched at once). What the link may be
    /// is decided here, not by the provider: `https`, or `http` only when the provider itself is
    /// reached over `http` (a server on the operator's network); or a `data:` URL, read in place.
    /// Nothing else (`http+unix`, `file`, …), no redirects, at most 64 MiB.
    public static func fetchLinked(_ link: String, from base: URL, timeout: Duration, provider: String) async throws -> Data {
        if link.hasPrefix("data:") {
            guard let comma = link.firstIndex(of: ","), link[..<comma].hasSuffix(";base64"),
                let bytes = Data(base64Encoded: String(link[link.index(after: comma)...]))
            else { throw ProviderError.retryable("\(provider) sent an answer Pictor could not read") }
            return bytes
        }
        let url = URL(string: link)
        let scheme = url?.scheme?.lowercased()
        guard scheme == "https" || (scheme == "http" && base.scheme?.lowercased() == "http"), let host = url?.host, !host.isEmpty else {
            throw ProviderError.permanent("\(provider) linked to its image in a way Pictor does not follow")
        }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let addresses = await LinkAddress.resolve(bare)
        guard let address = addresses.first else { throw ProviderError.retryable("\(provider) linked to an image on a host that could not be found") }
        // The provider's own origin (scheme, host and port, as configured), not merely its host:
        // another port on a self-hosted server's machine is another service.
        func origin(_ url: URL?) -> String? {
            guard let url, let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased() else { return nil }
            return "\(scheme)://\(host):\(url.port ?? (scheme == "https" ? 443 : 80))"
        }
        let providersOwn = origin(url) != nil && origin(url) == origin(base)
        guard providersOwn || addresses.allSatisfy(LinkAddress.isPublic) else {
            throw ProviderError.permanent("\(provider) linked to its image on a private network address, which Pictor does not follow")
        }
        // Connect to the address just checked (a second lookup could name another), with the
        // host name kept for the certificate check and the Host header.
        var configuration = configuration()
        configuration.dnsOverride = [bare: address]
        let pinned = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let answer: Answer
        do {
            answer = try await send(HTTPClientRequest(url: link), client: pinned, timeout: timeout, provider: provider, upTo: maxLinkedImageBytes)
            try? await pinned.shutdown()
        } catch {
            try? await pinned.shutdown()
            throw error
        }
        if (300..<400).contains(answer.status.code) {
            throw ProviderError.permanent("\(provider) linked to its image through a redirect, which Pictor does not follow")
        }
        guard answer.status == .ok else { throw failure(answer, provider: provider, detail: nil) }
        return answer.body
    }

    /// The answer's JSON as `T`; an answer of another shape is worth retrying (a proxy's error page,
    /// a truncated body), and says so without quoting it.
    public static func decode<T: Decodable>(_ type: T.Type, from answer: Answer, provider: String) throws -> T {
        guard let decoded = try? JSONDecoder().decode(T.self, from: answer.body) else {
            throw ProviderError.retryable("\(provider) sent an answer Pictor could not read")
        }
        return decoded
    }

    /// The usual meaning of an unsuccessful status: 408, 429 and 5xx are worth retrying, 401/403
    /// mean the operator's credentials were refused, other 4xx will fail again.
    public static func failure(_ answer: Answer, provider: String, detail: String?) -> ProviderError {
        let code = answer.status.code
        switch code {
        case 429:
            let wait = answer.headers.first(name: "Retry-After").map { " (it asked to wait \($0) s)" } ?? ""
            return .retryable("\(provider) is limiting requests\(wait)")
        case 500...599:
            return .retryable("\(provider) had a problem (HTTP \(code))")
        case 408:
            return .retryable("\(provider) did not answer in time (HTTP 408)")
        case 401, 403:
            return .permanent("\(provider) refused the operator's credentials; the operator has been told")
        default:
            let said = detail.map { ": " + String($0.prefix(200)) } ?? ""
            return .permanent("\(provider) refused the request (HTTP \(code))\(said)")
        }
    }
}

/// A `multipart/form-data` body built field by field.
public struct MultipartForm: Sendable {
    public let boundary = "pictor-" + UUID().uuidString.lowercased()
    private(set) var body = Data()

    public init() {}

    public mutating func add(_ name: String, _ value: String) {
        body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8))
    }

    public mutating func add(_ name: String, file data: Data, filename: String, contentType: String) {
        body.append(
            Data(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\nContent-Type: \(contentType)\r\n\r\n"
                    .utf8))
        body.append(data)
        body.append(Data("\r\n".utf8))
    }

    public var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    public var encoded: Data { body + Data("--\(boundary)--\r\n".utf8) }
}

/// Where an adapter tells the operator of trouble that is not a call's outcome (a cancel the
/// server refused, a history entry it kept): the log and `/admin`, through the App.
public struct ProblemReport: Sendable {
    private let report: @Sendable (String) -> Void

    public init(_ report: @escaping @Sendable (String) -> Void) {
        self.report = report
    }

    public static let ignored = ProblemReport { _ in }

    public func callAsFunction(_ text: String) { report(text) }
}
