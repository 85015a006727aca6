import Vapor

/// What the shared layout (`Resources/Views/layout.leaf`) needs on every page.
struct LayoutContext: Encodable {
    struct Link: Encodable {
        let label: String
        let href: String
        let current: Bool
    }

    struct Flash: Encodable {
        enum Level: String, Encodable { case info, success, warning, error }
        let level: Level
        let text: String
        /// A form posting here appears beside the text as an "Undo" button.
        var undoURL: String? = nil
    }

    let title: String
    let navigation: [Link]
    /// Set when someone is signed in: the nav shows a sign-out button carrying this token.
    let signOutCSRF: String?
    let signedInEmail: String?
    /// "120 credits" in the header for a signed-in person, linking to `/billing`.
    let balance: String?
    let footer: [Link]
    let flashes: [Flash]
    let hasFlashes: Bool
    let year: Int
    /// Every page's path by its `SiteURL` name (`layout.links.gallery`): templates hold no paths.
    let links = SiteURL.links

    static func make(for request: Request, title: String, flashes: [Flash] = []) -> LayoutContext {
        let path = request.url.path
        func link(_ label: String, _ url: SiteURL) -> Link {
            Link(label: label, href: url.path, current: path == url.path)
        }
        let user = request.currentUser
        let navigation =
            user == nil
            ? [link("Home", .home), link("Sign in", .signIn), link("Create account", .signUp)]
            : [link("Studio", .studio), link("Your images", .gallery), link("Account", .account)]
                + (user!.role >= .support ? [link("Console", .admin)] : [])
        return LayoutContext(
            title: title,
            navigation: navigation,
            signOutCSRF: user?.csrfToken,
            signedInEmail: user?.email,
            balance: user?.creditsAvailable.map { $0 == 1 ? "1 credit" : "\($0) credits" },
            footer: [
                link("Privacy policy", .privacy),
                link("Terms", .terms),
                link("Cookie settings", .cookies),
                link("Do Not Sell or Share My Personal Information", .doNotSell),
            ],
            flashes: flashes,
            hasFlashes: !flashes.isEmpty,
            year: Calendar(identifier: .gregorian).component(.year, from: request.pictor.clock.now())
        )
    }
}
