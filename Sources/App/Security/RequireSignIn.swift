import Vapor

/// Pages behind it redirect visitors to sign-in (and back afterwards); JSON gets 401.
/// Account pages take a browser session only: an API key cannot manage keys, sessions or passwords.
struct RequireSignIn: AsyncMiddleware {
    var allowAPIKeys = false

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if request.currentUser?.apiScopes != nil, !allowAPIKeys {
            throw Abort(.forbidden, reason: "API keys cannot be used here; sign in with a browser.")
        }
        guard request.currentUser != nil else {
            if ErrorPageMiddleware.wantsJSON(request) { throw Abort(.unauthorized, reason: "Sign in first.") }
            let back = SignInController.safeNext(request.url.path).map { "?next=" + $0.queryEscaped } ?? ""
            return request.redirect(to: SiteURL.signIn.path + back)
        }
        return try await next.respond(to: request)
    }
}
