import Domain
import Foundation
import Providers
import Vapor

/// The models the studio offers, each with its provider, price and limits.
/// Today: the built-in engine. (The providers work reads a models file into this.)
public struct ModelCatalog: Sendable {
    public struct Entry: Sendable {
        /// The id people and API clients choose, e.g. `builtin`.
        public let id: String
        public let provider: any ImageProvider
        public let pricePerImage: Int
        /// How long one call to the provider may take before it counts as failed.
        public let timeout: Duration
        /// Attempts per generation, counting retries after retryable errors.
        public let maxAttempts: Int
        public let styles: [String]
        /// Another model's id to try when this one fails with a retryable error or its breaker is open.
        public let fallback: String?
        /// Who receives people's data when this model is called (nil: nobody, it runs here).
        public let processor: String?

        public init(
            id: String, provider: any ImageProvider, pricePerImage: Int, timeout: Duration, maxAttempts: Int, styles: [String],
            fallback: String? = nil, processor: String? = nil
        ) {
            self.id = id
            self.fallback = fallback
            self.processor = processor
            self.provider = provider
            self.pricePerImage = pricePerImage
            self.timeout = timeout
            self.maxAttempts = maxAttempts
            self.styles = styles
        }

        var displayName: String { provider.displayName }
        var capabilities: ProviderCapabilities { provider.capabilities }
    }

    public let entries: [Entry]

    public init(entries: [Entry]) {
        precondition(!entries.isEmpty, "a catalog offers at least one model")
        self.entries = entries
    }

    /// The model chosen when a request names none: the first.
    var defaultEntry: Entry { entries[0] }

    func entry(_ id: String) -> Entry? { entries.first { $0.id == id } }

    /// What made a generation's images, for people: the chosen model, or the fallback that
    /// stood in for it (so images from the built-in engine always say so).
    func madeBy(model: String, modelUsed: String?) -> String {
        let chosen = entry(model)?.displayName ?? model
        guard let used = modelUsed, used != model else { return chosen }
        return "\(entry(used)?.displayName ?? used), standing in for \(chosen)"
    }

    /// The models to try for a request, in order: the chosen one, then its fallback when the
    /// fallback can make the same request (size, count, reference images).
    func route(for entry: Entry, request: GenerationRequest) -> [Entry] {
        guard let fallback = entry.fallback.flatMap(self.entry), fallback.id != entry.id else { return [entry] }
        let capabilities = fallback.capabilities
        let fits =
            capabilities.sizes.contains(request.size) && capabilities.maxCount >= request.count
            && (request.referenceImages.isEmpty || capabilities.referenceImages)
        return fits ? [entry, fallback] : [entry]
    }

    public static let standard = standard(builtInDelay: .zero)

    /// How the privacy centre names the processor behind a remote model.
    static func processorName(_ definition: ModelDefinition) -> String {
        let service =
            switch definition.kind {
            case .openai: "OpenAI-compatible image API"
            case .stability: "Stability AI"
            case .gemini: "Google Gemini API"
            case .automatic1111: "Self-hosted Stable Diffusion server"
            case .replicate: "Replicate"
            case .comfyui: "Self-hosted ComfyUI server"
            case .builtin: "Pictor"
            }
        return definition.baseURL?.host.map { "\(service) (\($0))" } ?? service
    }

    /// The adapter for a remote model, from its definition (validated by `ModelsFile`).
    static func remoteProvider(
        _ definition: ModelDefinition, timeout: Duration, webhook: String? = nil, problems: ProblemReport = .ignored
    ) -> any ImageProvider {
        let model = definition.providerModel ?? ""
        let base = definition.baseURL!
        let key = definition.apiKey ?? ""
        let sizes = definition.sizes
        let count = definition.maxCount
        switch definition.kind {
        case .openai, .builtin:
            return OpenAIImagesProvider(
                id: definition.id, displayName: definition.name ?? "OpenAI \(model)",
                settings: .init(baseURL: base, apiKey: key, model: model, sizes: sizes, maxCount: count, timeout: timeout))
        case .stability:
            let service = StabilityProvider.Service(rawValue: model) ?? .sd3
            return StabilityProvider(
                id: definition.id, displayName: definition.name ?? "Stability \(model)",
                settings: .init(
                    baseURL: base, apiKey: key, service: service, model: service == .sd3 ? model : nil, sizes: sizes,
                    maxCount: count, timeout: timeout))
        case .gemini:
            return GeminiImageProvider(
                id: definition.id, displayName: definition.name ?? "Gemini \(model)",
                settings: .init(baseURL: base, apiKey: key, model: model, sizes: sizes, maxCount: count, timeout: timeout))
        case .replicate:
            return ReplicateProvider(
                id: definition.id, displayName: definition.name ?? "Replicate \(model)",
                settings: .init(baseURL: base, apiToken: key, model: model, sizes: sizes, maxCount: count, timeout: timeout, webhookURL: webhook),
                problems: problems)
        case .comfyui:
            return ComfyUIProvider(
                id: definition.id, displayName: definition.name ?? "ComfyUI workflow (self-hosted)",
                settings: .init(baseURL: base, workflow: definition.workflow ?? "{}", sizes: sizes, maxCount: count, timeout: timeout),
                problems: problems)
        case .automatic1111:
            return Automatic1111Provider(
                id: definition.id, displayName: definition.name ?? "Stable Diffusion (self-hosted)",
                settings: .init(baseURL: base, credentials: definition.apiKey, sizes: sizes, maxCount: count, timeout: timeout))
        }
    }

    /// The operator's models (MODELS_FILE), or the built-in engine alone when there is none.
    /// `problems` gives each model's adapter where to report trouble for the operator.
    static func configured(
        _ definitions: [ModelDefinition]?, builtInDelay: Duration, webhooks: URL? = nil,
        problems: @Sendable (String) -> ProblemReport = { _ in .ignored }
    ) -> ModelCatalog {
        guard let definitions else { return standard(builtInDelay: builtInDelay) }
        return ModelCatalog(
            entries: definitions.map { definition in
                let timeout = Duration.seconds(definition.timeoutSeconds)
                switch definition.kind {
                case .builtin:
                    return builtIn(
                        id: definition.id, price: definition.pricePerImage, timeout: timeout, maxAttempts: definition.maxAttempts,
                        delay: builtInDelay, fallback: definition.fallback)
                default:
                    return Entry(
                        id: definition.id,
                        provider: remoteProvider(
                            definition, timeout: timeout, webhook: webhooks.map { $0.absoluteString + "/replicate" },
                            problems: problems(definition.id)),
                        pricePerImage: definition.pricePerImage,
                        timeout: timeout, maxAttempts: definition.maxAttempts, styles: [], fallback: definition.fallback,
                        processor: processorName(definition))
                }
            })
    }

    public static func standard(builtInDelay: Duration) -> ModelCatalog {
        ModelCatalog(entries: [builtIn(id: "builtin", price: 1, timeout: .seconds(60), maxAttempts: 3, delay: builtInDelay)])
    }

    /// The built-in engine as a catalog entry; a demo delay per picture lengthens its timeout.
    static func builtIn(id: String, price: Int, timeout: Duration, maxAttempts: Int, delay: Duration, fallback: String? = nil) -> Entry {
        Entry(
            id: id, provider: BuiltInEngine(delayPerImage: delay), pricePerImage: price, timeout: timeout + delay * 4,
            maxAttempts: maxAttempts, styles: BuiltInEngine.styles, fallback: fallback)
    }
}

extension Application {
    /// Offers these models instead of the configured ones (benchmarks and embedding).
    public func offer(_ models: ModelCatalog) {
        pictor = pictor.with(models: models)
    }
}
