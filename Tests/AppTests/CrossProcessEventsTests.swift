@testable import App
import Fluent
import FluentPostgresDriver
import Foundation
import Persistence
import Synchronization
import SQLKit
import Testing
import Vapor

/// On PostgreSQL, a generation made by another process (a real `pictor worker`) reaches this
/// process's event streams through `LISTEN/NOTIFY`, not only through their periodic re-read.
@Suite struct CrossProcessEventsTests {
    @Test(.enabled(if: TestDatabase.engine == "postgres"))
    func anotherProcesssChangesWakeThisProcesssStreams() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: WorkerCrashTests.binary.path), "build the pictor binary first (swift build)")
        try await withPictor { app in
            // `pictor serve` starts the listener at boot; the test app starts it itself.
            let listener = GenerationNotifications.Listener()
            try await listener.didBootAsync(app)
            // The listener connects in the background: wait until a notification gets through.
            let probe = UUID()
            let listening = try await eventually(within: 20) {
                async let woken: Bool = app.pictor.generationEvents.follow(probe) { signal in
                    let start = ContinuousClock.now
                    await signal.wait(upTo: .milliseconds(500))
                    return ContinuousClock.now - start < .milliseconds(450)
                }
                try await Task.sleep(for: .milliseconds(50))
                try await sqlDatabase(app.db).raw("SELECT pg_notify(\(bind: GenerationStore.changesChannel), \(bind: probe.uuidString))").run()
                return await woken
            }
            #expect(listening, "the listener never received a notification")
            let browser = try await signedInForAPI(app, email: "two-processes@example.com")
            let created: GenerationView = try await browser.generate(#"{"prompt":"a lantern on a pier","size":"512x512"}"#).decoded()
            let id = created.id

            // Nothing in this process touches the generation: only a notification from the
            // worker process can end this wait before its two minutes are up.
            let woken = Task {
                let start = ContinuousClock.now
                await app.pictor.generationEvents.follow(id) { await $0.wait(upTo: .seconds(120)) }
                return ContinuousClock.now - start
            }
            let stream = Task { try await browser.api(.GET, "/generations/\(id)/events", headers: ["Accept": "text/event-stream"]) }
            #expect(try await eventually { app.pictor.generationEvents.followers(of: id) == 2 })

            let worker = try WorkerCrashTests.startWorker(app.pictor.config, environment: [
                "JOB_WORKERS": "1", "BUILTIN_ENGINE_DELAY_MS": "4000",
            ], log: "worker.log")
            defer { if worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }

            let waited = await woken.value
            #expect(waited < .seconds(60), "no notification from the worker process: \(WorkerCrashTests.log(app.pictor.config, "worker.log").suffix(2000))")

            let response = try await stream.value
            let events = response.body.string.components(separatedBy: "\n\n").filter { $0.hasPrefix("event: ") }
            let names = events.map { String($0.prefix { $0 != "\n" }.dropFirst("event: ".count)) }
            #expect(names.first == "queued" && names.contains("running") && names.last == "succeeded", "\(names)")
            #expect(events.last?.contains(#""thumbnailUrl":"/images/"#) == true)

            kill(worker.processIdentifier, SIGTERM)
            worker.waitUntilExit()
            await listener.shutdownAsync(app)
        }
    }

    /// Each change of a generation announces itself in the statement that makes it: once, at
    /// commit, and only when a row really changed.
    @Test(.enabled(if: TestDatabase.engine == "postgres"))
    func aChangeIsAnnouncedOnceAtCommitAndOnlyWhenItHappened() async throws {
        try await withPictor { app in
            _ = try await signedInForAPI(app, email: "announced@example.com")
            let user = try #require(try await UserModel.query(on: app.db).filter(\.$email == "announced@example.com").first())
            try await insertGenerations(app, user: user.id!, count: 1, prompt: "a red kite")
            let id = try #require(try await GenerationModel.query(on: app.db).first()?.id)
            let sql = try sqlDatabase(app.db)
            try await sql.raw("UPDATE generations SET state = 'queued' WHERE id = \(bind: id)").run()

            // A listener of its own, on its own connection, keeping every payload in order.
            guard case .postgres(let url) = app.pictor.config.database else { Issue.record("not PostgreSQL"); return }
            let connection = try await PostgresConnection.connect(
                configuration: try SQLPostgresConfiguration(url: url).coreConfiguration, id: 9, logger: app.logger)
            let received = Received()
            let listening = Task {
                try await connection.listen(on: GenerationStore.changesChannel) { notifications in
                    for try await notification in notifications { received.payloads.withLock { $0.append(notification.payload) } }
                }
            }
            defer { listening.cancel() }
            /// Sends a marker and waits until it arrives: everything committed before it has arrived too.
            func settled(_ marker: String) async throws -> [String] {
                let delivered = try await eventually(within: 20) {
                    try await sql.raw("SELECT pg_notify(\(bind: GenerationStore.changesChannel), \(bind: marker))").run()
                    try await Task.sleep(for: .milliseconds(100))
                    return received.payloads.withLock { $0.contains(marker) }
                }
                #expect(delivered, "the marker \(marker) never arrived")
                return received.payloads.withLock { payloads in defer { payloads.removeAll() }; return payloads.filter { $0 != marker } }
            }
            _ = try await settled("connected")
            let announced = id.uuidString

            // Inside a transaction: nothing before the commit, one announcement after it.
            try await writeTransaction(on: app.db) { tx in
                #expect(try await GenerationStore.move(id, from: [.queued], to: .running, now: Date(), on: tx))
                try await Task.sleep(for: .milliseconds(300))
                #expect(received.payloads.withLock { $0.isEmpty }, "announced before the commit")
            }
            #expect(try await settled("after the move") == [announced])

            // A move that does not apply (it is running, not queued) announces nothing.
            #expect(try await GenerationStore.move(id, from: [.queued], to: .cancelled, now: Date(), on: app.db) == false)
            #expect(try await settled("after the refused move") == [])

            // Progress and a (re)start announce themselves once each; progress once ended, not at all.
            #expect(try await GenerationStore.setProgress(id, 0.5, now: Date(), on: app.db))
            #expect(try await GenerationStore.start(id, now: Date(), on: app.db)?.progress == 0.5)
            #expect(try await settled("after progress and start") == [announced, announced])
            #expect(try await GenerationStore.move(id, from: [.running], to: .succeeded, now: Date(), on: app.db))
            #expect(try await GenerationStore.setProgress(id, 0.9, now: Date(), on: app.db) == false)
            #expect(try await settled("after the end") == [announced])
            try await connection.close()
        }
    }
}

/// Notification payloads in the order they arrived.
private final class Received: Sendable {
    let payloads = Mutex<[String]>([])
}
