import Vapor

/// Every route, each URL defined once in `SiteURL`.
func routes(_ app: Application) throws {
    do { // Operations
        app.get(SiteURL.healthz.pathComponents, use: HealthController.healthz)
        app.get(SiteURL.readyz.pathComponents, use: HealthController.readyz)
        app.get(SiteURL.metrics.pathComponents, use: HealthController.metrics)
    }
    do { // Public pages
        app.get(SiteURL.home.pathComponents, use: PagesController.home)
        app.get(SiteURL.privacy.pathComponents, use: PagesController.privacy)
        app.get(SiteURL.terms.pathComponents, use: PagesController.terms)
        app.get(SiteURL.cookies.pathComponents, use: PagesController.cookies)
        app.get(SiteURL.doNotSell.pathComponents, use: PagesController.doNotSell)
    }
}
