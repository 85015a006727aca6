import Vapor

/// Every URL Pictor serves, declared once: routes register `pathComponents`,
/// templates and redirects use `path`.
enum SiteURL: CaseIterable {
    case home
    case privacy
    case terms
    case cookies
    case doNotSell
    case privacyInventory
    case privacyCentre
    case privacyCentreRestrictions
    case healthz
    case readyz
    case metrics
    case signUp
    case verifyEmail
    case verifyEmailResend
    case signIn
    case signOut
    case forgotPassword
    case resetPassword
    case account
    case accountSessions
    case accountSessionRevoke
    case accountSessionsRevokeOthers
    case signInTwoFactor
    case accountSecurity
    case accountConfirmPassword
    case accountPassword
    case accountTwoFactorSetup
    case accountTwoFactorConfirm
    case accountTwoFactorDisable
    case accountRecoveryCodes
    case accountAPIKeys
    case accountEmail
    case accountEmailConfirm
    case accountAPIKeyRevoke
    case apiMe
    case apiSessions
    case apiSession
    case apiDisclosures
    case replicateWebhook
    case apiGenerations
    case apiGeneration
    case apiGenerationCancel
    case generationEvents
    case image
    case imageThumbnail
    case apiReferenceImages
    case studio
    case generationPage
    case generationPageCancel
    case gallery
    case apiReferenceImage
    case apiReferenceImageFile
    case generationFavourite
    case generationDelete
    case generationRestore
    case generationVariation
    case generationShare
    case generationShareRevoke
    case imageDownload
    case shared
    case sharedImage
    case apiGenerationFavourite
    case admin
    case adminAudit
    case adminJobs
    case billing
    case billingCheckout
    case billingOrder
    case billingRefundRequest
    case offlineCheckout
    case stripeWebhook
    case apiBalance
    case apiLedger
    case adminBilling
    case adminRefundDecision
    case adminAdjustment

    var path: String {
        switch self {
        case .home: "/"
        case .privacy: "/privacy"
        case .terms: "/terms"
        case .cookies: "/cookies"
        case .doNotSell: "/privacy/do-not-sell-or-share"
        case .privacyInventory: "/privacy/inventory.json"
        case .privacyCentre: "/privacy/centre"
        case .privacyCentreRestrictions: "/privacy/centre/restrictions"
        case .healthz: "/healthz"
        case .readyz: "/readyz"
        case .metrics: "/metrics"
        case .signUp: "/signup"
        case .verifyEmail: "/verify-email"
        case .verifyEmailResend: "/verify-email/resend"
        case .signIn: "/login"
        case .signOut: "/logout"
        case .forgotPassword: "/forgot-password"
        case .resetPassword: "/reset-password"
        case .account: "/account"
        case .accountSessions: "/account/sessions"
        case .accountSessionRevoke: "/account/sessions/:sessionID/revoke"
        case .accountSessionsRevokeOthers: "/account/sessions/revoke-others"
        case .signInTwoFactor: "/login/two-factor"
        case .accountSecurity: "/account/security"
        case .accountConfirmPassword: "/account/confirm-password"
        case .accountPassword: "/account/password"
        case .accountTwoFactorSetup: "/account/two-factor/setup"
        case .accountTwoFactorConfirm: "/account/two-factor/confirm"
        case .accountTwoFactorDisable: "/account/two-factor/disable"
        case .accountRecoveryCodes: "/account/two-factor/recovery-codes"
        case .accountAPIKeys: "/account/api-keys"
        case .accountEmail: "/account/email"
        case .accountEmailConfirm: "/account/email/confirm"
        case .accountAPIKeyRevoke: "/account/api-keys/:keyID/revoke"
        case .apiMe: "/api/v1/me"
        case .apiSessions: "/api/v1/account/sessions"
        case .apiSession: "/api/v1/account/sessions/:sessionID"
        case .apiDisclosures: "/api/v1/account/disclosures"
        case .replicateWebhook: "/webhooks/replicate"
        case .apiGenerations: "/api/v1/generations"
        case .apiGeneration: "/api/v1/generations/:generationID"
        case .apiGenerationCancel: "/api/v1/generations/:generationID/cancel"
        case .generationEvents: "/generations/:generationID/events"
        case .image: "/images/:imageID"
        case .imageThumbnail: "/images/:imageID/thumbnail"
        case .apiReferenceImages: "/api/v1/reference-images"
        case .studio: "/studio"
        case .generationPage: "/generations/:generationID"
        case .generationPageCancel: "/generations/:generationID/cancel"
        case .gallery: "/gallery"
        case .apiReferenceImage: "/api/v1/reference-images/:referenceID"
        case .apiReferenceImageFile: "/api/v1/reference-images/:referenceID/file"
        case .generationFavourite: "/generations/:generationID/favourite"
        case .generationDelete: "/generations/:generationID/delete"
        case .generationRestore: "/generations/:generationID/restore"
        case .generationVariation: "/generations/:generationID/variation"
        case .generationShare: "/generations/:generationID/share"
        case .generationShareRevoke: "/generations/:generationID/shares/:shareID/revoke"
        case .imageDownload: "/images/:imageID/download"
        case .shared: "/s/:token"
        case .sharedImage: "/s/:token/images/:position"
        case .apiGenerationFavourite: "/api/v1/generations/:generationID/favourite"
        case .admin: "/admin"
        case .adminAudit: "/admin/audit"
        case .adminJobs: "/admin/jobs"
        case .billing: "/billing"
        case .billingCheckout: "/billing/checkout"
        case .billingOrder: "/billing/orders/:orderID"
        case .billingRefundRequest: "/billing/orders/:orderID/refund"
        case .offlineCheckout: "/billing/offline-checkout/:orderID"
        case .stripeWebhook: "/webhooks/stripe"
        case .apiBalance: "/api/v1/balance"
        case .apiLedger: "/api/v1/ledger"
        case .adminBilling: "/admin/billing"
        case .adminRefundDecision: "/admin/billing/refunds/:refundID"
        case .adminAdjustment: "/admin/billing/adjustments"
        }
    }

    /// Every provider webhook lives under this path (exempt from CSRF: signed instead).
    static let webhooksPrefix = "/webhooks/"

    var pathComponents: [PathComponent] {
        path.split(separator: "/").map { PathComponent(stringLiteral: String($0)) }
    }

    /// The `:name` parameters of the path, in order.
    var parameterNames: [String] {
        path.split(separator: "/").filter { $0.hasPrefix(":") }.map { String($0.dropFirst()) }
    }

    /// A page's or resource's path with its one id filled in: `:generationID`, `:imageID`,
    /// `:sessionID`, `:keyID` or `:referenceID`, whichever the route has.
    func path(generation id: UUID) -> String { filled(["generationID": id.pathText]) }
    func path(image id: UUID) -> String { filled(["imageID": id.pathText]) }
    func path(session id: UUID) -> String { filled(["sessionID": id.pathText]) }
    func path(key id: UUID) -> String { filled(["keyID": id.pathText]) }
    func path(reference id: UUID) -> String { filled(["referenceID": id.pathText]) }
    func path(order id: UUID) -> String { filled(["orderID": id.pathText]) }
    func path(refund id: UUID) -> String { filled(["refundID": id.pathText]) }
    func path(generation id: UUID, share: UUID) -> String { filled(["generationID": id.pathText, "shareID": share.pathText]) }
    /// A share link's path; `position` counts images from 1.
    func path(token: String) -> String { filled(["token": token]) }
    func path(token: String, position: Int) -> String { filled(["token": token, "position": String(position)]) }

    /// The path with `values` for its parameters; each builder above names exactly the route's
    /// parameters (`SiteURLTests` checks every route against one).
    private func filled(_ values: [String: String]) -> String {
        assert(Set(parameterNames) == Set(values.keys), "\(self) takes \(parameterNames), not \(values.keys.sorted())")
        return path.split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.hasPrefix(":") ? values[String(part.dropFirst())] ?? String(part) : String(part)
        }.joined(separator: "/")
    }

    /// Every route without parameters, by case name: templates take their links from here
    /// (`layout.links.gallery`), so no template holds a path of its own.
    static let links: [String: String] = Dictionary(
        uniqueKeysWithValues: allCases.filter { $0.parameterNames.isEmpty }.map { ("\($0)", $0.path) })
}

extension UUID {
    /// How an id appears in Pictor's URLs: lower-case.
    var pathText: String { uuidString.lowercased() }
}
