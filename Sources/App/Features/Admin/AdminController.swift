import Domain
import Fluent
import Persistence
import Vapor

/// The operator console. Its pages record who looked at what in the audit log.
enum AdminController {
    @Sendable static func overview(req: Request) async throws -> View {
        let staff = try req.requireUser()
        let users = try await UserStore.count(on: req.db)
        let jobs = try await JobQueue.counts(on: req.db)
        let mismatched = try await LedgerStore.mismatchedWallets(on: req.db).count
        return try await req.view.render(
            "admin/overview",
            AdminOverviewPage(
                layout: .make(for: req, title: "Operator console"), role: staff.role.rawValue, users: users,
                queuedJobs: jobs[.queued] ?? 0, runningJobs: jobs[.running] ?? 0, deadJobs: jobs[.dead] ?? 0,
                canSeeAudit: staff.role >= .admin,
                ledger: mismatched == 0
                    ? "sound: every balance is the sum of its entries"
                    : "\(mismatched) wallets disagree with their entries (see the log)",
                ledgerSound: mismatched == 0,
                providers: req.pictor.providerHealth.rows(for: req.pictor.models.entries.map(\.id)).map { row in
                    let calls = row.successes + row.failures
                    return AdminOverviewPage.Provider(
                        model: row.model, name: req.pictor.models.entry(row.model)?.displayName ?? row.model, state: row.state.rawValue,
                        successRate: calls == 0 ? "no calls yet" : "\(row.successes * 100 / calls)% of \(calls)",
                        latency: row.medianLatency.map { "\($0) ms" } ?? "–",
                        lastProblem: row.lastProblem.map { "\($0.at.formatted(.iso8601)): \($0.text)" } ?? "–")
                }))
    }

    /// Jobs that failed for good (dead letters), with their last error.
    @Sendable static func jobs(req: Request) async throws -> View {
        let staff = try req.requireUser()
        let dead = try await JobQueue.deadLetters(limit: 100, on: req.db)
        try await Audit.record("admin.jobs.viewed", actor: staff.id, request: req, on: req.db)
        return try await req.view.render(
            "admin/jobs",
            DeadJobsPage(
                layout: .make(for: req, title: "Failed jobs"),
                rows: dead.map { job in
                    DeadJobsPage.Row(
                        id: job.id.uuidString, kind: job.kind, attempts: "\(job.attempts) of \(job.maxAttempts)",
                        error: job.lastError ?? "", finished: job.finishedAt?.pageText ?? "")
                },
                hasRows: !dead.isEmpty))
    }

    /// Searches the audit log: by action (prefix), actor email, and date; newest first, 50 a page.
    @Sendable static func audit(req: Request) async throws -> View {
        let staff = try req.requireUser()
        let action = ((try? req.query.get(String.self, at: "action")) ?? "").trimmingCharacters(in: .whitespaces)
        let actorEmail = ((try? req.query.get(String.self, at: "actor")) ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let before = (try? req.query.get(String.self, at: "before")).flatMap { Double($0) }
            .flatMap { $0.isFinite && abs($0) < 1e11 ? Date(timeIntervalSince1970: $0) : nil }

        var actorFilterMatchedNobody = false
        var searchedActor: UUID?
        if !actorEmail.isEmpty {
            if let actor = try await UserStore.find(email: actorEmail, on: req.db) {
                searchedActor = actor.id
            } else {
                actorFilterMatchedNobody = true
            }
        }
        let events =
            actorFilterMatchedNobody
            ? []
            : try await AuditStore.page(
                actionPrefix: action, actor: searchedActor, before: before, limit: 51, on: req.db)
        let emails = try await UserStore.emails(of: Set(events.compactMap(\.actorUserID)), on: req.db)
        let rows = events.prefix(50).map { event in
            AuditPage.Row(
                time: event.occurredAt.pageText, action: event.action,
                actor: event.actorUserID.flatMap { emails[$0] } ?? "—",
                target: [event.targetType, event.targetID].compactMap { $0 }.joined(separator: " "),
                network: event.ipPrefix, detail: event.detail == "{}" ? "" : event.detail)
        }
        // Whom the search was about, by id: the audit log is kept for a year and exempt from
        // erasure, so it holds no searched email address.
        try await Audit.record(
            "admin.audit.viewed", actor: staff.id, target: searchedActor.map { ("user", $0.uuidString) },
            detail: ["action": action, "actor": actorEmail.isEmpty ? "" : searchedActor == nil ? "no such account" : "searched"],
            request: req, on: req.db)
        let next = events.count > 50 ? events[49].occurredAt.timeIntervalSince1970 : nil
        return try await req.view.render(
            "admin/audit",
            AuditPage(
                layout: .make(for: req, title: "Audit log"), action: action, actor: actorEmail, rows: rows, hasRows: !rows.isEmpty,
                nextPage: next.map { "?action=\(action.queryEscaped)&actor=\(actorEmail.queryEscaped)&before=\($0)" }))
    }
}

struct AdminOverviewPage: Encodable {
    let layout: LayoutContext
    let role: String
    let users: Int
    let queuedJobs: Int
    let runningJobs: Int
    let deadJobs: Int
    let canSeeAudit: Bool
    /// Whether every wallet's cached balance is the sum of its ledger entries and lots.
    let ledger: String
    let ledgerSound: Bool

    /// One model's health in this process: breaker state, success rate, median latency.
    struct Provider: Encodable {
        let model: String
        let name: String
        let state: String
        let successRate: String
        let latency: String
        /// What the provider last said went wrong (scrubbed), with its time; "–" when nothing.
        let lastProblem: String
    }

    let providers: [Provider]
}

struct DeadJobsPage: Encodable {
    struct Row: Encodable {
        let id: String
        let kind: String
        let attempts: String
        let error: String
        let finished: String
    }

    let layout: LayoutContext
    let rows: [Row]
    let hasRows: Bool
}

struct AuditPage: Encodable {
    struct Row: Encodable {
        let time: String
        let action: String
        let actor: String
        let target: String
        let network: String
        let detail: String
    }

    let layout: LayoutContext
    let action: String
    let actor: String
    let rows: [Row]
    let hasRows: Bool
    let nextPage: String?
}
