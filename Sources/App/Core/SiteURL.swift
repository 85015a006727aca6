import Vapor

/// Every URL Pictor serves, declared once: routes register `pathComponents`,
/// templates and redirects use `path`.
enum SiteURL: CaseIterable {
    case home
    case privacy
    case terms
    case cookies
    case doNotSell
    case healthz
    case readyz
    case metrics

    var path: String {
        switch self {
        case .home: "/"
        case .privacy: "/privacy"
        case .terms: "/terms"
        case .cookies: "/cookies"
        case .doNotSell: "/privacy/do-not-sell-or-share"
        case .healthz: "/healthz"
        case .readyz: "/readyz"
        case .metrics: "/metrics"
        }
    }

    var pathComponents: [PathComponent] {
        path.split(separator: "/").map { PathComponent(stringLiteral: String($0)) }
    }
}
