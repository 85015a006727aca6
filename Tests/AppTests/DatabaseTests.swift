import Domain
import Fluent
import Persistence
import SQLKit
import Synchronization
import Testing
import Vapor

@testable import App

/// The live schema of the engine under test, compared with the data inventory.
@Suite struct InventoryMatchesSchemaTests {
    /// `make test` sets PICTOR_TEST_POSTGRES_URL for its second run: make sure that run really is PostgreSQL.
    @Test func theEngineUnderTestIsTheOneAskedFor() async throws {
        try await withPictor { app in
            let sql = try #require(app.db as? any SQLDatabase)
            #expect(sql.dialect.name == (TestDatabase.engine == "postgres" ? "postgresql" : "sqlite"))
        }
    }

    @Test func everyTableAndColumnIsClassified() async throws {
        try await withPictor { app in
            let schema = try await SchemaInspector.tables(on: app.db)
            #expect(schema.contains { $0.table == "_fluent_migrations" }, "migrations ran on \(TestDatabase.engine)")
            let findings = DataInventory.pictor.findings(comparedWith: schema)
            #expect(findings.isEmpty, "\(findings.map(\.description).joined(separator: "\n"))")
        }
    }

    /// Proves the check above can fail: a table nobody classified is reported.
    @Test func anUnclassifiedTableIsReported() async throws {
        try await withPictor { app in
            let sql = try #require(app.db as? any SQLDatabase)
            try await sql.raw("CREATE TABLE scratch_notes (id INTEGER PRIMARY KEY, note TEXT)").run()
            let findings = DataInventory.pictor.findings(comparedWith: try await SchemaInspector.tables(on: app.db))
            #expect(findings == [.unclassifiedTable("scratch_notes")])
        }
    }
}

@Suite struct SQLiteTuningTests {
    @Test(.enabled(if: TestDatabase.engine == "sqlite"))
    func everyConnectionHasWALBusyTimeoutAndForeignKeys() async throws {
        try await withPictor({ $0.sqliteBusyTimeoutMilliseconds = 4321 }) { app in
            #expect(try await SQLiteTuning.pragma("journal_mode", on: app.db) == "wal")
            for eventLoop in app.eventLoopGroup.makeIterator() {
                let db = try #require(app.databases.database(logger: app.logger, on: eventLoop))
                #expect(try await SQLiteTuning.pragma("busy_timeout", on: db) == "4321")
                #expect(try await SQLiteTuning.pragma("foreign_keys", on: db) == "1")
                #expect(try await SQLiteTuning.pragma("synchronous", on: db) == "1", "NORMAL")
            }
        }
    }

    /// The connection has a thread of its own: statements still run while every thread of the
    /// shared pool (password hashing, download encoding) is busy.
    @Test(.enabled(if: TestDatabase.engine == "sqlite"))
    func statementsDoNotWaitForTheSharedThreadPool() async throws {
        try await withPictor { app in
            let blockers = sharedPoolThreads + 1  // one more than the pool has threads
            let started = Atomic<Int>(0)
            let release = DispatchSemaphore(value: 0)
            for _ in 0..<blockers {
                app.threadPool.submit { state in
                    guard state == .active else { return }
                    started.add(1, ordering: .relaxed)
                    release.wait()
                }
            }
            for _ in 0..<200 where started.load(ordering: .relaxed) < sharedPoolThreads { try await Task.sleep(for: .milliseconds(10)) }
            #expect(started.load(ordering: .relaxed) == sharedPoolThreads, "every thread of the shared pool is held")
            let answer = await withTaskGroup(of: String?.self) { group in
                group.addTask { try? await SQLiteTuning.pragma("foreign_keys", on: app.db) }
                group.addTask {
                    try? await Task.sleep(for: .seconds(5))
                    return "timed out"
                }
                let first = await group.next() ?? nil
                for _ in 0..<blockers { release.signal() }
                group.cancelAll()
                return first
            }
            #expect(answer == "1", "a statement ran while the shared pool was busy")
        }
    }
}
