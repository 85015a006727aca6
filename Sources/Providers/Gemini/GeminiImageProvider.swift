import AsyncHTTPClient
import Domain
import Foundation
import Imaging
import NIOCore
import NIOFoundationCompat

/// Google's Gemini image models: `POST {base}/v1beta/models/{model}:generateContent` with the
/// prompt (and reference images as inline data) in `contents`, `responseModalities: ["IMAGE"]`
/// and an aspect ratio. One image per call. A refusal (`IMAGE_PROHIBITED_CONTENT`, `SAFETY`,
/// a prompt `blockReason`) is blocked, not failed.
public struct GeminiImageProvider: ImageProvider {
    public struct Settings: Sendable {
        /// e.g. `https://generativelanguage.googleapis.com`.
        public var baseURL: URL
        public var apiKey: String
        /// e.g. `gemini-2.5-flash-image`.
        public var model: String
        public var sizes: [ImageSize]
        public var maxCount: Int
        public var timeout: Duration

        public init(baseURL: URL, apiKey: String, model: String, sizes: [ImageSize], maxCount: Int, timeout: Duration = .seconds(120)) {
            self.baseURL = baseURL
            self.apiKey = apiKey
            self.model = model
            self.sizes = sizes
            self.maxCount = maxCount
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
            referenceImages: true, sizes: settings.sizes, maxCount: settings.maxCount, negativePrompt: false, seed: false,
            progress: false, cancel: false, maxPromptLength: 8000)
    }

    struct Body: Encodable {
        struct Content: Encodable { let parts: [Part] }
        struct Part: Encodable {
            let text: String?
            let inlineData: InlineData?
        }
        struct InlineData: Codable {
            let mimeType: String
            let data: String
        }
        struct GenerationConfig: Encodable {
            struct ImageConfig: Encodable { let aspectRatio: String }
            let responseModalities: [String]
            let imageConfig: ImageConfig
        }
        let contents: [Content]
        let generationConfig: GenerationConfig
    }

    struct Answer: Decodable {
        struct Candidate: Decodable {
            struct Content: Decodable {
                struct Part: Decodable { let inlineData: Body.InlineData? }
                let parts: [Part]?
            }
            let content: Content?
            let finishReason: String?
        }
        struct PromptFeedback: Decodable { let blockReason: String? }
        let candidates: [Candidate]?
        let promptFeedback: PromptFeedback?
    }

    struct ErrorAnswer: Decodable {
        struct Body: Decodable { let message: String? }
        let error: Body?
    }

    static let name = "The image model"
    static let refusals: Set<String> = ["IMAGE_PROHIBITED_CONTENT", "IMAGE_SAFETY", "SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII"]

    public func generate(_ request: GenerationRequest, progress: @Sendable (Double) -> Void) async throws -> [ProviderImage] {
        var images: [ProviderImage] = []
        for index in 0..<request.count {
            try Task.checkCancellation()
            images.append(try await one(request))
            progress(Double(index + 1) / Double(request.count))
        }
        return images
    }

    func one(_ request: GenerationRequest) async throws -> ProviderImage {
        let parts =
            [Body.Part(text: request.prompt, inlineData: nil)]
            + request.referenceImages.map {
                Body.Part(text: nil, inlineData: .init(mimeType: (ImageFormat.sniff($0) ?? .png).mimeType, data: $0.base64EncodedString()))
            }
        let body = Body(
            contents: [.init(parts: parts)],
            generationConfig: .init(
                responseModalities: ["IMAGE"],
                imageConfig: .init(aspectRatio: AspectRatio.closest(to: request.size, among: AspectRatio.gemini))))
        var http = HTTPClientRequest(url: ProviderHTTP.url(settings.baseURL, "v1beta/models/\(settings.model):generateContent"))
        http.method = .POST
        http.headers.add(name: "x-goog-api-key", value: settings.apiKey)
        http.headers.add(name: "Content-Type", value: "application/json")
        http.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))

        let answer = try await ProviderHTTP.send(http, client: client, timeout: settings.timeout, provider: Self.name)
        guard answer.status == .ok else {
            let message = (try? JSONDecoder().decode(ErrorAnswer.self, from: answer.body))?.error?.message
            throw ProviderHTTP.failure(answer, provider: Self.name, detail: message)
        }
        let decoded = try ProviderHTTP.decode(Answer.self, from: answer, provider: Self.name)
        if let reason = decoded.promptFeedback?.blockReason {
            throw ProviderError.blocked("the prompt was refused by the model's safety system (\(reason.lowercased()))")
        }
        let candidate = decoded.candidates?.first
        if let reason = candidate?.finishReason, Self.refusals.contains(reason) {
            throw ProviderError.blocked("the image was refused by the model's safety system (\(reason.lowercased()))")
        }
        guard let inline = candidate?.content?.parts?.compactMap(\.inlineData).first, let bytes = Data(base64Encoded: inline.data) else {
            throw ProviderError.permanent("\(Self.name) answered without an image")
        }
        return .encoded(bytes)
    }
}
