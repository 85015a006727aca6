import App
import AsyncHTTPClient
import Domain
import Fluent
import Foundation
import Persistence
import Providers
import Vapor

// Credits: the ledger's own speed, and what it adds to a submission, on both engines.

func billingBenchmarks() async throws {
    let client = benchClient()
    print("\n## Credits (the ledger in the database)\n")
    print("| measure | engine | result |")
    print("| --- | --- | --- |")
    let instant = ModelCatalog(entries: [
        .init(
            id: "instant", provider: ScriptedProvider(id: "instant", otherwise: [.deliver(side: 64)]), pricePerImage: 1,
            timeout: .seconds(30), maxAttempts: 3, styles: [])
    ])
    for (engine, url) in benchEngines() {
        let service = try await BenchService.start(database: url, models: instant)
        let db = service.app.db
        let cluster = try await postgresCluster(of: db)

        // 1. Hold + capture pairs, each in its own transaction as a generation does them: 32
        //    tasks over 32 people, then 32 tasks on one person's wallet (every hold waits for it).
        var people: [UUID] = []
        for index in 0..<32 {
            let user = UserModel()
            user.id = UUID()
            user.email = "ledger-\(index)-\(UUID().uuidString.prefix(6))@example.com"
            user.passwordHash = "not used"
            user.role = .user
            user.status = .active
            user.termsVersion = "bench"
            user.privacyVersion = "bench"
            user.termsAcceptedAt = Date()
            user.createdAt = Date()
            user.updatedAt = Date()
            try await UserStore.insert(user, on: db)
            try await LedgerStore.add(
                1_000_000, to: user.id!, source: .paid, kind: .purchase, expiresAt: nil, orderID: UUID(), reason: nil, now: Date(), on: db)
            people.append(user.id!)
        }
        let everyone = people
        @Sendable func pair(_ user: UUID) async throws {
            let generation = UUID()
            let held = try await writeTransaction(on: db) { tx in try await LedgerStore.hold(2, for: generation, of: user, now: Date(), on: tx) }
            guard held else { throw BenchError("a hold was refused") }
            try await writeTransaction(on: db) { tx in
                try await LedgerStore.settle(generation: generation, of: user, captured: 1, now: Date(), on: tx)
            }
        }
        let spread = try await measured(count: 3200, postgres: cluster) {
            try await perSecond(lanes: 32, perLane: 100) { try await pair(everyone.randomElement()!) }
        }
        let one = try await measured(count: 3200, postgres: cluster) {
            try await perSecond(lanes: 32, perLane: 100) { try await pair(everyone[0]) }
        }
        guard try await LedgerStore.mismatchedWallets(on: db).isEmpty else { throw BenchError("a wallet disagrees with its entries") }
        print(
            String(
                format:
                    "| ledger: hold + capture pairs (two transactions each), 32 tasks over 32 people / 32 tasks on one wallet | %@ | %.0f / %.0f pairs per s (CPU %.2f / %.2f ms a pair%@) |",
                engine, spread.value, one.value, spread.cpu, one.cpu,
                cluster != nil ? String(format: "; PostgreSQL server %.2f / %.2f ms", spread.server, one.server) : ""))

        // 2. Submissions through HTTP with the ledger beside the same with no credits kept,
        //    alternating three rounds of each, so drift in the machine hits both alike: from 32
        //    people at once (each client its own account and key), and from one person's 32
        //    clients (every hold waits for the one wallet, and on PostgreSQL for the commit of
        //    the hold before it).
        var accounts: [BenchService] = []
        for index in 0..<32 {
            let email = "payer-\(index)-\(UUID().uuidString.prefix(6))@example.com"
            try await OperatorTools.createAccount(email: email, password: "bench-violet-harbour-lantern", administrator: false, app: service.app)
            let key = try await OperatorTools.createAPIKey(email: email, name: "bench", app: service.app)
            accounts.append(
                BenchService(app: service.app, base: service.base, key: key, email: email, directory: service.directory, workers: service.workers))
        }
        let count = 1000
        _ = try await runBatch(
            service, count: 100, concurrency: 32, body: { _ in #"{"model":"instant","prompt":"warm-up","size":"64x64"}"# }, client: client)
        for (label, lanes) in [("32 people, one client each", accounts), ("one person, 32 clients", Array(repeating: service, count: 32))] {
            var ledger: [(rate: Double, cpu: Double)] = []
            var unlimited: [(rate: Double, cpu: Double)] = []
            for round in 0..<6 {
                let free = round % 2 == 1
                if free { service.app.chargeNothingForGenerations() } else { service.app.payForGenerationsFromTheLedger() }
                let run = try await measured(count: count, postgres: cluster) {
                    try await runBatch(
                        lanes, count: count, body: { #"{"model":"instant","prompt":"credits \#($0)","size":"64x64"}"# }, client: client)
                }
                let sample = (Double(count) / run.value.submits, run.cpu + run.server)
                if free { unlimited.append(sample) } else { ledger.append(sample) }
            }
            let withLedger = ledger.map(\.rate).sorted()[1]
            let without = unlimited.map(\.rate).sorted()[1]
            print(
                String(
                    format:
                        "| submissions (%d instant 64×64 a round, %@), LedgerCredits / UnlimitedCredits, median of 3 rounds each | %@ | %.0f / %.0f per s → the ledger costs %.0f%% (CPU %.2f / %.2f ms per generation) |",
                    count, label, engine, withLedger, without, (1 - withLedger / without) * 100, ledger.map(\.cpu).sorted()[1],
                    unlimited.map(\.cpu).sorted()[1]))
        }
        service.app.payForGenerationsFromTheLedger()
        try await service.stop()
    }
    try await client.shutdown()
}
