import Domain
import Fluent
import Foundation
import Persistence
import Providers
import SQLKit
import Testing
import Vapor
import VaporTesting

@testable import App

/// Credits that record every hold and settlement, with an optional balance; a hold needs its
/// generation row in the same transaction, as a ledger referring to it would.
final class RecordingCredits: Credits {
    struct Settlement: Equatable, Sendable {
        let generation: UUID
        let held: Int
        let captured: Int
    }

    let holds = Locked<[UUID: Int]>([:])
    let settlements = Locked<[Settlement]>([])
    let balance: Int?
    /// How many settlements to refuse (as a ledger the database could not reach would) before
    /// recording again.
    let refusals = Locked(0)

    init(balance: Int? = nil) {
        self.balance = balance
    }

    func hold(_ amount: Int, user: UUID, generation: UUID, now: Date, on db: any Database) async throws {
        // As a ledger that refers to the generation would: its row is there, in this transaction.
        guard try await GenerationModel.find(generation, on: db) != nil else { throw HeldBeforeItsGeneration() }
        if let balance, amount > balance { throw CreditsError(needed: amount, available: balance) }
        holds.update { $0[generation] = amount }
    }

    func settle(generation: UUID, user: UUID, held: Int, captured: Int, now: Date, on db: any Database) async throws {
        if refusals.update({ refusals in
            defer { refusals = max(0, refusals - 1) }
            return refusals > 0
        }) {
            throw SettlementRefused()
        }
        settlements.update { $0.append(Settlement(generation: generation, held: held, captured: captured)) }
    }

    func settlements(of generation: UUID) -> [Settlement] {
        settlements.value.filter { $0.generation == generation }
    }
}

struct HeldBeforeItsGeneration: Error {}
struct SettlementRefused: Error {}

/// The handlers a generation test's runner needs (its sign-up mail is delivered too).
let workHandlers: [any JobHandler] = [GenerationJobHandler(), SendMailHandler()]

/// How many jobs of `kind` exist, in any state.
func jobCount(kind: String, state: String? = nil, on db: any Database) async throws -> Int {
    let inState: SQLQueryString = state.map { "AND state = \(bind: $0)" } ?? ""
    let row = try await sqlDatabase(db).raw("SELECT COUNT(*) AS n FROM jobs WHERE kind = \(bind: kind) \(inState)").first()
    return try row?.decode(column: "n", as: Int.self) ?? 0
}

/// A catalog offering one scripted model.
func scriptedCatalog(_ provider: ScriptedProvider, price: Int = 2, timeout: Duration = .seconds(5), maxAttempts: Int = 3) -> ModelCatalog {
    ModelCatalog(entries: [
        .init(id: "scripted", provider: provider, pricePerImage: price, timeout: timeout, maxAttempts: maxAttempts, styles: ["vivid"]),
        ModelCatalog.standard.entries[0],
    ])
}

/// A catalog whose first model, "remote", is run by an outside company (each call to it is
/// disclosed to its person), beside the built-in engine.
func remoteCatalog(_ provider: ScriptedProvider, maxAttempts: Int = 1) -> ModelCatalog {
    ModelCatalog(entries: [
        .init(
            id: "remote", provider: provider, pricePerImage: 1, timeout: .seconds(5), maxAttempts: maxAttempts, styles: [],
            processor: "Example Images Inc. (api.example.com)"),
        ModelCatalog.standard.entries[0],
    ])
}

/// A generation as the API shows it (the fields tests look at).
struct GenerationView: Decodable {
    struct Image: Decodable {
        let id: UUID
        let url: String
        let thumbnailUrl: String
        let width: Int
        let height: Int
        let sha256: String
        let bytes: Int
        let digitalSourceType: String
    }

    let id: UUID
    let status: String
    let modelName: String
    let prompt: String
    let seed: Int64
    let progress: Double
    let queuePosition: Int?
    let reason: String?
    let creditsHeld: Int
    let creditsCharged: Int
    let images: [Image]
    let favourite: Bool
}

struct GenerationPageView: Decodable {
    let data: [GenerationView]
    let nextCursor: String?
}

struct ProblemView: Decodable {
    struct Field: Decodable {
        let field: String
        let message: String
    }

    let status: Int
    let detail: String?
    let errors: [Field]?
}

extension TestingHTTPResponse {
    func decoded<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(T.self, from: Data(body.string.utf8))
    }
}

/// The events in a finished event stream's body, each `event: <name>\ndata: <json>`.
func serverSentEvents(_ response: TestingHTTPResponse) -> [String] {
    response.body.string.components(separatedBy: "\n\n").filter { $0.hasPrefix("event: ") }
}

extension Browser {
    /// Opens a generation's event stream; the task answers once the stream has ended.
    func openEvents(_ id: UUID) -> Task<TestingHTTPResponse, any Error> {
        Task { try await self.api(.GET, "/generations/\(id)/events", headers: ["Accept": "text/event-stream"]) }
    }

    /// Opens a generation's event stream and waits until `app` follows it, so that what happens
    /// next is streamed; the task answers once the stream has ended.
    func openEvents(_ id: UUID, followedBy app: Application) async throws -> Task<TestingHTTPResponse, any Error> {
        let stream = openEvents(id)
        #expect(try await eventually { app.pictor.generationEvents.followers(of: id) == 1 }, "the event stream was not followed")
        return stream
    }

    /// Submits a generation through the API.
    func generate(_ json: String, idempotencyKey: String? = nil) async throws -> TestingHTTPResponse {
        var headers = HTTPHeaders()
        if let idempotencyKey { headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        return try await api(.POST, "/api/v1/generations", json: json, headers: headers)
    }

    func generation(_ id: UUID) async throws -> GenerationView {
        try await api(.GET, "/api/v1/generations/\(id)").decoded()
    }

    /// Polls until the generation has ended, and returns it.
    func finished(_ id: UUID, within seconds: Double = 20) async throws -> GenerationView {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let view = try await generation(id)
            if !["queued", "running"].contains(view.status) { return view }
            try await Task.sleep(for: .milliseconds(30))
        }
        return try await generation(id)
    }
}

/// Signs in a fresh user and loads a page, so the browser holds the session's CSRF token.
func signedInForAPI(_ app: Application, email: String) async throws -> Browser {
    let browser = try await Accounts.signedIn(app, email: email)
    try await browser.get("/account")
    return browser
}

/// Makes finished generations (scripted model, 64×64) with these prompts, oldest first.
func finishedGenerations(_ app: Application, _ browser: Browser, prompts: [String], count: Int = 1) async throws -> [GenerationView] {
    var made: [GenerationView] = []
    try await withRunner(app, handlers: workHandlers) { _ in
        for prompt in prompts {
            let json = #"{"model":"scripted","prompt":"\#(prompt)","size":"64x64","count":\#(count)}"#
            let created: GenerationView = try await browser.generate(json).decoded()
            made.append(try await browser.finished(created.id))
        }
    }
    return made
}
