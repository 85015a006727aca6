import Foundation
import Persistence
import SQLKit
import Synchronization
import Testing
import Vapor

@testable import App

/// On PostgreSQL a process listens for every channel it needs on one connection.
@Suite struct DatabaseNotificationsTests {
    /// Two channels, one connection: each subscriber receives its own channel's payloads and no
    /// other's, and the server sees exactly one connection of that listener's name.
    @Test(.enabled(if: TestDatabase.engine == "postgres"))
    func oneConnectionListensOnEveryChannel() async throws {
        try await withPictor { app in
            let first = Recorder()
            let second = Recorder()
            try await listening([first.subscription, second.subscription], app: app) { notifications in
                #expect(try await eventually(within: 20) { first.isListening && second.isListening })

                try await notify(first.channel, "one", on: app)
                try await notify(second.channel, "two", on: app)
                try await notify(first.channel, "three", on: app)
                #expect(
                    try await eventually { first.payloads == ["one", "three"] && second.payloads == ["two"] },
                    "\(first.payloads) \(second.payloads)")
                #expect(try await connections(named: notifications.connectionName, on: app) == 1)
            }
        }
    }

    /// Shutting down closes the listening connection (awaited, not left to a task of its own):
    /// no session of the process stays on the database it used.
    @Test(.enabled(if: TestDatabase.engine == "postgres"))
    func shutdownClosesTheConnectionBeforeReturning() async throws {
        try await withPictor { app in
            let first = Recorder()
            let notifications = DatabaseNotifications([first.subscription])
            try await notifications.didBootAsync(app)
            #expect(try await eventually(within: 20) { first.isListening })
            #expect(try await connections(named: notifications.connectionName, on: app) == 1)
            await notifications.shutdownAsync(app)
            // At once, not eventually: nothing of the listener's is left when shutdown returns.
            // (The server ends a backend a moment after the client closes: allow that moment only.)
            #expect(try await eventually(within: 1) { try await connections(named: notifications.connectionName, on: app) == 0 })
        }
    }

    /// A lost connection is made again, every channel is listened on again (each subscriber
    /// hears that it was down, then up), and notifications get through on both as before.
    @Test(.enabled(if: TestDatabase.engine == "postgres"))
    func aLostConnectionIsMadeAgain() async throws {
        try await withPictor { app in
            let first = Recorder()
            let second = Recorder()
            try await listening([first.subscription, second.subscription], app: app) { notifications in
                #expect(try await eventually(within: 20) { first.isListening && second.isListening })

                try await sqlDatabase(app.db).raw(
                    """
                    SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = \(bind: notifications.connectionName)
                    """
                ).run()
                #expect(
                    try await eventually(within: 20) { first.changes == [true, false, true] && second.changes == [true, false, true] },
                    "\(first.changes) \(second.changes)")
                try await notify(first.channel, "after", on: app)
                try await notify(second.channel, "after", on: app)
                #expect(try await eventually { first.payloads == ["after"] && second.payloads == ["after"] })
                #expect(try await connections(named: notifications.connectionName, on: app) == 1)
            }
        }
    }

    /// A connection that stops answering is noticed by the periodic question and made again.
    /// Its server process is frozen (SIGSTOP): from this side, what a connection silently dropped
    /// by a firewall or load balancer looks like, with no error ever arriving.
    @Test(.enabled(if: TestDatabase.engine == "postgres"))
    func aConnectionThatStopsAnsweringIsMadeAgain() async throws {
        try await withPictor { app in
            let first = Recorder()
            try await listening([first.subscription], app: app, checkInterval: .milliseconds(300), answerWithin: .seconds(1)) { notifications in
                #expect(try await eventually(within: 20) { first.isListening })
                let row = try await sqlDatabase(app.db).raw(
                    """
                    SELECT pid FROM pg_stat_activity WHERE application_name = \(bind: notifications.connectionName)
                    """
                ).first()
                let backend = try #require(try row?.decode(column: "pid", as: Int32.self))
                #expect(kill(backend, SIGSTOP) == 0, "could not freeze the listener's server process")
                defer { kill(backend, SIGCONT) }
                #expect(try await eventually(within: 20) { first.changes == [true, false, true] }, "\(first.changes)")
                kill(backend, SIGCONT)
                try await notify(first.channel, "after", on: app)
                #expect(try await eventually { first.payloads == ["after"] })
            }
        }
    }

    /// A connection whose LISTEN fails at once (here a channel name the server refuses; in life
    /// a hot standby or a pooler) is made again ever more slowly: 250 ms, 500 ms, 1 s, … — not
    /// every 250 ms for good.
    @Test(.enabled(if: TestDatabase.engine == "postgres"))
    func aListenThatFailsAtOnceIsRetriedEverMoreSlowly() async throws {
        try await withPictor { app in
            let refused = DatabaseNotifications.Subscription(channel: "", received: { _ in })
            try await listening([refused], app: app) { notifications in
                try await Task.sleep(for: .seconds(3))
                // At 0, 0.25, 0.75 and 1.75 s (the next at 3.75 s); without the backoff, ten or more.
                #expect((1...5).contains(notifications.connectionsMade), "\(notifications.connectionsMade) connections in 3 s")
            }
        }
    }

    /// Keeps what its channel (unique to it) delivers, and every "listening" or "not" it is told.
    private final class Recorder: Sendable {
        let channel = "test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())"
        private let state = Mutex<(payloads: [String], changes: [Bool])>(([], []))

        var payloads: [String] { state.withLock { $0.payloads } }
        var changes: [Bool] { state.withLock { $0.changes } }
        var isListening: Bool { changes.last == true }

        var subscription: DatabaseNotifications.Subscription {
            .init(
                channel: channel, listening: { listening in self.state.withLock { $0.changes.append(listening) } },
                received: { payload in self.state.withLock { $0.payloads.append(payload) } })
        }
    }

    /// Runs `body` while a `DatabaseNotifications` of `subscriptions` listens.
    private func listening(
        _ subscriptions: [DatabaseNotifications.Subscription], app: Application,
        checkInterval: Duration = .seconds(30), answerWithin: Duration = .seconds(10),
        _ body: (DatabaseNotifications) async throws -> Void
    ) async throws {
        let notifications = DatabaseNotifications(subscriptions, checkInterval: checkInterval, answerWithin: answerWithin)
        try await notifications.didBootAsync(app)
        do {
            try await body(notifications)
        } catch {
            await notifications.shutdownAsync(app)
            throw error
        }
        await notifications.shutdownAsync(app)
    }

    private func notify(_ channel: String, _ payload: String, on app: Application) async throws {
        try await sqlDatabase(app.db).raw("SELECT pg_notify(\(bind: channel), \(bind: payload))").run()
    }

    private func connections(named name: String, on app: Application) async throws -> Int {
        try await sqlDatabase(app.db).raw("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = \(bind: name)")
            .first()?.decode(column: "n", as: Int.self) ?? -1
    }
}
