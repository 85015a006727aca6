import AsyncHTTPClient
import Domain
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Synchronization

/// Replicate: `POST /v1/models/{owner}/{name}/predictions` with `Prefer: wait=N` (the answer
/// comes at once when the model is quick), then `GET /v1/predictions/{id}` until it ends; a
/// verified webhook (`ReplicateWebhook`) wakes the wait early. When Pictor gives up (timeout,
/// the owner cancelled, shutdown) it calls `POST /v1/predictions/{id}/cancel`. Outputs are
/// URLs that expire after an hour: they are downloaded at once. The input follows FLUX-style
/// models (`prompt`, `aspect_ratio`, `num_outputs`, `seed`, `output_format`).
public struct ReplicateProvider: ImageProvider {
    public struct Settings: Sendable {
        public var baseURL: URL
        public var apiToken: String
        /// `owner/name` of an official model, e.g. `black-forest-labs/flux-schnell`.
        public var model: String
        public var sizes: [ImageSize]
        public var maxCount: Int
        /// Seconds Replicate may hold the create request open (1…60).
        public var waitSeconds: Int
        public var pollInterval: Duration
        public var timeout: Duration
        /// Where Replicate should send webhooks (Pictor's `/webhooks/replicate`), if reachable.
        public var webhookURL: String?

        public init(
            baseURL: URL, apiToken: String, model: String, sizes: [ImageSize], maxCount: Int, waitSeconds: Int = 30,
            pollInterval: Duration = .seconds(1), timeout: Duration = .seconds(300), webhookURL: String? = nil
        ) {
            self.baseURL = baseURL
            self.apiToken = apiToken
            self.model = model
            self.sizes = sizes
            self.maxCount = maxCount
            self.waitSeconds = min(max(waitSeconds, 1), 60)
            self.pollInterval = pollInterval
            self.timeout = timeout
            self.webhookURL = webhookURL
        }
    }

    public let id: String
    public let displayName: String
    public let capabilities: ProviderCapabilities
    let settings: Settings
    let client: HTTPClient
    let signals: PredictionSignals
    let problems: ProblemReport

    public init(
        id: String, displayName: String, settings: Settings, signals: PredictionSignals = .shared, client: HTTPClient = ProviderHTTP.client,
        problems: ProblemReport = .ignored
    ) {
        self.id = id
        self.displayName = displayName
        self.settings = settings
        self.signals = signals
        self.client = client
        self.problems = problems
        capabilities = ProviderCapabilities(
            referenceImages: false, sizes: settings.sizes, maxCount: settings.maxCount, negativePrompt: false, seed: true,
            progress: true, cancel: true, maxPromptLength: 4000)
    }

    struct Create: Encodable {
        struct Input: Encodable {
            let prompt: String
            let aspect_ratio: String
            let num_outputs: Int
            let seed: UInt64
            let output_format: String
        }
        let input: Input
        let webhook: String?
        let webhook_events_filter: [String]?
    }

    struct Prediction: Decodable {
        let id: String
        let status: String
        let output: Output?
        let error: String?
    }

    /// Models answer with one URL or a list of them.
    enum Output: Decodable {
        case urls([String])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let list = try? container.decode([String].self) { self = .urls(list) } else { self = .urls([try container.decode(String.self)]) }
        }

        var urls: [String] {
            switch self {
            case .urls(let urls): urls
            }
        }
    }

    static let name = "The image model"
    /// A prediction in one of these states changes no more (`aborted`: stopped before it ran).
    static let finalStates: Set<String> = ["succeeded", "failed", "canceled", "aborted"]
    static let ratios = ["1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"]

    public func generate(_ request: GenerationRequest, progress: @Sendable (Double) -> Void) async throws -> [ProviderImage] {
        // The creation is not cancelled with the call: cut off, it would leave a prediction
        // running (and billed) whose id Pictor never learnt. A call given up meanwhile finds
        // out just below, and cancels the prediction by its id.
        let creating = Task { try await create(request) }
        var prediction = try await creating.value
        let started = ContinuousClock.now
        do {
            while !Self.finalStates.contains(prediction.status) {
                try Task.checkCancellation()
                guard ContinuousClock.now - started < settings.timeout else {
                    throw ProviderError.retryable("\(Self.name) did not finish in time")
                }
                progress(prediction.status == "processing" ? 0.5 : 0.1)
                await signals.wait(for: prediction.id, upTo: settings.pollInterval)
                do {
                    prediction = try await fetch(prediction.id)
                } catch ProviderError.retryable {
                    // One failed look (a 502, a 429, a dropped connection) says nothing about the
                    // prediction: look again until the deadline, rather than cancel a healthy
                    // prediction and pay for a new one on the retry.
                    continue
                }
            }
        } catch {
            let id = prediction.id
            Task { await cancel(id) }  // stop paying for a prediction nobody will read
            throw error
        }
        switch prediction.status {
        case "succeeded":
            var images: [ProviderImage] = []
            for url in prediction.output?.urls ?? [] {
                images.append(.encoded(try await ProviderHTTP.fetchLinked(url, from: settings.baseURL, timeout: .seconds(60), provider: Self.name)))
            }
            return images
        case "canceled":
            throw ProviderError.cancelled
        case "aborted":
            // Ended by Replicate before it ran (its own deadline, or capacity).
            throw ProviderError.retryable("\(Self.name) stopped the prediction before it ran")
        default:
            let message = prediction.error ?? "no reason given"
            let lowered = message.lowercased()
            if lowered.contains("nsfw") || lowered.contains("sensitive") || lowered.contains("safety") {
                throw ProviderError.blocked("the model's safety checker flagged the result")
            }
            throw ProviderError.permanent("\(Self.name) failed: \(String(message.prefix(200)))")
        }
    }

    func create(_ request: GenerationRequest) async throws -> Prediction {
        var http = HTTPClientRequest(url: endpoint("v1/models/\(settings.model)/predictions"))
        http.method = .POST
        authorize(&http)
        http.headers.add(name: "Content-Type", value: "application/json")
        http.headers.add(name: "Prefer", value: "wait=\(settings.waitSeconds)")
        let body = Create(
            input: .init(
                prompt: request.prompt, aspect_ratio: AspectRatio.closest(to: request.size, among: Self.ratios),
                num_outputs: request.count, seed: request.seed % 4_294_967_296, output_format: "png"),
            webhook: settings.webhookURL, webhook_events_filter: settings.webhookURL == nil ? nil : ["completed"])
        http.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))
        let timeout = min(Duration.seconds(settings.waitSeconds + 15), settings.timeout)
        return try await decode(
            try await ProviderHTTP.send(http, client: client, timeout: timeout, provider: Self.name), expect: [.created, .accepted, .ok])
    }

    func fetch(_ id: String) async throws -> Prediction {
        var http = HTTPClientRequest(url: endpoint("v1/predictions/\(id)"))
        authorize(&http)
        return try await decode(
            try await ProviderHTTP.send(http, client: client, timeout: min(.seconds(30), settings.timeout), provider: Self.name), expect: [.ok])
    }

    /// Cancels the prediction (200 with the prediction); a refusal or no answer is reported to
    /// the operator: the prediction may run on, and be billed.
    func cancel(_ id: String) async {
        var http = HTTPClientRequest(url: endpoint("v1/predictions/\(id)/cancel"))
        http.method = .POST
        authorize(&http)
        do {
            let answer = try await ProviderHTTP.send(http, client: client, timeout: .seconds(10), provider: Self.name)
            if answer.status != .ok {
                problems("a cancel was refused: HTTP \(answer.status.code) from /v1/predictions/{id}/cancel; the prediction may run on and be billed")
            }
        } catch {
            problems("a cancel could not be sent (\(error)); the prediction may run on and be billed")
        }
    }

    private func decode(_ answer: ProviderHTTP.Answer, expect: [HTTPResponseStatus]) async throws -> Prediction {
        guard expect.contains(answer.status) else {
            let detail = (try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any])?["detail"] as? String
            throw ProviderHTTP.failure(answer, provider: Self.name, detail: detail)
        }
        return try ProviderHTTP.decode(Prediction.self, from: answer, provider: Self.name)
    }

    private func endpoint(_ path: String) -> String {
        ProviderHTTP.url(settings.baseURL, path)
    }

    private func authorize(_ request: inout HTTPClientRequest) {
        request.headers.add(name: "Authorization", value: "Bearer \(settings.apiToken)")
    }
}

/// Wakes a prediction's wait when its webhook arrives (in this process).
public final class PredictionSignals: Sendable {
    public static let shared = PredictionSignals()

    private struct State {
        /// Who waits for which prediction; an id with nobody waiting has no entry.
        var waiters: [String: [UUID: CheckedContinuation<Void, Never>]] = [:]
        /// Arrivals nobody was waiting for yet (the webhook beat the wait): the next wait returns at once.
        var early: Set<String> = []
    }

    /// How many predictions have someone waiting (tests look: a wait that ended leaves nothing).
    var predictionsWaitedFor: Int { state.withLock { $0.waiters.count } }

    private let state = Mutex(State())

    public init() {}

    /// Returns when `arrived(id)` is called or after `timeout`, whichever comes first.
    public func wait(for id: String, upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.nextArrival(of: id) }
            await group.next()
            group.cancelAll()
        }
    }

    public func arrived(_ id: String) {
        let woken = state.withLock { state -> [UUID: CheckedContinuation<Void, Never>] in
            guard let waiting = state.waiters.removeValue(forKey: id), !waiting.isEmpty else {
                if state.early.count >= 10_000 { state.early.removeAll() }
                state.early.insert(id)
                return [:]
            }
            return waiting
        }
        for waiter in woken.values { waiter.resume() }
    }

    private func nextArrival(of id: String) async {
        let token = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // Under the lock: either this sees the cancellation (set before `onCancel` runs),
                // or `onCancel`, coming after, finds the waiter here.
                let resumeNow = state.withLock { state -> Bool in
                    if Task.isCancelled || state.early.remove(id) != nil { return true }
                    state.waiters[id, default: [:]][token] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiting = state.withLock { state -> CheckedContinuation<Void, Never>? in
                let continuation = state.waiters[id]?.removeValue(forKey: token)
                if state.waiters[id]?.isEmpty == true { state.waiters[id] = nil }
                return continuation
            }
            waiting?.resume()
        }
    }
}
