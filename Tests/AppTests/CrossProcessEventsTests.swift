import Fluent
import FluentPostgresDriver
import Foundation
import Persistence
import SQLKit
import Synchronization
import Testing
import Vapor

@testable import App

/// On PostgreSQL, a generation made by another process (a real `pictor worker`) reaches this
/// process's event streams through `LISTEN/NOTIFY`, not only through their periodic re-read.
@Suite struct CrossProcessEventsTests {
    @Test(.enabled(if: TestDatabase.engine == "postgres"))
    func anotherProcesssChangesWakeThisProcesssStreams() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: WorkerCrashTests.binary.path), "build the pictor binary first (swift build)")
        try await withPictor { app in
            // `pictor serve` starts the listener at boot; the test app starts it itself.
            let listener = DatabaseNotifications([GenerationNotifications.subscription(for: app.pictor.generationEvents)])
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
            let stream = browser.openEvents(id)
            #expect(try await eventually { app.pictor.generationEvents.followers(of: id) == 2 })

            let worker = try WorkerCrashTests.startWorker(
                app.pictor.config,
                environment: [
                    "JOB_WORKERS": "1", "BUILTIN_ENGINE_DELAY_MS": "4000",
                ], log: "worker.log")
            defer { if worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }

            let waited = await woken.value
            #expect(
                waited < .seconds(60),
                "no notification from the worker process: \(WorkerCrashTests.log(app.pictor.config, "worker.log").suffix(2000))")

            let response = try await stream.value
            let events = serverSentEvents(response)
            let names = events.map { String($0.prefix { $0 != "\n" }.dropFirst("event: ".count)) }
            #expect(names.first == "queued" && names.contains("running") && names.last == "succeeded", "\(names)")
            #expect(events.last?.contains(#""thumbnailUrl":"/images/"#) == true)

            kill(worker.processIdentifier, SIGTERM)
            worker.waitUntilExit()
            await listener.shutdownAsync(app)
        }
    }

    /// Each change of a generation announces itself in the statement that makes it: at commit,
    /// and only when a row really changed. (Within one transaction PostgreSQL folds identical
    /// notifications into one, so a duplicate would show only across transactions, as below.)
    @Test(.enabled(if: TestDatabase.engine == "postgres"))
    func aChangeIsAnnouncedAtCommitAndOnlyWhenItHappened() async throws {
        try await withPictor { app in
            _ = try await signedInForAPI(app, email: "announced@example.com")
            let user = try #require(try await UserModel.query(on: app.db).filter(\.$email == "announced@example.com").first())
            try await insertGenerations(app, user: user.id!, count: 1, prompt: "a red kite")
            let id = try #require(try await GenerationModel.query(on: app.db).first()?.id)
            try await sqlDatabase(app.db).raw("UPDATE generations SET state = 'queued' WHERE id = \(bind: id)").run()
            let listener = try await ChannelListener.start(GenerationStore.changesChannel, app: app)
            defer { listener.stop() }
            _ = try await listener.settled("connected", on: app.db)
            let announced = id.uuidString

            // Inside a transaction: nothing before the commit, the announcement after it.
            try await writeTransaction(on: app.db) { tx in
                #expect(try await GenerationStore.move(id, from: [.queued], to: .running, now: Date(), on: tx))
                try await Task.sleep(for: .milliseconds(300))
                #expect(listener.received.isEmpty, "announced before the commit")
            }
            #expect(try await listener.settled("after the move", on: app.db) == [announced])

            // A move that does not apply (it is running, not queued) announces nothing.
            #expect(try await GenerationStore.move(id, from: [.queued], to: .cancelled, now: Date(), on: app.db) == false)
            #expect(try await listener.settled("after the refused move", on: app.db) == [])

            // Progress and a (re)start, two transactions: one announcement each. Progress on a
            // generation that has ended: none.
            #expect(try await GenerationStore.setProgress(id, 0.5, now: Date(), on: app.db))
            #expect(try await GenerationStore.start(id, now: Date(), on: app.db)?.progress == 0.5)
            #expect(try await listener.settled("after progress and start", on: app.db) == [announced, announced])
            #expect(try await GenerationStore.move(id, from: [.running], to: .succeeded, now: Date(), on: app.db))
            #expect(try await GenerationStore.setProgress(id, 0.9, now: Date(), on: app.db) == false)
            #expect(try await listener.settled("after the end", on: app.db) == [announced])
        }
    }

    /// An enqueue announces itself, naming this process, when its transaction commits.
    @Test(.enabled(if: TestDatabase.engine == "postgres"))
    func anEnqueueIsAnnouncedAtCommitWithItsProcess() async throws {
        try await withPictor { app in
            let listener = try await ChannelListener.start(JobQueue.channel, app: app)
            defer { listener.stop() }
            _ = try await listener.settled("connected", on: app.db)
            try await writeTransaction(on: app.db) { tx in
                try await JobQueue.enqueue(NewJob(kind: "test.nothing", payload: "{}"), now: Date(), on: tx)
                try await Task.sleep(for: .milliseconds(300))
                #expect(listener.received.isEmpty, "announced before the commit")
            }
            #expect(try await listener.settled("after the enqueue", on: app.db) == [JobQueue.thisProcess])
        }
    }
}

/// A `LISTEN` of its own on one channel, on its own connection, keeping every payload in order.
private final class ChannelListener: Sendable {
    static let markerPrefix = "marker: "
    let channel: String
    private let payloads = Mutex<[String]>([])
    private let connection: PostgresConnection
    private let listening = Mutex<Task<Void, any Error>?>(nil)

    private init(channel: String, connection: PostgresConnection) {
        self.channel = channel
        self.connection = connection
    }

    static func start(_ channel: String, app: Application) async throws -> ChannelListener {
        guard case .postgres(let url) = app.pictor.config.database else { throw Abort(.internalServerError, reason: "not PostgreSQL") }
        let connection = try await PostgresConnection.connect(
            configuration: try SQLPostgresConfiguration(url: url).coreConfiguration, id: 9, logger: app.logger)
        let listener = ChannelListener(channel: channel, connection: connection)
        listener.listening.withLock {
            $0 = Task {
                try await connection.listen(on: channel) { notifications in
                    for try await notification in notifications { listener.payloads.withLock { $0.append(notification.payload) } }
                }
            }
        }
        return listener
    }

    /// What arrived so far, markers left out.
    var received: [String] { payloads.withLock { $0.filter { !$0.hasPrefix(Self.markerPrefix) } } }

    /// Sends a marker until one arrives (everything committed before it has arrived too), then
    /// returns what arrived before it, markers left out, and forgets it.
    func settled(_ name: String, on db: any Database) async throws -> [String] {
        let marker = Self.markerPrefix + name
        let delivered = try await eventually(within: 20) {
            try await sqlDatabase(db).raw("SELECT pg_notify(\(bind: channel), \(bind: marker))").run()
            try await Task.sleep(for: .milliseconds(100))
            return payloads.withLock { $0.contains(marker) }
        }
        #expect(delivered, "the marker \(marker) never arrived")
        return payloads.withLock { all in
            defer { all.removeAll() }
            return all.filter { !$0.hasPrefix(Self.markerPrefix) }
        }
    }

    func stop() {
        listening.withLock { $0?.cancel() }
        let connection = connection
        Task { try? await connection.close() }
    }
}
