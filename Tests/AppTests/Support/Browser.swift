import Foundation
import Testing
import Vapor
import VaporTesting

@testable import App

/// A browser for in-memory tests: keeps cookies, reads the CSRF token from each page,
/// and sends forms the way a browser on Pictor's own pages would.
final class Browser: @unchecked Sendable {
    let app: Application
    private(set) var cookies: [String: String] = [:]
    private(set) var csrf: String?
    var origin: String? = "http://127.0.0.1:8080"
    var userAgent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

    init(_ app: Application) {
        self.app = app
    }

    @discardableResult
    func get(_ path: String, headers extra: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        let response = try await send(.GET, path, body: nil, extra: extra)
        if let token = Self.hiddenCSRF(in: response.body.string) { csrf = token }
        return response
    }

    /// Posts a urlencoded form; the page's CSRF token is added unless `csrf: false`.
    @discardableResult
    func post(_ path: String, _ fields: [String: String] = [:], csrf includeToken: Bool = true, headers extra: HTTPHeaders = [:]) async throws
        -> TestingHTTPResponse
    {
        var fields = fields
        if includeToken, let csrf { fields["_csrf"] = csrf }
        let body = fields.sorted { $0.key < $1.key }
            .map { "\(Self.escape($0.key))=\(Self.escape($0.value))" }
            .joined(separator: "&")
        let response = try await send(.POST, path, body: body, extra: extra)
        if let token = Self.hiddenCSRF(in: response.body.string) { csrf = token }
        return response
    }

    /// A JSON API call as the site's own scripts make it: cookies, Accept JSON, and the
    /// session's CSRF token in `X-CSRF-Token` (call `get` on a page first to learn it).
    @discardableResult
    func api(_ method: HTTPMethod, _ path: String, json: String? = nil, headers extra: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        var headers = extra
        headers.replaceOrAdd(name: .accept, value: "application/json")
        if json != nil { headers.contentType = .json }
        if method != .GET, let csrf, headers.first(name: "X-CSRF-Token") == nil { headers.add(name: "X-CSRF-Token", value: csrf) }
        return try await send(method, path, body: json, extra: headers)
    }

    /// Uploads `data` as the `image` field of a multipart form, with the session's CSRF token.
    @discardableResult
    func apiBytes(_ method: HTTPMethod, _ path: String, multipart data: Data, field: String = "image") async throws -> TestingHTTPResponse {
        let boundary = "pictor-test-boundary"
        var body = ByteBuffer(string: "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"; filename=\"upload.bin\"\r\n")
        body.writeString("Content-Type: application/octet-stream\r\n\r\n")
        body.writeBytes(data)
        body.writeString("\r\n--\(boundary)--\r\n")
        var headers = HTTPHeaders()
        headers.add(name: .accept, value: "application/json")
        headers.replaceOrAdd(name: .contentType, value: "multipart/form-data; boundary=\(boundary)")
        if let csrf { headers.add(name: "X-CSRF-Token", value: csrf) }
        return try await send(method, path, buffer: body, extra: headers)
    }

    private func send(_ method: HTTPMethod, _ path: String, body: String?, extra: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        try await send(method, path, buffer: body.map { ByteBuffer(string: $0) }, extra: extra)
    }

    private func send(_ method: HTTPMethod, _ path: String, buffer: ByteBuffer?, extra: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: .accept, value: "text/html")
        headers.add(name: .userAgent, value: userAgent)
        if !cookies.isEmpty {
            headers.add(name: .cookie, value: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))
        }
        if method != .GET {
            headers.contentType = .urlEncodedForm
            if let origin { headers.add(name: .origin, value: origin) }
        }
        for (name, value) in extra { headers.replaceOrAdd(name: name, value: value) }
        let response = try await app.testing().sendRequest(method, path, headers: headers, body: buffer)
        for header in response.headers[.setCookie] {
            let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            let name = String(pair[0]).trimmingCharacters(in: .whitespaces)
            let value = pair.count > 1 ? String(pair[1]) : ""
            if value.isEmpty || header.lowercased().contains("max-age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
        return response
    }

    /// Posts a prepared body (a multipart form) with its content type.
    @discardableResult
    func post(_ path: String, body: ByteBuffer, contentType: String, headers extra: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        var headers = extra
        headers.replaceOrAdd(name: .contentType, value: contentType)
        return try await send(.POST, path, buffer: body, extra: headers)
    }

    func setCookie(_ name: String, _ value: String) {
        cookies[name] = value
    }

    static func hiddenCSRF(in html: String) -> String? {
        guard let range = html.range(of: #"name="_csrf" value=""#) else { return nil }
        let rest = html[range.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}

extension TestingHTTPResponse {
    var location: String? { headers.first(name: .location) }
}
