import AsyncHTTPClient
import Domain
import Foundation
import NIOCore
import NIOFoundationCompat
import Synchronization

/// A self-hosted ComfyUI server running the operator's workflow (API format). Placeholders in
/// the workflow's string values are filled per request: `{{prompt}}`, `{{negative_prompt}}`
/// (text, also inside longer strings), and `{{seed}}`, `{{width}}`, `{{height}}`, `{{batch_size}}`
/// (a value that is exactly one of these becomes a number). The `prompt_id` is the generation's
/// id, so a retried job first looks the prompt up and never queues it twice. Progress comes from
/// ComfyUI's WebSocket (`ComfyUIProgressSocket`); the end is read from `/history/{id}`, polled
/// (at once when the socket says the prompt is done, or stopped); outputs are fetched through
/// `/view`, and then the history entry (which holds the filled-in workflow, the prompt) is
/// deleted. A run interrupted on the server ends the attempt at once (retryable); a node's error
/// ends it as permanent. A prompt Pictor gives up on is cancelled, only that one, never
/// another's: with the jobs API where the server has it (`POST /api/jobs/{id}/cancel`, ComfyUI
/// 0.25 and later), else with the classic calls (`POST /queue {"delete": [id]}` for a pending
/// prompt, `POST /interrupt {"prompt_id": id}` when `/queue` shows it running). Which one the
/// server has is learnt from its answer (405 from an older server) and remembered; a cancel the
/// server refuses is reported to the operator (`problems`).
public struct ComfyUIProvider: ImageProvider {
    public struct Settings: Sendable {
        public var baseURL: URL
        /// The workflow in ComfyUI's API format, with placeholders.
        public var workflow: String
        public var sizes: [ImageSize]
        public var maxCount: Int
        public var timeout: Duration
        public var pollInterval: Duration

        public init(
            baseURL: URL, workflow: String, sizes: [ImageSize], maxCount: Int, timeout: Duration = .seconds(600), pollInterval: Duration = .seconds(1)
        ) {
            self.baseURL = baseURL
            self.workflow = workflow
            self.sizes = sizes
            self.maxCount = maxCount
            self.timeout = timeout
            self.pollInterval = pollInterval
        }
    }

    public let id: String
    public let displayName: String
    public let capabilities: ProviderCapabilities
    let settings: Settings
    let client: HTTPClient
    let problems: ProblemReport
    /// Whether this server cancels through the jobs API, once an answer told.
    private let cancelRoute = CancelRouteMemory()

    enum CancelRoute { case jobs, classic }

    final class CancelRouteMemory: Sendable {
        private let route = Mutex<CancelRoute?>(nil)
        func withLock<T>(_ body: (inout CancelRoute?) -> T) -> T { route.withLock { body(&$0) } }
    }

    public init(
        id: String, displayName: String, settings: Settings, client: HTTPClient = ProviderHTTP.client, problems: ProblemReport = .ignored
    ) {
        self.id = id
        self.displayName = displayName
        self.settings = settings
        self.client = client
        self.problems = problems
        capabilities = ProviderCapabilities(
            referenceImages: false, sizes: settings.sizes, maxCount: settings.maxCount,
            negativePrompt: settings.workflow.contains("{{negative_prompt}}"), seed: settings.workflow.contains("{{seed}}"),
            progress: true, cancel: true, maxPromptLength: 4000)
    }

    static let name = "The image server"

    /// The workflow with this request's values in place of the placeholders.
    public static func fill(_ workflow: String, with request: GenerationRequest) throws -> Any {
        guard let graph = try? JSONSerialization.jsonObject(with: Data(workflow.utf8)) else {
            throw ProviderError.permanent("the operator's ComfyUI workflow is not valid JSON")
        }
        let numbers: [String: UInt64] = [
            "{{seed}}": request.seed, "{{width}}": UInt64(request.size.width), "{{height}}": UInt64(request.size.height),
            "{{batch_size}}": UInt64(request.count),
        ]
        func walk(_ value: Any) -> Any {
            switch value {
            case let text as String:
                if let number = numbers[text] { return number }
                return text.replacingOccurrences(of: "{{prompt}}", with: request.prompt)
                    .replacingOccurrences(of: "{{negative_prompt}}", with: request.negativePrompt)
            case let object as [String: Any]: return object.mapValues(walk)
            case let list as [Any]: return list.map(walk)
            default: return value
            }
        }
        return walk(graph)
    }

    public func generate(_ request: GenerationRequest, progress: @Sendable (Double) -> Void) async throws -> [ProviderImage] {
        let promptID = UUID(uuidString: request.idempotencyKey)?.uuidString.lowercased() ?? UUID().uuidString.lowercased()
        let started = ContinuousClock.now
        // One client id per call: ComfyUI keeps one socket per client id, so generations sharing
        // one would take each other's progress socket (and its "done" signal) away.
        let clientID = UUID().uuidString.lowercased()
        var socket: ComfyUIProgressSocket?
        defer { socket?.close() }
        do {
            // A retry of the same generation: if ComfyUI already has it, wait for it instead of
            // queueing it again. Asked first: a server that is not there fails the call here,
            // within the connect timeout, before the progress socket waits for it too. A run
            // that was interrupted (our own cancel when an attempt gave up, or the operator's)
            // made nothing: its entry is removed and the prompt queued again.
            var known = false
            if let entry = try await history(promptID) {
                if entry.interrupted { try await deleteHistory(promptID) } else { known = true }
            }
            if !known { known = try await isQueued(promptID) }
            socket = await ComfyUIProgressSocket.open(baseURL: settings.baseURL, clientID: clientID, promptID: promptID)
            if !known {
                try await submit(try Self.fill(settings.workflow, with: request), promptID: promptID, clientID: clientID)
            }
            while true {
                try Task.checkCancellation()
                if let stop = socket?.stopped { throw Self.error(for: stop) }
                if let entry = try await history(promptID) {
                    if entry.interrupted { throw Self.error(for: .interrupted) }
                    if let error = entry.error { throw Self.error(for: .error(error)) }
                    if entry.completed {
                        progress(1)
                        var images: [ProviderImage] = []
                        for output in entry.images.prefix(request.count) { images.append(.encoded(try await view(output))) }
                        guard !images.isEmpty else { throw ProviderError.permanent("the workflow saved no images") }
                        // The entry holds the prompt: not kept on the server once the images are here.
                        await deleteHistoryQuietly(promptID)
                        return images
                    }
                }
                guard ContinuousClock.now - started < settings.timeout else {
                    throw ProviderError.retryable("\(Self.name) did not finish in time")
                }
                progress(socket?.fraction ?? 0.5)
                // Poll history at once when the socket says the prompt is done or stopped, else every interval.
                var waited = Duration.zero
                while waited < settings.pollInterval, socket?.finished != true, socket?.stopped == nil {
                    try await Task.sleep(for: .milliseconds(50))
                    waited += .milliseconds(50)
                    if let fraction = socket?.fraction { progress(fraction) }
                }
            }
        } catch {
            if !(error is ProviderError) || Task.isCancelled || (error as? ProviderError).map(isTimeout) == true {
                Task { await cancel(promptID) }
            }
            throw error
        }
    }

    /// A run that stopped early: interrupted is worth another attempt (the server was asked to
    /// stop, or restarted); a node's error will happen again.
    static func error(for stop: ComfyUIProgressSocket.Stop) -> ProviderError {
        switch stop {
        case .interrupted: .retryable("\(name) interrupted the run")
        case .error(let message): .permanent("\(name) could not run the workflow: \(message)")
        }
    }

    private func isTimeout(_ error: ProviderError) -> Bool {
        if case .retryable(let reason) = error { return reason.contains("in time") }
        return false
    }

    struct HistoryEntry {
        struct Image {
            let filename: String
            let subfolder: String
            let type: String
        }
        let completed: Bool
        /// Stopped by an interrupt (ComfyUI files it as an error with an `execution_interrupted` message).
        let interrupted: Bool
        let error: String?
        let images: [Image]
    }

    func history(_ promptID: String) async throws -> HistoryEntry? {
        let answer = try await ProviderHTTP.send(
            HTTPClientRequest(url: endpoint("history/\(promptID)")), client: client, timeout: requestTimeout, provider: Self.name)
        guard answer.status == .ok else { throw ProviderHTTP.failure(answer, provider: Self.name, detail: nil) }
        // Always a JSON object (`{}` for an unknown id); anything else is a proxy's page or a cut answer.
        guard let all = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any] else {
            throw ProviderError.retryable("\(Self.name) sent an answer Pictor could not read")
        }
        guard let entry = all[promptID] as? [String: Any] else { return nil }
        let status = entry["status"] as? [String: Any]
        let statusText = status?["status_str"] as? String
        let messages = (status?["messages"] as? [[Any]]) ?? []
        let interrupted = messages.contains { ($0.first as? String) == "execution_interrupted" }
        let error: String? =
            statusText == "error" && !interrupted
            ? (messages.compactMap { ($0.last as? [String: Any])?["exception_message"] as? String }.first ?? "execution error")
            : nil
        var images: [HistoryEntry.Image] = []
        let outputs = (entry["outputs"] as? [String: Any]) ?? [:]
        for node in outputs.keys.sorted() {
            for image in ((outputs[node] as? [String: Any])?["images"] as? [[String: Any]]) ?? [] where (image["type"] as? String) == "output" {
                images.append(
                    .init(
                        filename: image["filename"] as? String ?? "", subfolder: image["subfolder"] as? String ?? "", type: "output"))
            }
        }
        let completed = (status?["completed"] as? Bool) ?? (statusText == "success")
        return HistoryEntry(completed: completed, interrupted: interrupted, error: error, images: images)
    }

    func isQueued(_ promptID: String) async throws -> Bool {
        let queue = try await queuedIDs(timeout: requestTimeout)
        return queue.running.contains(promptID) || queue.pending.contains(promptID)
    }

    /// The prompt ids `GET /queue` lists as running and as waiting (`[number, prompt_id, …]`
    /// items); none when the server does not answer it.
    func queuedIDs(timeout: Duration) async throws -> (running: [String], pending: [String]) {
        let answer = try await ProviderHTTP.send(HTTPClientRequest(url: endpoint("queue")), client: client, timeout: timeout, provider: Self.name)
        guard answer.status == .ok, let queue = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any] else { return ([], []) }
        func ids(_ key: String) -> [String] { ((queue[key] as? [[Any]]) ?? []).compactMap { $0.count > 1 ? $0[1] as? String : nil } }
        return (ids("queue_running"), ids("queue_pending"))
    }

    func submit(_ graph: Any, promptID: String, clientID: String) async throws {
        let answer = try await post("prompt", json: ["prompt": graph, "client_id": clientID, "prompt_id": promptID], timeout: requestTimeout)
        guard answer.status == .ok else {
            let error = (try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any])?["error"] as? [String: Any]
            throw ProviderHTTP.failure(answer, provider: Self.name, detail: error?["message"] as? String)
        }
    }

    func view(_ image: HistoryEntry.Image) async throws -> Data {
        var components = URLComponents(string: endpoint("view"))!
        components.queryItems = [
            URLQueryItem(name: "filename", value: image.filename), URLQueryItem(name: "subfolder", value: image.subfolder),
            URLQueryItem(name: "type", value: image.type),
        ]
        return try await ProviderHTTP.fetch(components.url!.absoluteString, client: client, timeout: .seconds(60), provider: Self.name)
    }

    /// Removes a prompt's history entry (`POST /history {"delete": [id]}`; 200 whether or not
    /// the entry exists).
    func deleteHistory(_ promptID: String) async throws {
        let answer = try await post("history", json: ["delete": [promptID]], timeout: requestTimeout)
        guard answer.status == .ok else { throw ProviderHTTP.failure(answer, provider: Self.name, detail: nil) }
    }

    /// After the images are fetched: a failure to delete is the operator's to know, not a reason
    /// to fail a generation whose images are here.
    private func deleteHistoryQuietly(_ promptID: String) async {
        do {
            try await deleteHistory(promptID)
        } catch {
            problems("the history entry of a finished prompt could not be deleted (\(error)); it keeps the prompt's text on the server")
        }
    }

    /// Stops the prompt, only this one. Reports a cancel the server refused.
    func cancel(_ promptID: String) async {
        func refused(_ answer: ProviderHTTP.Answer, by path: String) {
            problems("a cancel was refused: HTTP \(answer.status.code) from \(path); the prompt may still run")
        }
        do {
            if cancelRoute.withLock({ $0 }) != .classic {
                let answer = try await post("api/jobs/\(promptID)/cancel", json: [:], timeout: .seconds(10))
                switch answer.status.code {
                case 200:
                    cancelRoute.withLock { $0 = .jobs }
                    return
                case 404, 405:
                    // No jobs API (ComfyUI before 0.25 answers 405, `Allow: GET,HEAD`): the classic calls.
                    cancelRoute.withLock { $0 = .classic }
                default:
                    refused(answer, by: "/api/jobs/{id}/cancel")
                    return
                }
            }
            // Pending: taken out of the queue. Running: interrupted, but only if it is the one
            // running (ComfyUI before September 2025 ignores `prompt_id` and interrupts whatever runs).
            let dequeued = try await post("queue", json: ["delete": [promptID]], timeout: .seconds(10))
            guard dequeued.status == .ok else { return refused(dequeued, by: "/queue") }
            guard try await queuedIDs(timeout: .seconds(10)).running.contains(promptID) else { return }
            let interrupted = try await post("interrupt", json: ["prompt_id": promptID], timeout: .seconds(10))
            if interrupted.status != .ok { refused(interrupted, by: "/interrupt") }
        } catch {
            problems("a cancel could not be sent (\(error)); the prompt may still run")
        }
    }

    private func post(_ path: String, json: [String: Any], timeout: Duration) async throws -> ProviderHTTP.Answer {
        var http = HTTPClientRequest(url: endpoint(path))
        http.method = .POST
        http.headers.add(name: "Content-Type", value: "application/json")
        http.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: json)))
        return try await ProviderHTTP.send(http, client: client, timeout: timeout, provider: Self.name)
    }

    /// One request to the server: never longer than the whole call may take.
    private var requestTimeout: Duration { min(.seconds(30), settings.timeout) }

    private func endpoint(_ path: String) -> String {
        ProviderHTTP.url(settings.baseURL, path)
    }
}
