import Vapor

/// Names and flags of Pictor's cookies.
///
/// Over HTTPS, and on plain HTTP to a loopback address (browsers treat 127.0.0.1 and
/// localhost as secure contexts, so `make run` works), cookies are `__Host-` prefixed,
/// Secure, HttpOnly, SameSite=Lax, Path=/. On plain HTTP to any other host the prefix and
/// Secure flag would make browsers drop the cookie, so they are left off and a warning is
/// logged at start-up: put Pictor behind TLS.
struct CookiePolicy: Sendable {
    let secure: Bool

    init(publicBaseURL: URL) {
        let loopback = ["127.0.0.1", "localhost", "::1", "[::1]"].contains(publicBaseURL.host ?? "")
        secure = publicBaseURL.scheme == "https" || loopback
    }

    var sessionName: String { secure ? "__Host-pictor_session" : "pictor_session" }
    var csrfName: String { secure ? "__Host-pictor_csrf" : "pictor_csrf" }
    var ageScreenName: String { secure ? "__Host-pictor_age" : "pictor_age" }
    var pendingSignInName: String { secure ? "__Host-pictor_mfa" : "pictor_mfa" }

    /// `maxAge` nil: the cookie ends with the browser session.
    func cookie(_ value: String, maxAge: Int? = nil, sameSite: HTTPCookies.SameSitePolicy = .lax) -> HTTPCookies.Value {
        HTTPCookies.Value(string: value, maxAge: maxAge, path: "/", isSecure: secure, isHTTPOnly: true, sameSite: sameSite)
    }

    func expired() -> HTTPCookies.Value {
        HTTPCookies.Value(
            string: "", expires: Date(timeIntervalSince1970: 0), maxAge: 0, path: "/", isSecure: secure, isHTTPOnly: true, sameSite: .lax)
    }
}
