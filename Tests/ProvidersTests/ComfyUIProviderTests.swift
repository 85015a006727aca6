import AsyncHTTPClient
import Domain
import Foundation
import NIOConcurrencyHelpers
import Providers
import Testing
import Vapor

private let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 3, 3])

@Suite struct ComfyUIProviderTests {
    static let workflow = """
        {"3": {"class_type": "KSampler", "inputs": {"seed": "{{seed}}", "steps": 20, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
         "5": {"class_type": "EmptyLatentImage", "inputs": {"width": "{{width}}", "height": "{{height}}", "batch_size": "{{batch_size}}"}},
         "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "masterpiece, {{prompt}}", "clip": ["4", 1]}},
         "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{negative_prompt}}", "clip": ["4", 1]}},
         "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "pictor", "images": ["8", 0]}}}
        """
    static let generationID = "3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b"

    static func provider(_ base: String, timeout: Duration = .seconds(10)) -> ComfyUIProvider {
        ComfyUIProvider(
            id: "comfy", displayName: "My ComfyUI",
            settings: .init(
                baseURL: URL(string: base)!, workflow: workflow, sizes: [ImageSize(width: 768, height: 512)], maxCount: 2,
                timeout: timeout, pollInterval: .milliseconds(50)))
    }

    static let request = GenerationRequest(
        prompt: "a castle", negativePrompt: "blurry", size: ImageSize(width: 768, height: 512), count: 2, seed: 123_456,
        idempotencyKey: generationID)

    static let done = """
        {"\(generationID)": {"prompt": [], "outputs": {"9": {"images": [
          {"filename": "pictor_00001_.png", "subfolder": "", "type": "output"},
          {"filename": "pictor_00002_.png", "subfolder": "", "type": "output"},
          {"filename": "preview.png", "subfolder": "", "type": "temp"}]}},
          "status": {"status_str": "success", "completed": true, "messages": []}}}
        """

    /// A server that finishes the prompt after `polls` history reads.
    static func routes(polls: Int, posted: NIOLockedValueBox<Int>, alreadyDone: Bool = false) -> (Application) throws -> Void {
        { app in
            let reads = NIOLockedValueBox(0)
            app.get("history", ":id") { _ in
                let n = reads.withLockedValue {
                    $0 += 1
                    return $0
                }
                let finished = alreadyDone || (posted.withLockedValue { $0 } > 0 && n > polls)
                return Response(status: .ok, body: .init(string: finished ? done : "{}"))
            }
            app.get("queue") { _ in Response(status: .ok, body: .init(string: #"{"queue_running": [], "queue_pending": []}"#)) }
            app.post("prompt") { _ in
                posted.withLockedValue { $0 += 1 }
                return Response(status: .ok, body: .init(string: #"{"prompt_id": "\#(generationID)", "number": 1, "node_errors": {}}"#))
            }
            app.get("view") { _ in Response(status: .ok, body: .init(data: png)) }
            app.post("history") { _ in Response(status: .ok) }
        }
    }

    @Test func theWorkflowIsFilledQueuedWithTheGenerationsIdAndItsOutputsFetched() async throws {
        let posted = NIOLockedValueBox(0)
        try await withFakeServer(Self.routes(polls: 2, posted: posted)) { server in
            let images = try await Self.provider(server.baseURL).generate(Self.request) { _ in }
            #expect(images == [.encoded(png), .encoded(png)])  // the temp preview is not an output
            let post = try #require(server.received.first { $0.path == "/prompt" })
            let json = try #require(post.json)
            #expect(json["prompt_id"] as? String == Self.generationID)
            let graph = try #require(json["prompt"] as? [String: [String: Any]])
            let sampler = graph["3"]?["inputs"] as? [String: Any]
            #expect(sampler?["seed"] as? Int == 123_456 && sampler?["steps"] as? Int == 20)
            let latent = graph["5"]?["inputs"] as? [String: Any]
            #expect(latent?["width"] as? Int == 768 && latent?["height"] as? Int == 512 && latent?["batch_size"] as? Int == 2)
            #expect((graph["6"]?["inputs"] as? [String: Any])?["text"] as? String == "masterpiece, a castle")
            #expect((graph["7"]?["inputs"] as? [String: Any])?["text"] as? String == "blurry")
            let views = server.received.filter { $0.path == "/view" }.compactMap(\.query)
            #expect(views.count == 2 && views[0].contains("filename=pictor_00001_.png") && views[0].contains("type=output"))
        }
    }

    /// Two generations on one server at once each have their own client id (ComfyUI keeps one
    /// progress socket per client id: shared, one would take the other's away).
    @Test func eachGenerationHasItsOwnClientID() async throws {
        let posted = NIOLockedValueBox(Set<String>())
        try await withFakeServer({ app in
            // Each prompt is done once it has been queued, whatever its id.
            app.get("history", ":id") { req in
                let id = req.parameters.get("id")!
                guard posted.withLockedValue({ $0.contains(id) }) else { return Response(status: .ok, body: .init(string: "{}")) }
                return Response(status: .ok, body: .init(string: Self.done.replacingOccurrences(of: Self.generationID, with: id)))
            }
            app.get("queue") { _ in Response(status: .ok, body: .init(string: #"{"queue_running": [], "queue_pending": []}"#)) }
            app.post("prompt") { req in
                let id =
                    (try? JSONSerialization.jsonObject(with: Data(buffer: req.body.data ?? ByteBuffer())) as? [String: Any])?["prompt_id"] as? String
                    ?? ""
                posted.withLockedValue { _ = $0.insert(id) }
                return Response(status: .ok, body: .init(string: #"{"prompt_id": "\#(id)", "number": 1, "node_errors": {}}"#))
            }
            app.get("view") { _ in Response(status: .ok, body: .init(data: png)) }
        }) { server in
            let provider = Self.provider(server.baseURL)
            async let first = provider.generate(Self.request) { _ in }
            async let second = provider.generate(
                GenerationRequest(
                    prompt: "a moat", size: Self.request.size, count: 1, seed: 1, idempotencyKey: UUID().uuidString)
            ) { _ in }
            _ = try await (first, second)
            let ids = server.received.filter { $0.path == "/prompt" }.compactMap { $0.json?["client_id"] as? String }
            #expect(ids.count == 2 && Set(ids).count == 2, "\(ids)")
        }
    }

    @Test func aRetriedGenerationIsNotQueuedTwice() async throws {
        let posted = NIOLockedValueBox(0)
        try await withFakeServer(Self.routes(polls: 0, posted: posted, alreadyDone: true)) { server in
            let images = try await Self.provider(server.baseURL).generate(Self.request) { _ in }
            #expect(images.count == 2)
            #expect(posted.withLockedValue { $0 } == 0)
        }
    }

    static func provider(_ base: String, timeout: Duration, problems: ProblemReport) -> ComfyUIProvider {
        ComfyUIProvider(
            id: "comfy", displayName: "My ComfyUI",
            settings: .init(
                baseURL: URL(string: base)!, workflow: workflow, sizes: [ImageSize(width: 768, height: 512)], maxCount: 2,
                timeout: timeout, pollInterval: .milliseconds(50)), problems: problems)
    }

    static func request(_ id: String) -> GenerationRequest {
        GenerationRequest(prompt: "a castle", size: ImageSize(width: 768, height: 512), count: 1, seed: 1, idempotencyKey: id)
    }

    /// ComfyUI 0.3.64 has no jobs API: the cancel learns that from its 405 and uses the classic
    /// calls, which stop our prompt, whether it runs or waits, and never another's; the next
    /// cancel goes straight to them. (Before: the 405 was ignored and the prompt ran to its end.)
    @Test func givingUpCancelsThatPromptOnlyOnAServerWithoutTheJobsAPI() async throws {
        let comfy = ComfyUIServer(version: .v0_3_64, runTime: .seconds(30))
        let reported = NIOLockedValueBox<[String]>([])
        try await withFakeServer({ comfy.install(on: $0) }) { server in
            let provider = Self.provider(
                server.baseURL, timeout: .milliseconds(600), problems: ProblemReport { text in reported.withLockedValue { $0.append(text) } })
            let first = UUID().uuidString.lowercased()
            await #expect(throws: ProviderError.self) { _ = try await provider.generate(Self.request(first)) { _ in } }
            // Running: interrupted through /interrupt with its id, after /queue showed it running.
            let waited1 = try await waitFor { comfy.historyIDs.contains(first) && comfy.runningID == nil }
            #expect(waited1)
            let calls = server.received.filter { $0.method == "POST" && $0.path != "/prompt" && $0.path != "/history" }
            #expect(calls.map(\.path) == ["/api/jobs/\(first)/cancel", "/queue", "/interrupt"], "\(calls.map(\.path))")
            #expect(calls[1].json?["delete"] as? [String] == [first] && calls[2].json?["prompt_id"] as? String == first)

            // Waiting behind another client's prompt: taken out of the queue; the other keeps running.
            let others = #"{"prompt": {"5": {"inputs": {"batch_size": 1}}}, "prompt_id": "someone-else"}"#
            _ = try await ProviderHTTP.send(
                jsonPost(server.baseURL + "/prompt", others), client: ProviderHTTP.client, timeout: .seconds(5), provider: "test")
            let waited2 = try await waitFor { comfy.runningID == "someone-else" }
            #expect(waited2)
            let second = UUID().uuidString.lowercased()
            await #expect(throws: ProviderError.self) { _ = try await provider.generate(Self.request(second)) { _ in } }
            let waited3 = try await waitFor {
                !comfy.pendingIDs.contains(second) && server.received.contains { $0.path == "/queue" && $0.json?["delete"] as? [String] == [second] }
            }
            #expect(waited3)
            #expect(comfy.runningID == "someone-else", "another's prompt was interrupted")
            #expect(!server.received.contains { $0.path == "/api/jobs/\(second)/cancel" }, "the 405 was not remembered")
            #expect(reported.withLockedValue { $0 }.isEmpty)
        }
    }

    /// ComfyUI 0.25 cancels through its jobs API, and the classic calls are not needed.
    @Test func givingUpCancelsThroughTheJobsAPIWhereTheServerHasIt() async throws {
        let comfy = ComfyUIServer(version: .v0_25_0, runTime: .seconds(30))
        try await withFakeServer({ comfy.install(on: $0) }) { server in
            let provider = Self.provider(server.baseURL, timeout: .milliseconds(600), problems: .ignored)
            let id = UUID().uuidString.lowercased()
            await #expect(throws: ProviderError.self) { _ = try await provider.generate(Self.request(id)) { _ in } }
            let waited4 = try await waitFor { comfy.historyIDs.contains(id) && comfy.runningID == nil }
            #expect(waited4)
            #expect(server.received.contains { $0.path == "/api/jobs/\(id)/cancel" })
            #expect(!server.received.contains { $0.path == "/interrupt" || ($0.path == "/queue" && $0.method == "POST") })
        }
    }

    /// A cancel the server refuses (here a proxy in front of it answering 401) is reported for
    /// the operator, not silently dropped.
    @Test func aRefusedCancelIsReported() async throws {
        let comfy = ComfyUIServer(version: .v0_3_64, runTime: .seconds(30))
        let reported = NIOLockedValueBox<[String]>([])
        try await withFakeServer({ app in
            app.middleware.use(RefusesCancels())
            comfy.install(on: app)
        }) { server in
            let provider = Self.provider(
                server.baseURL, timeout: .milliseconds(600), problems: ProblemReport { text in reported.withLockedValue { $0.append(text) } })
            await #expect(throws: ProviderError.self) { _ = try await provider.generate(Self.request(UUID().uuidString.lowercased())) { _ in } }
            let waited5 = try await waitFor { !reported.withLockedValue { $0 }.isEmpty }
            #expect(waited5)
            #expect(reported.withLockedValue { $0 } == ["a cancel was refused: HTTP 401 from /api/jobs/{id}/cancel; the prompt may still run"])
        }
    }

    /// An interrupt on the server (the operator's, or a crash) ends the attempt at once, as a
    /// retryable failure, instead of waiting for the timeout. The retry finds the interrupted run
    /// in the history, removes it, queues the prompt again (same id) and gets the new run's images.
    @Test func anInterruptOnTheServerEndsTheAttemptAtOnceAndTheRetryRunsAgain() async throws {
        // A run takes 5 s; the attempt must end well before (4 s leaves room for a loaded machine:
        // 1.5 s against a 2 s run failed under a parallel suite).
        let comfy = ComfyUIServer(version: .v0_3_64, runTime: .seconds(5))
        try await withFakeServer({ comfy.install(on: $0) }) { server in
            let provider = Self.provider(server.baseURL, timeout: .seconds(60), problems: .ignored)
            let id = UUID().uuidString.lowercased()
            let started = ContinuousClock.now
            Task {
                _ = try? await waitFor { comfy.runningID == id }
                _ = try? await ProviderHTTP.send(
                    jsonPost(server.baseURL + "/interrupt", "{}"), client: ProviderHTTP.client, timeout: .seconds(5), provider: "test")
            }
            do {
                _ = try await provider.generate(Self.request(id)) { _ in }
                Issue.record("an interrupted run must fail the attempt")
            } catch ProviderError.retryable(let reason) {
                #expect(reason.contains("interrupted"))
            }
            #expect(ContinuousClock.now - started < .seconds(4), "waited for the run's time or the timeout")

            let images = try await provider.generate(Self.request(id)) { _ in }
            #expect(images.count == 1)
            #expect(server.received.filter { $0.path == "/prompt" }.count == 2)
        }
    }

    /// A node's error ends the attempt at once as permanent, with ComfyUI's message for the
    /// operator; the outputs of a run that succeeded are fetched and its history entry (the
    /// filled-in workflow, with the prompt) is deleted from the server.
    @Test func aNodeErrorIsPermanentAndASuccessLeavesNoHistory() async throws {
        let failing = ComfyUIServer(version: .v0_3_64, outcome: .error("[Errno 13] Permission denied: '/srv/ComfyUI/output'"))
        try await withFakeServer({ failing.install(on: $0) }) { server in
            do {
                _ = try await Self.provider(server.baseURL, timeout: .seconds(60), problems: .ignored).generate(Self.request(UUID().uuidString)) {
                    _ in
                }
                Issue.record("a node error must fail")
            } catch ProviderError.permanent(let reason) {
                #expect(reason.contains("Permission denied"))
            }
        }
        let comfy = ComfyUIServer(version: .v0_3_64)
        try await withFakeServer({ comfy.install(on: $0) }) { server in
            let id = UUID().uuidString.lowercased()
            let images = try await Self.provider(server.baseURL, timeout: .seconds(20), problems: .ignored).generate(Self.request(id)) { _ in }
            #expect(images == [.encoded(ComfyUIServer.png)])
            #expect(!comfy.historyIDs.contains(id), "the prompt stays in ComfyUI's history")
            #expect(server.received.contains { $0.path == "/history" && $0.json?["delete"] as? [String] == [id] })
        }
    }

    @Test func progressComesFromTheWebSocketAndItsEndIsReadAtOnce() async throws {
        let posted = NIOLockedValueBox(0)
        let finished = NIOLockedValueBox(false)
        try await withFakeServer({ app in
            app.get("history", ":id") { _ in
                Response(status: .ok, body: .init(string: finished.withLockedValue { $0 } ? Self.done : "{}"))
            }
            app.get("queue") { _ in Response(status: .ok, body: .init(string: "{}")) }
            app.post("prompt") { req in
                posted.withLockedValue { $0 += 1 }
                let body = try req.content.decode([String: AnyCodableClientID].self)
                #expect(body["client_id"]?.value.isEmpty == false)
                return Response(status: .ok, body: .init(string: #"{"prompt_id": "\#(Self.generationID)", "number": 1}"#))
            }
            app.get("view") { _ in Response(status: .ok, body: .init(data: png)) }
            app.webSocket("ws") { req, socket in
                #expect((try? req.query.get(String.self, at: "clientId"))?.isEmpty == false)
                Task {
                    while posted.withLockedValue({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(20)) }
                    for value in [5, 10] {
                        try await socket.send(#"{"type": "progress", "data": {"value": \#(value), "max": 20, "prompt_id": "\#(Self.generationID)"}}"#)
                        try await Task.sleep(for: .milliseconds(400))
                    }
                    try await socket.send(#"{"type": "progress", "data": {"value": 19, "max": 20, "prompt_id": "someone-elses-prompt"}}"#)
                    finished.withLockedValue { $0 = true }
                    try await socket.send(#"{"type": "executing", "data": {"node": null, "prompt_id": "\#(Self.generationID)"}}"#)
                }
            }
        }) { server in
            let provider = ComfyUIProvider(
                id: "comfy", displayName: "My ComfyUI",
                settings: .init(
                    baseURL: URL(string: server.baseURL)!, workflow: Self.workflow, sizes: [ImageSize(width: 768, height: 512)], maxCount: 2,
                    timeout: .seconds(60), pollInterval: .seconds(30)))
            let reported = NIOLockedValueBox<[Double]>([])
            let started = ContinuousClock.now
            let images = try await provider.generate(Self.request) { value in reported.withLockedValue { $0.append(value) } }
            #expect(images.count == 2)
            #expect(ContinuousClock.now - started < .seconds(15))  // not the 30 s poll interval
            let values = reported.withLockedValue { $0 }
            // The newest fraction is reported (5/20 or 10/20 of the sampler, scaled to 0.95), not the polling default.
            #expect(values.contains { abs($0 - 0.2375) < 0.001 || abs($0 - 0.475) < 0.001 }, "\(values)")
            #expect(!values.contains { abs($0 - 0.9025) < 0.001 })  // another prompt's progress is not ours
        }
    }

    @Test func aWorkflowErrorIsPermanent() async throws {
        try await withFakeServer({ app in
            app.get("history", ":id") { _ in Response(status: .ok, body: .init(string: "{}")) }
            app.get("queue") { _ in Response(status: .ok, body: .init(string: "{}")) }
            app.post("prompt") { _ in
                Response(
                    status: .badRequest,
                    body: .init(
                        string:
                            #"{"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation"}, "node_errors": {"3": {}}}"#
                    ))
            }
        }) { server in
            do {
                _ = try await Self.provider(server.baseURL).generate(Self.request) { _ in }
                Issue.record("an invalid workflow must fail")
            } catch ProviderError.permanent(let reason) {
                #expect(reason.contains("failed validation"))
            }
        }
    }
}

/// Answers 401 to the calls that cancel, as an authenticating proxy in front of ComfyUI might.
private struct RefusesCancels: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if request.method == .POST, request.url.path.hasSuffix("/cancel") || request.url.path == "/interrupt" || request.url.path == "/queue" {
            return Response(status: .unauthorized, body: .init(string: "401: Unauthorized"))
        }
        return try await next.respond(to: request)
    }
}

func jsonPost(_ url: String, _ body: String) -> HTTPClientRequest {
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/json")
    request.body = .bytes(ByteBuffer(string: body))
    return request
}

/// Reads the `client_id` string out of a posted prompt (the rest of the body is ignored).
struct AnyCodableClientID: Decodable {
    let value: String

    init(from decoder: any Decoder) throws {
        value = (try? decoder.singleValueContainer().decode(String.self)) ?? ""
    }
}
