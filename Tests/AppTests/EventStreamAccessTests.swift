import AsyncHTTPClient
import Fluent
import Foundation
import Persistence
import Testing
import Vapor
import VaporTesting

@testable import App

/// An event stream runs for up to ten minutes on the sign-in that opened it: signing out or
/// revoking the API key must end it, not only refuse the next request; and one person cannot
/// hold more than a process's share of them open.
@Suite struct EventStreamAccessTests {
    @Test func signingOutEndsTheSessionsEventStreams() async throws {
        try await withPictor { app in
            let browser = try await signedInForAPI(app, email: "signing-out@example.com")
            // No workers: the generation stays queued, so only the sign-in can end the stream.
            let created: GenerationView = try await browser.generate(#"{"prompt":"a long wait","size":"512x512"}"#).decoded()
            let streaming = try await browser.openEvents(created.id, followedBy: app)

            // While the session holds, the stream outlives its sign-in checks (a quiet stream asks
            // at its first re-read after the interval: within two intervals).
            try await Task.sleep(for: GenerationEventStream.signInRecheckInterval * 2 + .milliseconds(500))
            #expect(app.pictor.generationEvents.followers(of: created.id) == 1, "the stream ended while still signed in")

            #expect(try await browser.post(SiteURL.signOut.path).status == .seeOther)
            let ended = try await eventually(within: 10) { app.pictor.generationEvents.followers(of: created.id) == 0 }
            #expect(ended, "the stream is still open after signing out")
            if !ended { app.pictor.generationEvents.closeAll() }
            let events = serverSentEvents(try await streaming.value)
            #expect(events.first?.hasPrefix("event: queued") == true, "\(events)")
            #expect(events.last == "event: signed-out\ndata: {}", "\(events)")
        }
    }

    @Test func revokingTheAPIKeyEndsItsEventStreams() async throws {
        try await withPictor { app in
            _ = try await signedInForAPI(app, email: "key-holder@example.com")
            let user = try #require(try await UserModel.query(on: app.db).filter(\.$email == "key-holder@example.com").first())
            let key = try await APIKeys.create(
                name: "watcher", scopes: [.generationsRead, .generationsWrite], for: user.id!, now: Date(), on: app.db)
            let headers: HTTPHeaders = ["Authorization": "Bearer \(key.key)", "Accept": "application/json", "Content-Type": "application/json"]
            let created = try await app.testing().sendRequest(
                .POST, "/api/v1/generations", headers: headers, body: ByteBuffer(string: #"{"prompt":"a long wait","size":"512x512"}"#))
            let id = try created.decoded(GenerationView.self).id
            let streaming = Task {
                try await app.testing().sendRequest(.GET, "/generations/\(id)/events", headers: ["Authorization": "Bearer \(key.key)"])
            }
            #expect(try await eventually { app.pictor.generationEvents.followers(of: id) == 1 }, "the event stream was not followed")

            key.row.revokedAt = Date()
            try await key.row.update(on: app.db)
            let ended = try await eventually(within: 10) { app.pictor.generationEvents.followers(of: id) == 0 }
            #expect(ended, "the stream is still open after its key was revoked")
            if !ended { app.pictor.generationEvents.closeAll() }
            let stream = try await streaming.value
            #expect(stream.status == .ok)
            #expect(serverSentEvents(stream).last == "event: signed-out\ndata: {}", "\(stream.body.string)")
        }
    }

    @Test func onePersonCanFollowOnlySoManyGenerationsLive() async throws {
        try await withPictor { app in
            let events = app.pictor.generationEvents
            let limit = events.maxStreamsPerUser
            let browser = try await signedInForAPI(app, email: "many-tabs@example.com")
            let owner = try #require(try await UserModel.query(on: app.db).filter(\.$email == "many-tabs@example.com").first()?.id)
            let first: GenerationView = try await browser.generate(#"{"prompt":"one","size":"512x512"}"#).decoded()
            let second: GenerationView = try await browser.generate(#"{"prompt":"two","size":"512x512"}"#).decoded()
            var streams = (1..<limit).map { _ in browser.openEvents(first.id) }
            streams.append(browser.openEvents(second.id))
            #expect(try await eventually { events.followers(of: first.id) == limit - 1 && events.followers(of: second.id) == 1 })

            // One more is answered at once (were it opened, it would last as long as the generation waits).
            let answered = Locked(false)
            let attempt = Task {
                defer { answered.update { $0 = true } }
                return try await browser.api(.GET, "/generations/\(first.id)/events", headers: ["Accept": "text/event-stream"])
            }
            #expect(try await eventually(within: 5) { answered.value }, "a stream over the limit was opened")
            if !answered.value { events.closeAll() }
            let refused = try await attempt.value
            #expect(refused.status == .tooManyRequests)
            #expect(refused.body.string.contains("already follow \(limit) generations live"), "\(refused.body.string)")
            // Someone else is not held back by it.
            let other = try await signedInForAPI(app, email: "one-tab@example.com")
            let theirs: GenerationView = try await other.generate(#"{"prompt":"mine","size":"512x512"}"#).decoded()
            let their = try await other.openEvents(theirs.id, followedBy: app)

            // A stream that ends gives its place back.
            #expect(try await browser.api(.POST, "/api/v1/generations/\(second.id)/cancel").status == .ok)
            #expect(try await eventually { events.streams(of: owner) == limit - 1 })
            let again = browser.openEvents(first.id)
            #expect(try await eventually { events.followers(of: first.id) == limit }, "a place given back was not free again")

            events.closeAll()
            for stream in streams + [again, their] { _ = try await stream.value }
            #expect(try await eventually { events.streams(of: owner) == 0 })
        }
    }

    /// A quiet stream sends its state once, then keep-alive comments only: re-reading an
    /// unchanged generation sends nothing new (its data encodes the same every time).
    @Test func aQuietStreamSendsEachStateOnce() async throws {
        try await withPictor { app in
            let browser = try await signedInForAPI(app, email: "quiet@example.com")
            // No workers: the generation stays queued.
            let created: GenerationView = try await browser.generate(#"{"prompt":"a quiet wait","size":"512x512"}"#).decoded()
            let streaming = try await browser.openEvents(created.id, followedBy: app)
            // Three re-reads at least.
            try await Task.sleep(for: GenerationEventStream.recheckInterval * 3 + .milliseconds(500))
            app.pictor.generationEvents.closeAll()
            let response = try await streaming.value
            let events = serverSentEvents(response)
            #expect(events.count == 1 && events.first?.hasPrefix("event: queued") == true, "\(events)")
            #expect(response.body.string.contains(": keep-alive"), "no keep-alive in \(response.body.string)")
        }
    }

    /// A stream whose client went away (a closed tab) gives its place back within seconds: a
    /// quiet stream writes a keep-alive at each re-read, and the first write after the client
    /// left fails. Over a real connection, closed by the client.
    @Test func aStreamWhoseClientLeftGivesItsPlaceBackWithinSeconds() async throws {
        try await withPictor { app in
            try await app.server.start(address: .hostname("127.0.0.1", port: 0))
            let port = try #require((app.server as? HTTPServer)?.localAddress?.port)
            _ = try await signedInForAPI(app, email: "closed-tab@example.com")
            let owner = try #require(try await UserModel.query(on: app.db).filter(\.$email == "closed-tab@example.com").first()?.id)
            let key = try await APIKeys.create(name: "tab", scopes: [.generationsRead, .generationsWrite], for: owner, now: Date(), on: app.db)
            let created = try await app.testing().sendRequest(
                .POST, "/api/v1/generations",
                headers: [
                    "Authorization": "Bearer \(key.key)", "Content-Type": "application/json",
                ], body: ByteBuffer(string: #"{"prompt":"a long wait","size":"512x512"}"#))
            let id = try created.decoded(GenerationView.self).id

            // No workers: the generation stays queued and its stream quiet after the first event.
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let reading = Task {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/generations/\(id)/events")
                request.headers.add(name: "Authorization", value: "Bearer \(key.key)")
                let response = try await client.execute(request, timeout: .seconds(120))
                for try await _ in response.body {}
            }
            let events = app.pictor.generationEvents
            #expect(try await eventually { events.streams(of: owner) == 1 }, "the stream did not open")
            // Well after the first event and a keep-alive: the stream is quiet, not starting.
            try await Task.sleep(for: .seconds(3))
            reading.cancel()
            _ = await reading.result
            // Within a few re-reads (a keep-alive of 15 s, as before, took 30 s: two of them): the
            // second keep-alive after the close fails, about 4 s alone, up to 15 on a loaded machine.
            let givenBack = try await eventually(within: 20) { events.streams(of: owner) == 0 }
            #expect(givenBack, "a stream whose client left still holds its place")
            events.closeAll()
            // A stream must not outlive the application it reads from.
            _ = try await eventually(within: 10) { events.streams(of: owner) == 0 }
            try await client.shutdown()
            await app.server.shutdown()
        }
    }

    /// A place is given back once: by `release()`, or when dropped unreleased (a response whose
    /// body never ran), never twice.
    @Test func aStreamPlaceIsGivenBackExactlyOnce() {
        let events = GenerationEvents(maxStreamsPerUser: 2)
        let user = UUID()
        do {
            let dropped = events.reserveStream(for: user)
            #expect(dropped != nil && events.streams(of: user) == 1)
        }
        #expect(events.streams(of: user) == 0, "a dropped place was not given back")

        let first = events.reserveStream(for: user)
        let second = events.reserveStream(for: user)
        #expect(first != nil && second != nil && events.reserveStream(for: user) == nil)
        first?.release()
        first?.release()
        #expect(events.streams(of: user) == 1, "a place given back twice freed someone else's")
        #expect(events.reserveStream(for: UUID()) != nil, "another person's limit is their own")
        _ = second
    }
}
