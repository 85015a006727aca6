import Vapor

/// Headers that every response carries. A handler that sets one of these itself wins.
struct SecurityHeadersMiddleware: AsyncMiddleware {
    /// No inline script or style anywhere: scripts and styles come from `/js` and `/css`.
    static let contentSecurityPolicy = [
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
        "font-src 'self'", "connect-src 'self'", "object-src 'none'", "base-uri 'none'",
        "form-action 'self'", "frame-ancestors 'none'",
    ].joined(separator: "; ")

    let behindTLS: Bool

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let response = try await next.respond(to: request)
        var headers: [(String, String)] = [
            ("Content-Security-Policy", Self.contentSecurityPolicy),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin"),
            ("X-Frame-Options", "DENY"),
            ("Cross-Origin-Opener-Policy", "same-origin"),
            ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
        ]
        if behindTLS {
            headers.append(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))
        }
        // Pages and API answers are made for whoever asked, and some show secrets once (recovery
        // codes, a new API key, a TOTP key): kept out of every cache, the browser's included, so
        // that the back button after signing out on a shared computer shows none of them.
        // Files (images, scripts, styles) say for themselves how they may be cached.
        if let type = response.headers.contentType, type == .html || type == .json || type.subType == "problem+json" {
            headers.append(("Cache-Control", "no-store"))
        }
        for (name, value) in headers where !response.headers.contains(name: name) {
            response.headers.add(name: name, value: value)
        }
        return response
    }
}
