import AsyncHTTPClient
import Domain
import Foundation
import Imaging
import NIOCore
import NIOFoundationCompat

/// Stability AI's Stable Image REST API (v2beta): `POST /v2beta/stable-image/generate/{ultra|core|sd3}`,
/// multipart, one image per call (so `count` images are `count` calls with seeds seed, seed+1, …),
/// an aspect ratio instead of pixel sizes, and image-to-image from the first reference image.
/// Answers are asked for as JSON (`{image, finish_reason, seed}`); `CONTENT_FILTERED` is blocked.
public struct StabilityProvider: ImageProvider {
    public enum Service: String, Sendable, CaseIterable { case ultra, core, sd3 }

    public struct Settings: Sendable {
        public var baseURL: URL
        public var apiKey: String
        public var service: Service
        /// For `sd3`: `sd3.5-large`, `sd3.5-large-turbo`, `sd3.5-medium`, …
        public var model: String?
        public var sizes: [ImageSize]
        public var maxCount: Int
        /// For image-to-image: how far the result may move from the reference (0…1).
        public var strength: Double
        public var timeout: Duration

        public init(
            baseURL: URL, apiKey: String, service: Service, model: String? = nil, sizes: [ImageSize], maxCount: Int,
            strength: Double = 0.6, timeout: Duration = .seconds(120)
        ) {
            self.baseURL = baseURL
            self.apiKey = apiKey
            self.service = service
            self.model = model
            self.sizes = sizes
            self.maxCount = maxCount
            self.strength = strength
            self.timeout = timeout
        }
    }

    public let id: String
    public let displayName: String
    public let capabilities: ProviderCapabilities
    let settings: Settings
    let client: HTTPClient

    public init(id: String, displayName: String, settings: Settings, client: HTTPClient = ProviderHTTP.client) {
        self.id = id
        self.displayName = displayName
        self.settings = settings
        self.client = client
        capabilities = ProviderCapabilities(
            referenceImages: settings.service != .core, sizes: settings.sizes, maxCount: settings.maxCount,
            negativePrompt: true, seed: true, progress: false, cancel: false, maxPromptLength: 10_000)
    }

    struct Answer: Decodable {
        let image: String?
        let finish_reason: String?
        let seed: UInt64?
    }

    struct ErrorAnswer: Decodable {
        let name: String?
        let errors: [String]?
    }

    static let name = "The image model"

    public func generate(_ request: GenerationRequest, progress: @Sendable (Double) -> Void) async throws -> [ProviderImage] {
        var images: [ProviderImage] = []
        for index in 0..<request.count {
            try Task.checkCancellation()
            images.append(try await one(request, seed: (request.seed &+ UInt64(index)) % 4_294_967_295))
            progress(Double(index + 1) / Double(request.count))
        }
        return images
    }

    func one(_ request: GenerationRequest, seed: UInt64) async throws -> ProviderImage {
        var form = MultipartForm()
        form.add("prompt", request.prompt)
        if !request.negativePrompt.isEmpty { form.add("negative_prompt", request.negativePrompt) }
        form.add("seed", String(seed))
        form.add("output_format", "png")
        if let model = settings.model, settings.service == .sd3 { form.add("model", model) }
        if let reference = request.referenceImages.first {
            if settings.service == .sd3 { form.add("mode", "image-to-image") }
            let format = ImageFormat.sniff(reference) ?? .png
            form.add("image", file: reference, filename: "reference.\(format.fileExtension)", contentType: format.mimeType)
            form.add("strength", String(settings.strength))
        } else {
            form.add("aspect_ratio", AspectRatio.closest(to: request.size, among: AspectRatio.stability))
        }
        var http = HTTPClientRequest(url: ProviderHTTP.url(settings.baseURL, "v2beta/stable-image/generate/" + settings.service.rawValue))
        http.method = .POST
        http.headers.add(name: "Authorization", value: "Bearer \(settings.apiKey)")
        http.headers.add(name: "Accept", value: "application/json")
        http.headers.add(name: "Content-Type", value: form.contentType)
        if !request.endUser.isEmpty { http.headers.add(name: "stability-client-user-id", value: request.endUser) }
        http.body = .bytes(ByteBuffer(data: form.encoded))

        let answer = try await ProviderHTTP.send(http, client: client, timeout: settings.timeout, provider: Self.name)
        guard answer.status == .ok else {
            let error = try? JSONDecoder().decode(ErrorAnswer.self, from: answer.body)
            if answer.status == .forbidden, error?.name == "content_moderation" {
                throw ProviderError.blocked("the request was flagged by the model's content moderation")
            }
            throw ProviderHTTP.failure(answer, provider: Self.name, detail: error?.errors?.first)
        }
        let decoded = try ProviderHTTP.decode(Answer.self, from: answer, provider: Self.name)
        if decoded.finish_reason == "CONTENT_FILTERED" {
            throw ProviderError.blocked("the image was filtered by the model's safety system")
        }
        guard let base64 = decoded.image, let bytes = Data(base64Encoded: base64) else {
            throw ProviderError.retryable("\(Self.name) sent no image")
        }
        return .encoded(bytes)
    }
}
