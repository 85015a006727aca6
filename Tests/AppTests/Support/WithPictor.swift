import Foundation
import Persistence
import Testing
import Vapor
import VaporTesting

@testable import App

/// Runs `test` against a fully configured Pictor with its own data directory and
/// database, then shuts it down and removes both.
@discardableResult
func withPictor<T>(
    _ adjust: (inout AppConfig) -> Void = { _ in },
    routes extraRoutes: (Application) throws -> Void = { _ in },
    _ test: (Application) async throws -> T
) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pictor-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let database = try await TestDatabase.make(in: directory)

    var config = try AppConfig.load(environment: [
        "DATA_DIR": directory.path,
        "LOG_LEVEL": "warning",
    ])
    config.database = database.setting
    config.autoMigrate = true
    config.jobWorkers = 0  // tests that need workers start them themselves
    // bcrypt at its lowest cost: at 12 it was 70% of the suite's CPU (perf), and the hashes
    // running at once starved the tests that wait on timers. Real bcrypt all the same;
    // ConfigTests holds the default of 12 and AccountFlowTests that the setting is used.
    config.passwordHashCost = 4
    // Enough credits that tests about other things never run out; `BillingDefaultsTests` holds
    // the default (20) and what a new account gets.
    config.signUpGrantCredits = 100_000
    adjust(&config)

    let app = try await Application.make(.testing)
    let result: T
    do {
        try await configure(app, config: config)
        try extraRoutes(app)
        result = try await test(app)
        // Whatever a test did, every cached balance is still the sum of its ledger entries and lots.
        if let mismatched = try? await LedgerStore.mismatchedWallets(on: app.db) {
            #expect(mismatched.isEmpty, "wallets whose balance is not the sum of their entries: \(mismatched)")
        }
    } catch {
        try? await app.asyncShutdown()
        try? await database.drop()
        throw error
    }
    try await app.asyncShutdown()
    try await database.drop()
    return result
}

extension TestingHTTPResponse {
    var text: String { body.string }
}
