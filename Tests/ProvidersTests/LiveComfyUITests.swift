import AsyncHTTPClient
import Domain
import Foundation
import NIOConcurrencyHelpers
import Providers
import Testing

/// The ComfyUI adapter against a real ComfyUI, when `PICTOR_COMFYUI_URL` names one (skipped
/// otherwise: CI has none). It needs no model weights: the workflows are an `EmptyImage` (its
/// colour follows the seed), a slow `ImageBlur` for the runs that must still be running when
/// they are cancelled, and `SaveImage`. Run it with
/// `PICTOR_COMFYUI_URL=http://127.0.0.1:8188 swift test --filter LiveComfyUITests`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["PICTOR_COMFYUI_URL"] != nil), .serialized)
struct LiveComfyUITests {
    let base = ProcessInfo.processInfo.environment["PICTOR_COMFYUI_URL"] ?? "http://127.0.0.1:8188"

    static let quick = """
        {"1": {"class_type": "EmptyImage", "inputs": {"width": "{{width}}", "height": "{{height}}", "batch_size": "{{batch_size}}", "color": "{{seed}}"}},
         "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "pictor-live {{prompt}}"}}}
        """
    /// About 20 s on two CPU cores: a blur of four 2048² images.
    static let slow = """
        {"1": {"class_type": "EmptyImage", "inputs": {"width": "{{width}}", "height": "{{height}}", "batch_size": "{{batch_size}}", "color": "{{seed}}"}},
         "3": {"class_type": "ImageBlur", "inputs": {"image": ["1", 0], "blur_radius": 31, "sigma": 10.0}},
         "2": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "pictor-live {{prompt}}"}}}
        """

    func provider(_ workflow: String, timeout: Duration, problems: ProblemReport = .ignored) -> ComfyUIProvider {
        ComfyUIProvider(
            id: "live", displayName: "Live ComfyUI",
            settings: .init(
                baseURL: URL(string: base)!, workflow: workflow,
                sizes: [ImageSize(width: 64, height: 64), ImageSize(width: 2048, height: 2048)], maxCount: 4,
                timeout: timeout, pollInterval: .milliseconds(200)), problems: problems)
    }

    /// A colour of its own each time: ComfyUI caches a node's output by its inputs, and a run
    /// like an earlier one would end at once.
    func request(side: Int, count: Int, id: String = UUID().uuidString.lowercased()) -> GenerationRequest {
        GenerationRequest(
            prompt: "a castle", size: ImageSize(width: side, height: side), count: count, seed: UInt64.random(in: 0...0xFFFFFF),
            idempotencyKey: id)
    }

    func get(_ path: String) async throws -> [String: Any] {
        let answer = try await ProviderHTTP.send(
            HTTPClientRequest(url: base + path), client: ProviderHTTP.client, timeout: .seconds(10), provider: "test")
        return (try JSONSerialization.jsonObject(with: answer.body) as? [String: Any]) ?? [:]
    }

    func queueIDs() async throws -> (running: [String], pending: [String]) {
        let queue = try await get("/queue")
        func ids(_ key: String) -> [String] { ((queue[key] as? [[Any]]) ?? []).compactMap { $0.count > 1 ? $0[1] as? String : nil } }
        return (ids("queue_running"), ids("queue_pending"))
    }

    func historyStatus(_ id: String) async throws -> [String: Any]? {
        ((try await get("/history/\(id)"))[id] as? [String: Any])?["status"] as? [String: Any]
    }

    /// Waits (up to `seconds`) until `condition` holds.
    func until(_ seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(250))
        }
        return try await condition()
    }

    @Test func imagesComeBackAndTheHistoryEntryIsDeleted() async throws {
        let id = UUID().uuidString.lowercased()
        let images = try await provider(Self.quick, timeout: .seconds(60)).generate(request(side: 64, count: 2, id: id)) { _ in }
        #expect(images.count == 2)
        #expect(try await historyStatus(id) == nil, "the prompt's history entry is still on the server")
    }

    @Test func givingUpInterruptsOurRunningPrompt() async throws {
        let id = UUID().uuidString.lowercased()
        let reported = NIOLockedValueBox<[String]>([])
        let slow = provider(Self.slow, timeout: .seconds(4), problems: ProblemReport { text in reported.withLockedValue { $0.append(text) } })
        await #expect(throws: ProviderError.self) { _ = try await slow.generate(request(side: 2048, count: 4, id: id)) { _ in } }
        // The interrupt lands at the next node: the run ends interrupted, not successful.
        let ended = try await until(90) { try await historyStatus(id) != nil }
        #expect(ended)
        let messages = (try await historyStatus(id)?["messages"] as? [[Any]]) ?? []
        #expect(messages.contains { ($0.first as? String) == "execution_interrupted" }, "\(messages.map { $0.first ?? "" })")
        #expect(reported.withLockedValue { $0 }.isEmpty, "\(reported.withLockedValue { $0 })")
    }

    @Test func givingUpTakesOurWaitingPromptOutOfTheQueueAndLeavesAnothersRunning() async throws {
        // Another client's slow prompt runs first.
        let other = UUID().uuidString.lowercased()
        let graph = try ComfyUIProvider.fill(Self.slow, with: request(side: 2048, count: 4, id: other))
        var post = HTTPClientRequest(url: base + "/prompt")
        post.method = .POST
        post.body = .bytes(.init(data: try JSONSerialization.data(withJSONObject: ["prompt": graph, "prompt_id": other])))
        _ = try await ProviderHTTP.send(post, client: ProviderHTTP.client, timeout: .seconds(10), provider: "test")
        #expect(try await until(20) { try await queueIDs().running == [other] })

        let ours = UUID().uuidString.lowercased()
        await #expect(throws: ProviderError.self) {
            _ = try await provider(Self.quick, timeout: .seconds(3)).generate(request(side: 64, count: 1, id: ours)) { _ in }
        }
        #expect(try await until(10) { !(try await queueIDs().pending.contains(ours)) }, "our prompt is still queued")
        #expect(try await queueIDs().running == [other], "the other client's prompt was interrupted")
        #expect(try await historyStatus(ours) == nil, "our prompt ran")

        // Tidy up: stop the other one.
        var interrupt = HTTPClientRequest(url: base + "/interrupt")
        interrupt.method = .POST
        interrupt.body = .bytes(.init(string: #"{"prompt_id": "\#(other)"}"#))
        _ = try await ProviderHTTP.send(interrupt, client: ProviderHTTP.client, timeout: .seconds(10), provider: "test")
        _ = try await until(90) { try await queueIDs().running.isEmpty }
    }

    @Test func anInterruptOnTheServerEndsTheAttemptAtOnce() async throws {
        let id = UUID().uuidString.lowercased()
        let base = base
        Task {
            for _ in 0..<200 where (try? await queueIDs().running) != [id] { try? await Task.sleep(for: .milliseconds(100)) }
            var interrupt = HTTPClientRequest(url: base + "/interrupt")
            interrupt.method = .POST
            _ = try? await ProviderHTTP.send(interrupt, client: ProviderHTTP.client, timeout: .seconds(10), provider: "test")
        }
        let started = ContinuousClock.now
        do {
            _ = try await provider(Self.slow, timeout: .seconds(300)).generate(request(side: 2048, count: 4, id: id)) { _ in }
            Issue.record("an interrupted run must end the attempt")
        } catch ProviderError.retryable(let reason) {
            #expect(reason.contains("interrupted"), "\(reason)")
        }
        // At the next node, not at the 300 s timeout.
        #expect(ContinuousClock.now - started < .seconds(90))
    }
}
