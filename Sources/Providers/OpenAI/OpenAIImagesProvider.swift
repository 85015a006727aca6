import AsyncHTTPClient
import Domain
import Foundation
import Imaging
import NIOCore
import NIOFoundationCompat

/// OpenAI's Images API, or any server that speaks it ("OpenAI-compatible"): text to image with
/// `POST {base}/images/generations`, and with reference images `POST {base}/images/edits`
/// (multipart). Images come back as base64 (`b64_json`) or as a URL, which is fetched at once
/// (provider URLs expire). There is no seed, negative prompt or progress in this API.
public struct OpenAIImagesProvider: ImageProvider {
    public struct Settings: Sendable {
        /// e.g. `https://api.openai.com/v1` (no trailing slash needed).
        public var baseURL: URL
        public var apiKey: String
        /// The provider's model id, e.g. `gpt-image-1` or `dall-e-3`.
        public var model: String
        public var sizes: [ImageSize]
        public var maxCount: Int
        /// `low`, `medium`, `high` or `auto`; nil leaves the provider's default.
        public var quality: String?
        public var timeout: Duration

        public init(
            baseURL: URL, apiKey: String, model: String, sizes: [ImageSize], maxCount: Int, quality: String? = nil,
            timeout: Duration = .seconds(120)
        ) {
            self.baseURL = baseURL
            self.apiKey = apiKey
            self.model = model
            self.sizes = sizes
            self.maxCount = maxCount
            self.quality = quality
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
        let dallE = settings.model.hasPrefix("dall-e")
        self.capabilities = ProviderCapabilities(
            referenceImages: !dallE, sizes: settings.sizes, maxCount: settings.maxCount, negativePrompt: false, seed: false,
            progress: false, cancel: false,
            maxPromptLength: settings.model == "dall-e-2" ? 1000 : settings.model == "dall-e-3" ? 4000 : 32000)
    }

    struct GenerationBody: Encodable {
        let model: String
        let prompt: String
        let n: Int
        let size: String
        let quality: String?
        let user: String?
        /// Only the DALL·E models take it; GPT image models always answer in base64.
        let response_format: String?
    }

    struct Answer: Decodable {
        struct Item: Decodable {
            let b64_json: String?
            let url: String?
        }
        let data: [Item]
    }

    struct ErrorAnswer: Decodable {
        struct Body: Decodable {
            let message: String?
            let code: String?
            let type: String?
        }
        let error: Body
    }

    static let name = "The image model"

    public func generate(_ request: GenerationRequest, progress: @Sendable (Double) -> Void) async throws -> [ProviderImage] {
        let answer = try await ProviderHTTP.send(
            request.referenceImages.isEmpty ? generation(request) : edit(request),
            client: client, timeout: settings.timeout, provider: Self.name)
        guard answer.status == .ok else { throw Self.failure(answer) }
        let decoded = try ProviderHTTP.decode(Answer.self, from: answer, provider: Self.name)
        guard !decoded.data.isEmpty else { throw ProviderError.retryable("\(Self.name) sent an answer Pictor could not read") }
        var images: [ProviderImage] = []
        for item in decoded.data {
            if let base64 = item.b64_json, let bytes = Data(base64Encoded: base64) {
                images.append(.encoded(bytes))
            } else if let url = item.url {
                images.append(
                    .encoded(try await ProviderHTTP.fetchLinked(url, from: settings.baseURL, timeout: settings.timeout, provider: Self.name)))
            }
        }
        progress(1)
        return images
    }

    func generation(_ request: GenerationRequest) throws -> HTTPClientRequest {
        var http = HTTPClientRequest(url: endpoint("images/generations"))
        http.method = .POST
        authorize(&http)
        http.headers.add(name: "Content-Type", value: "application/json")
        let body = GenerationBody(
            model: settings.model, prompt: request.prompt, n: request.count, size: request.size.description,
            quality: settings.quality, user: request.endUser.isEmpty ? nil : request.endUser,
            response_format: settings.model.hasPrefix("dall-e") ? "b64_json" : nil)
        http.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))
        return http
    }

    func edit(_ request: GenerationRequest) -> HTTPClientRequest {
        var http = HTTPClientRequest(url: endpoint("images/edits"))
        http.method = .POST
        authorize(&http)
        var form = MultipartForm()
        form.add("model", settings.model)
        form.add("prompt", request.prompt)
        form.add("n", String(request.count))
        form.add("size", request.size.description)
        if let quality = settings.quality { form.add("quality", quality) }
        if !request.endUser.isEmpty { form.add("user", request.endUser) }
        for (index, image) in request.referenceImages.enumerated() {
            let format = ImageFormat.sniff(image) ?? .png
            form.add("image[]", file: image, filename: "reference-\(index + 1).\(format.fileExtension)", contentType: format.mimeType)
        }
        http.headers.add(name: "Content-Type", value: form.contentType)
        http.body = .bytes(ByteBuffer(data: form.encoded))
        return http
    }

    static func failure(_ answer: ProviderHTTP.Answer) -> ProviderError {
        let error = (try? JSONDecoder().decode(ErrorAnswer.self, from: answer.body))?.error
        if answer.status == .badRequest, let code = error?.code, ["content_policy_violation", "moderation_blocked"].contains(code) {
            return .blocked("the request was refused by the model's content policy")
        }
        return ProviderHTTP.failure(answer, provider: name, detail: error?.message)
    }

    private func endpoint(_ path: String) -> String {
        ProviderHTTP.url(settings.baseURL, path)
    }

    private func authorize(_ request: inout HTTPClientRequest) {
        request.headers.add(name: "Authorization", value: "Bearer \(settings.apiKey)")
    }
}
