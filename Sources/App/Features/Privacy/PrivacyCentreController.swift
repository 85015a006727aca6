import Domain
import Fluent
import Foundation
import Persistence
import Vapor

/// `/privacy/centre`: what Pictor holds about the signed-in person, table by table as the data
/// inventory describes it, the uses of their data they restrict or object to (in force at once,
/// each recorded as a completed request), and their privacy requests with their clocks. A
/// browser that sends Global Privacy Control (`Sec-GPC: 1`) is opted out of sale and sharing
/// on its first visit, without being asked.
enum PrivacyCentreController {
    @Sendable static func page(req: Request) async throws -> View {
        let user = try req.requireUser()
        var notice: String?
        if req.headers.first(name: "Sec-GPC") == "1",
            try await !PrivacyRestrictionStore.has(.saleOrSharing, user: user.id, on: req.db)
        {
            try await apply(.saleOrSharing, on: true, channel: .globalPrivacyControl, user: user, req: req)
            notice = "Your browser sent Global Privacy Control: you are opted out of the sale and sharing of your personal information."
        }
        if (try? req.query.get(String.self, at: "done")) == "saved" { notice = "Saved. It applies from now on." }
        let data = try await PersonDataMap.map(of: user.id, on: req.db)
        let restrictions = try await PrivacyRestrictionStore.all(of: user.id, on: req.db)
        let requests = try await PrivacyRequestStore.requests(of: user.id, limit: 50, on: req.db)
        let holdings = DataInventory.pictor.ownedTables.compactMap { table -> PrivacyCentrePage.Holding? in
            guard let count = data.rows[table.table]?.count else { return nil }
            let categories = Set(table.columns.values.filter { $0.category.isPersonal }.map(\.category.rawValue)).sorted()
            return PrivacyCentrePage.Holding(
                what: table.purpose, records: count, categories: categories.joined(separator: ", "),
                kept: table.columns.values.contains { if case .keep = $0.erasure { true } else { false } })
        }
        return try await req.view.render(
            "privacy/centre",
            PrivacyCentrePage(
                layout: .make(for: req, title: "Privacy centre", flashes: notice.map { [.init(level: .success, text: $0)] } ?? []),
                csrf: req.csrfToken, holdings: holdings, files: data.blobKeys.count,
                restrictions: ProcessingRestriction.allCases.map { kind in
                    PrivacyCentrePage.Restriction(kind: kind.rawValue, label: kind.label, on: restrictions.contains(kind))
                },
                requests: requests.map { request in
                    PrivacyCentrePage.Request(
                        kind: request.kind.label, detail: request.detail.flatMap { ProcessingRestriction(rawValue: $0)?.label } ?? request.detail,
                        state: request.state.label, received: request.receivedOn,
                        due: request.state.isFinal ? nil : request.extendedDueBy ?? request.dueBy)
                },
                hasRequests: !requests.isEmpty))
    }

    struct RestrictionForm: Content {
        var kind: String?
        var on: String?
    }

    @Sendable static func restrict(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let form = try req.content.decode(RestrictionForm.self)
        guard let kind = form.kind.flatMap(ProcessingRestriction.init(rawValue:)), let on = form.on.flatMap({ ["true": true, "false": false][$0] })
        else { throw Abort(.badRequest, reason: "Choose one of the settings on the privacy centre page.") }
        try await apply(kind, on: on, channel: .centre, user: user, req: req)
        return req.redirect(to: SiteURL.privacyCentre.path + "?done=saved")
    }

    /// Sets or lifts a restriction, with its request record (complete at once) and an audit entry,
    /// in one transaction. Setting one already set, or lifting one not set, records nothing.
    static func apply(_ kind: ProcessingRestriction, on: Bool, channel: RightsRequestChannel, user: CurrentUser, req: Request) async throws {
        let now = req.pictor.clock.now()
        let jurisdiction = req.pictor.config.privacyJurisdiction
        try await writeTransaction(on: req.db) { tx in
            let request = PrivacyRequestModel.new(
                kind: kind == .saleOrSharing && on ? .optOut : .restriction, user: user.id, email: nil, channel: channel, jurisdiction: jurisdiction,
                state: .complete, detail: kind.rawValue, now: now)
            let changed =
                on
                ? try await PrivacyRestrictionStore.set(kind, user: user.id, request: request.id, now: now, on: tx)
                : try await PrivacyRestrictionStore.lift(kind, user: user.id, on: tx)
            guard changed else { return }
            request.outcome = on ? "in force from \(CalendarDay(utc: now).iso)" : "lifted on \(CalendarDay(utc: now).iso)"
            try await PrivacyRequestStore.insert(request, on: tx)
            try await Audit.record(
                on ? "privacy.restriction.set" : "privacy.restriction.lifted", actor: user.id, target: ("privacy_request", request.id!.uuidString),
                detail: ["kind": kind.rawValue, "channel": channel.rawValue], request: req, on: tx)
        }
    }
}

/// `privacy/centre.leaf`.
struct PrivacyCentrePage: Encodable {
    struct Holding: Encodable {
        /// The inventory's sentence for the table.
        let what: String
        let records: Int
        let categories: String
        /// Some of it is kept through an erasure, under a stated exemption.
        let kept: Bool
    }

    struct Restriction: Encodable {
        let kind: String
        let label: String
        let on: Bool
    }

    struct Request: Encodable {
        let kind: String
        let detail: String?
        let state: String
        let received: String
        let due: String?
    }

    let layout: LayoutContext
    let csrf: String
    let holdings: [Holding]
    /// Images and uploads stored for them.
    let files: Int
    let restrictions: [Restriction]
    let requests: [Request]
    let hasRequests: Bool
}
