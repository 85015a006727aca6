import Crypto
import Domain
import Foundation
import NIOConcurrencyHelpers
import Testing
import Vapor

@testable import Providers

private let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 5, 5])

@Suite struct ReplicateProviderTests {
    static func provider(
        _ base: String, timeout: Duration = .seconds(10), poll: Duration = .milliseconds(50), signals: PredictionSignals = PredictionSignals(),
        problems: ProblemReport = .ignored
    ) -> ReplicateProvider {
        ReplicateProvider(
            id: "flux", displayName: "FLUX schnell",
            settings: .init(
                baseURL: URL(string: base)!, apiToken: "r8_secret", model: "black-forest-labs/flux-schnell",
                sizes: [ImageSize(width: 1024, height: 1024)], maxCount: 4, waitSeconds: 5, pollInterval: poll, timeout: timeout,
                webhookURL: "https://pictor.example/webhooks/replicate"), signals: signals, problems: problems)
    }

    static let request = GenerationRequest(prompt: "a fox", size: ImageSize(width: 1024, height: 1024), count: 2, seed: 77)

    @Test func createWaitPollAndDownload() async throws {
        let polls = NIOLockedValueBox(0)
        try await withFakeServer({ app in
            app.post("v1", "models", "black-forest-labs", "flux-schnell", "predictions") { _ in
                Response(status: .created, body: .init(string: #"{"id":"p1","status":"starting","output":null,"error":null}"#))
            }
            app.get("v1", "predictions", "p1") { req in
                let n = polls.withLockedValue {
                    $0 += 1
                    return $0
                }
                let host = req.headers.first(name: .host)!
                return Response(
                    status: .ok,
                    body: .init(
                        string: n < 2
                            ? #"{"id":"p1","status":"processing","output":null}"#
                            : #"{"id":"p1","status":"succeeded","output":["http://\#(host)/files/a.png","http://\#(host)/files/b.png"]}"#))
            }
            app.get("files", ":name") { _ in Response(status: .ok, body: .init(data: png)) }
        }) { server in
            let images = try await Self.provider(server.baseURL).generate(Self.request) { _ in }
            #expect(images == [.encoded(png), .encoded(png)])
            let create = try #require(server.received.first)
            #expect(create.path == "/v1/models/black-forest-labs/flux-schnell/predictions")
            #expect(create.headers.first(name: "Authorization") == "Bearer r8_secret")
            #expect(create.headers.first(name: "Prefer") == "wait=5")
            let input = try #require(create.json?["input"] as? [String: Any])
            #expect(input["prompt"] as? String == "a fox" && input["num_outputs"] as? Int == 2 && input["seed"] as? Int == 77)
            #expect(input["aspect_ratio"] as? String == "1:1" && input["output_format"] as? String == "png")
            #expect(create.json?["webhook"] as? String == "https://pictor.example/webhooks/replicate")
            #expect(create.json?["webhook_events_filter"] as? [String] == ["completed"])
            #expect(server.received.filter { $0.path.hasPrefix("/files/") }.count == 2)
        }
    }

    /// A failed look at a running prediction (a 502 from Replicate) is looked past until the
    /// deadline: the prediction is not cancelled, and its images arrive.
    @Test func aFailedPollIsRetriedWithoutCancellingThePrediction() async throws {
        let polls = NIOLockedValueBox(0)
        try await withFakeServer({ app in
            app.post("v1", "models", "black-forest-labs", "flux-schnell", "predictions") { _ in
                Response(status: .created, body: .init(string: #"{"id":"p5","status":"starting"}"#))
            }
            app.get("v1", "predictions", "p5") { req in
                let n = polls.withLockedValue {
                    $0 += 1
                    return $0
                }
                if n == 1 { return Response(status: .badGateway) }
                let host = req.headers.first(name: .host)!
                return Response(status: .ok, body: .init(string: #"{"id":"p5","status":"succeeded","output":["http://\#(host)/files/a.png"]}"#))
            }
            app.post("v1", "predictions", "p5", "cancel") { _ in Response(status: .ok) }
            app.get("files", ":name") { _ in Response(status: .ok, body: .init(data: png)) }
        }) { server in
            let images = try await Self.provider(server.baseURL).generate(Self.request) { _ in }
            #expect(images == [.encoded(png)])
            #expect(!server.received.contains { $0.path.hasSuffix("/cancel") })
        }
    }

    /// What a model's output may link to is decided by Pictor: no other schemes (a Unix socket
    /// on this machine), no redirects (anywhere on the operator's network); `data:` is read in place.
    @Test(arguments: [
        ("http+unix://%2Fvar%2Frun%2Fdocker.sock/info", false), ("file:///etc/passwd", false), ("REDIRECT", false),
        ("data:image/png;base64," + png.base64EncodedString(), true),
    ])
    func onlyPlainLinksToImagesAreFollowed(_ link: String, _ followed: Bool) async throws {
        try await withFakeServer({ app in
            app.post("v1", "models", "black-forest-labs", "flux-schnell", "predictions") { req in
                let host = req.headers.first(name: .host)!
                let output = link == "REDIRECT" ? "http://\(host)/files/moved.png" : link
                return Response(status: .created, body: .init(string: #"{"id":"p6","status":"succeeded","output":["\#(output)"]}"#))
            }
            app.get("files", "moved.png") { req in req.redirect(to: "/private/metadata") }
            app.get("private", "metadata") { _ in Response(status: .ok, body: .init(data: png)) }
        }) { server in
            do {
                let images = try await Self.provider(server.baseURL).generate(Self.request) { _ in }
                #expect(followed && images == [.encoded(png)])
            } catch ProviderError.permanent(let reason) {
                #expect(!followed && reason.contains("Pictor does not follow"), "\(reason)")
            }
            #expect(!server.received.contains { $0.path == "/private/metadata" })
        }
    }

    @Test func givingUpCancelsThePredictionAtReplicate() async throws {
        try await withFakeServer({ app in
            app.post("v1", "models", "black-forest-labs", "flux-schnell", "predictions") { _ in
                Response(status: .created, body: .init(string: #"{"id":"p2","status":"starting"}"#))
            }
            app.get("v1", "predictions", "p2") { _ in Response(status: .ok, body: .init(string: #"{"id":"p2","status":"processing"}"#)) }
            app.post("v1", "predictions", "p2", "cancel") { _ in Response(status: .ok, body: .init(string: #"{"id":"p2","status":"canceled"}"#)) }
        }) { server in
            let provider = Self.provider(server.baseURL)
            let task = Task { try await provider.generate(Self.request) { _ in } }
            let polling = try await waitFor { server.received.contains { $0.path == "/v1/predictions/p2" } }
            #expect(polling)
            task.cancel()  // what the worker does on a timeout or when the owner cancels
            _ = try? await task.value
            let cancelled = try await waitFor { server.received.contains { $0.method == "POST" && $0.path == "/v1/predictions/p2/cancel" } }
            #expect(cancelled)
        }
    }

    /// Replicate's API also answers a creation with 202 ("created but does not yet have all
    /// outputs"): a prediction like any other, not a refusal. An `aborted` prediction (stopped by
    /// Replicate before it ran) is final and worth another attempt, not polled until the timeout.
    @Test func accepted202IsAPredictionAndAbortedIsFinal() async throws {
        for (final, expectImages) in [("succeeded", true), ("aborted", false)] {
            try await withFakeServer({ app in
                app.post("v1", "models", "black-forest-labs", "flux-schnell", "predictions") { _ in
                    Response(status: .accepted, body: .init(string: #"{"id":"p7","status":"processing","output":null}"#))
                }
                app.get("v1", "predictions", "p7") { req in
                    let host = req.headers.first(name: .host)!
                    return Response(status: .ok, body: .init(string: #"{"id":"p7","status":"\#(final)","output":["http://\#(host)/files/a.png"]}"#))
                }
                app.get("files", ":name") { _ in Response(status: .ok, body: .init(data: png)) }
            }) { server in
                let started = ContinuousClock.now
                do {
                    let images = try await Self.provider(server.baseURL, timeout: .seconds(20)).generate(Self.request) { _ in }
                    #expect(expectImages && images == [.encoded(png)])
                } catch ProviderError.retryable(let reason) {
                    #expect(!expectImages && reason.contains("before it ran"), "\(reason)")
                }
                #expect(ContinuousClock.now - started < .seconds(10))
            }
        }
    }

    /// Given up while the creation (`Prefer: wait`) is still open: the creation is let finish,
    /// and the prediction it made is cancelled by its id, not left running and billed.
    @Test func givingUpDuringTheCreationStillCancelsThePrediction() async throws {
        try await withFakeServer({ app in
            app.post("v1", "models", "black-forest-labs", "flux-schnell", "predictions") { _ in
                try await Task.sleep(for: .milliseconds(800))
                return Response(status: .created, body: .init(string: #"{"id":"p8","status":"processing"}"#))
            }
            app.get("v1", "predictions", "p8") { _ in Response(status: .ok, body: .init(string: #"{"id":"p8","status":"processing"}"#)) }
            app.post("v1", "predictions", "p8", "cancel") { _ in Response(status: .ok, body: .init(string: #"{"id":"p8","status":"canceled"}"#)) }
        }) { server in
            let provider = Self.provider(server.baseURL)
            let task = Task { try await provider.generate(Self.request) { _ in } }
            try await Task.sleep(for: .milliseconds(200))
            task.cancel()
            _ = try? await task.value
            let cancelled = try await waitFor { server.received.contains { $0.method == "POST" && $0.path == "/v1/predictions/p8/cancel" } }
            #expect(cancelled)
        }
    }

    /// A cancel Replicate refuses (here 404, a prediction it no longer knows) is reported for
    /// the operator rather than ignored.
    @Test func aRefusedCancelIsReported() async throws {
        let reported = NIOLockedValueBox<[String]>([])
        try await withFakeServer({ app in
            app.post("v1", "models", "black-forest-labs", "flux-schnell", "predictions") { _ in
                Response(status: .created, body: .init(string: #"{"id":"p6","status":"starting"}"#))
            }
            app.get("v1", "predictions", "p6") { _ in Response(status: .ok, body: .init(string: #"{"id":"p6","status":"processing"}"#)) }
            app.post("v1", "predictions", "p6", "cancel") { _ in
                Response(status: .notFound, body: .init(string: #"{"detail":"Not found.","status":404}"#))
            }
        }) { server in
            let provider = Self.provider(server.baseURL, problems: ProblemReport { text in reported.withLockedValue { $0.append(text) } })
            let task = Task { try await provider.generate(Self.request) { _ in } }
            let polling = try await waitFor { server.received.contains { $0.path == "/v1/predictions/p6" } }
            #expect(polling)
            task.cancel()
            _ = try? await task.value
            let told = try await waitFor { !reported.withLockedValue { $0 }.isEmpty }
            #expect(told)
            #expect(reported.withLockedValue { $0 }.first?.contains("HTTP 404") == true)
        }
    }

    @Test func aFlaggedResultIsBlockedAndAFailureIsPermanent() async throws {
        for (error, expectBlocked) in [
            ("NSFW content detected. Try running it again, or try a different prompt.", true), ("CUDA out of memory", false),
        ] {
            try await withFakeServer({ app in
                app.post("v1", "models", "black-forest-labs", "flux-schnell", "predictions") { _ in
                    Response(status: .created, body: .init(string: #"{"id":"p3","status":"failed","error":"\#(error)"}"#))
                }
            }) { server in
                do {
                    _ = try await Self.provider(server.baseURL).generate(Self.request) { _ in }
                    Issue.record("a failed prediction must fail")
                } catch ProviderError.blocked {
                    #expect(expectBlocked)
                } catch ProviderError.permanent(let reason) {
                    #expect(!expectBlocked && reason.contains("CUDA"))
                }
            }
        }
    }

    @Test func aWebhookWakesTheWaitBeforeThePollInterval() async throws {
        let signals = PredictionSignals()
        let done = NIOLockedValueBox(false)
        try await withFakeServer({ app in
            app.post("v1", "models", "black-forest-labs", "flux-schnell", "predictions") { _ in
                Response(status: .created, body: .init(string: #"{"id":"p4","status":"starting"}"#))
            }
            app.get("v1", "predictions", "p4") { req in
                let finished = done.withLockedValue { $0 }
                return Response(
                    status: .ok,
                    body: .init(
                        string: finished
                            ? #"{"id":"p4","status":"succeeded","output":"http://\#(req.headers.first(name: .host)!)/files/c.png"}"#
                            : #"{"id":"p4","status":"processing"}"#))
            }
            app.get("files", ":name") { _ in Response(status: .ok, body: .init(data: png)) }
        }) { server in
            let provider = Self.provider(server.baseURL, poll: .seconds(60), signals: signals)
            let started = ContinuousClock.now
            let task = Task { try await provider.generate(Self.request) { _ in } }
            // Once Replicate has the prediction, its webhook may come before or after the wait begins.
            let created = try await waitFor { server.received.contains { $0.method == "POST" } }
            #expect(created)
            done.withLockedValue { $0 = true }
            signals.arrived("p4")
            let images = try await task.value
            #expect(images == [.encoded(png)])  // a single URL as output works too
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }
}

@Suite struct ReplicateWebhookTests {
    static let secret = "whsec_" + Data("a-32-byte-signing-key-for-tests!".utf8).base64EncodedString()
    static let body = Data(#"{"id":"p1","status":"succeeded"}"#.utf8)

    /// Signs the way Replicate (Standard Webhooks) does.
    static func sign(id: String, timestamp: String, body: Data, secret: String = secret) -> String {
        let key = SymmetricKey(data: Data(base64Encoded: String(secret.dropFirst("whsec_".count)))!)
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(id).\(timestamp).".utf8) + body, using: key)
        return "v1," + Data(mac).base64EncodedString()
    }

    @Test func authenticDeliveriesPassAndEverythingElseFails() {
        let now = Date()
        let timestamp = String(Int(now.timeIntervalSince1970))
        let good = Self.sign(id: "msg_1", timestamp: timestamp, body: Self.body)
        #expect(ReplicateWebhook.isAuthentic(id: "msg_1", timestamp: timestamp, signatures: good, body: Self.body, secret: Self.secret, now: now))
        #expect(
            ReplicateWebhook.isAuthentic(
                id: "msg_1", timestamp: timestamp, signatures: "v1,AAAA " + good, body: Self.body, secret: Self.secret, now: now))
        #expect(
            !ReplicateWebhook.isAuthentic(
                id: "msg_1", timestamp: timestamp, signatures: good, body: Data(#"{"id":"p2"}"#.utf8), secret: Self.secret, now: now))
        #expect(!ReplicateWebhook.isAuthentic(id: "msg_2", timestamp: timestamp, signatures: good, body: Self.body, secret: Self.secret, now: now))
        let other = "whsec_" + Data("another-key-another-key-another!".utf8).base64EncodedString()
        #expect(!ReplicateWebhook.isAuthentic(id: "msg_1", timestamp: timestamp, signatures: good, body: Self.body, secret: other, now: now))
        let stale = String(Int(now.timeIntervalSince1970) - 600)
        #expect(
            !ReplicateWebhook.isAuthentic(
                id: "msg_1", timestamp: stale, signatures: Self.sign(id: "msg_1", timestamp: stale, body: Self.body), body: Self.body,
                secret: Self.secret, now: now))
        #expect(!ReplicateWebhook.isAuthentic(id: "msg_1", timestamp: timestamp, signatures: "", body: Self.body, secret: Self.secret, now: now))
    }

    /// A wait that ends without its webhook (the poll interval passed) leaves nothing behind:
    /// with no webhook configured, every prediction ends so.
    @Test func waitsThatTimeOutLeaveNothingBehind() async {
        let signals = PredictionSignals()
        await withTaskGroup(of: Void.self) { group in
            for n in 0..<50 { group.addTask { await signals.wait(for: "prediction-\(n)", upTo: .milliseconds(20)) } }
        }
        #expect(signals.predictionsWaitedFor == 0)
        // An arrival still wakes a wait made after it, and one made before it.
        signals.arrived("early")
        await signals.wait(for: "early", upTo: .seconds(30))
        async let woken: Void = signals.wait(for: "late", upTo: .seconds(30))
        while signals.predictionsWaitedFor == 0 { try? await Task.sleep(for: .milliseconds(10)) }
        signals.arrived("late")
        await woken
        #expect(signals.predictionsWaitedFor == 0)
    }
}
