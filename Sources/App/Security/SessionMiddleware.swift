import Domain
import Fluent
import Persistence
import Vapor

/// Signs the request in from its session cookie, keeps the session's last-seen time,
/// clears a cookie that no longer names a live session, and sets the visitor CSRF cookie
/// when a page minted one.
struct SessionMiddleware: AsyncMiddleware {
    let cookies: CookiePolicy
    let policy: SessionPolicy

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        var staleCookie = false
        if let token = request.cookies[cookies.sessionName]?.string, !token.isEmpty {
            let now = request.pictor.clock.now()
            if let (session, user) = try await Sessions.lookup(token: token, now: now, policy: policy, on: request.db) {
                request.currentUser = CurrentUser(
                    id: user.id!, email: user.email, role: user.role,
                    emailVerified: user.emailVerifiedAt != nil, sessionID: session.id!, csrfToken: session.csrfToken,
                    authenticatedAt: session.authenticatedAt,
                    creditsAvailable: try await LedgerStore.balance(of: user.id!, on: request.db).available)
                if now.timeIntervalSince(session.lastSeenAt) > 60 || session.ipPrefix != request.ipPrefix {
                    session.lastSeenAt = now
                    session.ipPrefix = request.ipPrefix
                    try await SessionStore.save(session, on: request.db)
                }
                request.logger[metadataKey: "user-id"] = .string(user.id!.uuidString)
            } else {
                staleCookie = true
            }
        }
        let response = try await next.respond(to: request)
        if staleCookie, response.cookies[cookies.sessionName] == nil {
            response.cookies[cookies.sessionName] = cookies.expired()
        }
        if let minted = request.mintedAnonymousCSRF {
            response.cookies[cookies.csrfName] = cookies.cookie(minted, sameSite: .strict)
        }
        return response
    }
}

/// Refuses state-changing requests that did not come from Pictor's own pages:
/// the browser's `Sec-Fetch-Site` or `Origin` must name this site, and the request must
/// carry the synchronizer token (`_csrf` form field or `X-CSRF-Token` header).
struct CSRFMiddleware: AsyncMiddleware {
    let publicBaseURL: URL
    /// How much of a signed-in person's studio form (multipart, with reference images) may be
    /// read to find its `_csrf` field.
    var maxMultipartBody: Int = 1_048_576

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard [.POST, .PUT, .PATCH, .DELETE].contains(request.method) else {
            return try await next.respond(to: request)
        }
        // API keys come in a header no other site can make a browser send: no CSRF risk.
        // Provider webhooks carry no cookies and prove themselves with a signature instead.
        if request.currentUser?.apiScopes != nil || request.url.path.hasPrefix(SiteURL.webhooksPrefix) {
            return try await next.respond(to: request)
        }
        if let site = request.headers.first(name: "Sec-Fetch-Site"), !["same-origin", "none"].contains(site) {
            throw SecurityError.crossSiteRequest
        }
        if let origin = request.headers.first(name: .origin), origin != Self.origin(of: publicBaseURL) {
            throw SecurityError.crossSiteRequest
        }
        let presented = try await presentedToken(request)
        guard let presented, presented.count >= 32, constantTimeEquals(Array(presented.utf8), Array(request.csrfToken.utf8)),
            request.currentUser != nil || request.mintedAnonymousCSRF == nil
        else { throw SecurityError.csrfTokenMissing }
        return try await next.respond(to: request)
    }

    static func origin(of url: URL) -> String {
        var origin = "\(url.scheme ?? "http")://\(url.host ?? "")"
        if let port = url.port { origin += ":\(port)" }
        return origin
    }

    private func presentedToken(_ request: Request) async throws -> String? {
        if let header = request.headers.first(name: "X-CSRF-Token") { return header }
        if let query = try? request.query.get(String.self, at: "_csrf") { return query }
        if request.headers.contentType == .urlEncodedForm {
            _ = try await request.body.collect(max: 1_048_576).get()
            return try? request.content.get(String.self, at: "_csrf")
        }
        // The one multipart form with a `_csrf` field is the studio's; it is read only for
        // someone signed in, so a visitor cannot make the server buffer an upload to be refused,
        // and no other route's body limit is bypassed. The token is the form's first field and
        // is read without parsing the rest: the upload is parsed once, by the studio, and only
        // after the token matched.
        if let type = request.headers.contentType, type.type == "multipart", type.subType == "form-data",
            request.url.path == SiteURL.studio.path, request.currentUser != nil,
            let boundary = MultipartShape.boundary(fromParameter: type.parameters["boundary"])
        {
            guard let body = try await request.body.collect(max: maxMultipartBody).get() else { return nil }
            return body.withUnsafeReadableBytes {
                MultipartShape.leadingField(named: "_csrf", in: $0.assumingMemoryBound(to: UInt8.self), boundary: boundary)
            }
        }
        return nil
    }
}

enum SecurityError: UserFacingError, Equatable {
    case crossSiteRequest
    case csrfTokenMissing

    var kind: FailureKind { .forbidden }

    var userMessage: String {
        switch self {
        case .crossSiteRequest: "This request came from another site, so it was refused."
        case .csrfTokenMissing: "This form has expired. Reload the page and try again."
        }
    }
}
