import Domain
import Vapor

/// The public pages: landing, privacy policy, terms, cookies, do-not-sell.
enum PagesController {
    @Sendable static func home(req: Request) async throws -> View {
        let prices = req.pictor.models.entries.map { entry in
            HomePageContext.Price(model: entry.displayName, credits: "\(entry.pricePerImage) credit\(entry.pricePerImage == 1 ? "" : "s") per image")
        }
        return try await req.view.render(
            "pages/home",
            HomePageContext(
                layout: .make(for: req, title: "Make images from words"), prices: prices, signedIn: req.currentUser != nil))
    }

    /// The privacy policy's "what we keep" table is generated from the data inventory,
    /// so it can never disagree with what the database holds.
    @Sendable static func privacy(req: Request) async throws -> View {
        let rows = DataInventory.pictor.personalColumns.map { entry in
            PrivacyPageContext.Row(
                data: "\(entry.table).\(entry.column)", category: entry.policy.category.rawValue,
                purpose: entry.policy.use.rawValue, retention: describe(entry.policy.retention))
        }
        let context = PrivacyPageContext(layout: .make(for: req, title: "Privacy policy"), rows: rows, hasRows: !rows.isEmpty)
        return try await req.view.render("pages/privacy", context)
    }

    @Sendable static func terms(req: Request) async throws -> View {
        try await req.view.render("pages/terms", SimplePageContext(layout: .make(for: req, title: "Terms of service")))
    }

    @Sendable static func cookies(req: Request) async throws -> View {
        try await req.view.render("pages/cookies", SimplePageContext(layout: .make(for: req, title: "Cookie settings")))
    }

    /// Global Privacy Control (`Sec-GPC: 1`) is acknowledged on the page itself.
    @Sendable static func doNotSell(req: Request) async throws -> View {
        let context = DoNotSellPageContext(
            layout: .make(for: req, title: "Do Not Sell or Share My Personal Information"),
            globalPrivacyControl: req.headers.first(name: "Sec-GPC") == "1")
        return try await req.view.render("pages/do-not-sell", context)
    }

    static func describe(_ retention: Retention) -> String {
        switch retention {
        case .lifeOfAccount: "while your account exists"
        case .days(let days): "\(days) days"
        case .lifeOfService: "operational record"
        }
    }
}

struct SimplePageContext: Encodable {
    let layout: LayoutContext
}

/// `pages/home.leaf`: what Pictor does and what each model costs.
struct HomePageContext: Encodable {
    struct Price: Encodable {
        let model: String
        let credits: String
    }

    let layout: LayoutContext
    let prices: [Price]
    let signedIn: Bool
}

struct PrivacyPageContext: Encodable {
    struct Row: Encodable {
        let data: String
        let category: String
        let purpose: String
        let retention: String
    }

    let layout: LayoutContext
    let rows: [Row]
    let hasRows: Bool
}

struct DoNotSellPageContext: Encodable {
    let layout: LayoutContext
    let globalPrivacyControl: Bool
}
