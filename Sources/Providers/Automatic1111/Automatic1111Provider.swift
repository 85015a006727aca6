import AsyncHTTPClient
import Domain
import Foundation
import NIOCore
import NIOFoundationCompat

/// AUTOMATIC1111's web UI API (also Forge and SD.Next): `POST /sdapi/v1/txt2img`, or
/// `/sdapi/v1/img2img` with the first reference image; progress from `GET /sdapi/v1/progress`
/// while the request runs. HTTP Basic auth when the server runs with `--api-auth user:password`.
/// A request Pictor gives up on (timeout, cancellation) is left to finish on the server, its
/// answer unread: the server runs one job at a time and queues the rest, and its only way to
/// stop one, `POST /sdapi/v1/interrupt`, stops whatever is running — perhaps another generation,
/// which would then come back half-painted as if it had succeeded.
public struct Automatic1111Provider: ImageProvider {
    public struct Settings: Sendable {
        public var baseURL: URL
        /// `user:password` for `--api-auth`, or nil.
        public var credentials: String?
        public var sizes: [ImageSize]
        public var maxCount: Int
        public var steps: Int
        public var cfgScale: Double
        public var samplerName: String?
        /// How much an img2img result may depart from the reference (0…1).
        public var denoisingStrength: Double
        public var timeout: Duration
        public var progressInterval: Duration

        public init(
            baseURL: URL, credentials: String? = nil, sizes: [ImageSize], maxCount: Int, steps: Int = 25, cfgScale: Double = 7,
            samplerName: String? = nil, denoisingStrength: Double = 0.6, timeout: Duration = .seconds(300),
            progressInterval: Duration = .seconds(1)
        ) {
            self.baseURL = baseURL
            self.credentials = credentials
            self.sizes = sizes
            self.maxCount = maxCount
            self.steps = steps
            self.cfgScale = cfgScale
            self.samplerName = samplerName
            self.denoisingStrength = denoisingStrength
            self.timeout = timeout
            self.progressInterval = progressInterval
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
            referenceImages: true, sizes: settings.sizes, maxCount: settings.maxCount, negativePrompt: true, seed: true,
            progress: true, cancel: false, maxPromptLength: 4000)
    }

    struct Body: Encodable {
        let prompt: String
        let negative_prompt: String
        let seed: UInt64
        let width: Int
        let height: Int
        let batch_size: Int
        let n_iter: Int
        let steps: Int
        let cfg_scale: Double
        let sampler_name: String?
        let send_images: Bool
        let save_images: Bool
        let do_not_save_grid: Bool
        let init_images: [String]?
        let denoising_strength: Double?
    }

    struct Answer: Decodable {
        let images: [String]
    }

    struct Progress: Decodable {
        let progress: Double
    }

    static let name = "The image server"

    public func generate(_ request: GenerationRequest, progress: @Sendable (Double) -> Void) async throws -> [ProviderImage] {
        let reference = request.referenceImages.first
        var http = HTTPClientRequest(url: endpoint(reference == nil ? "sdapi/v1/txt2img" : "sdapi/v1/img2img"))
        http.method = .POST
        authorize(&http)
        http.headers.add(name: "Content-Type", value: "application/json")
        let body = Body(
            prompt: request.prompt, negative_prompt: request.negativePrompt,
            seed: request.seed % 4_294_967_296,  // the server's seeds are 32-bit
            width: request.size.width, height: request.size.height, batch_size: request.count, n_iter: 1,
            steps: settings.steps, cfg_scale: settings.cfgScale, sampler_name: settings.samplerName,
            send_images: true, save_images: false, do_not_save_grid: true,
            init_images: reference.map { [$0.base64EncodedString()] },
            denoising_strength: reference == nil ? nil : settings.denoisingStrength)
        http.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))

        let answer = try await withoutActuallyEscaping(progress) { report in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await watchProgress(report) }
                defer { group.cancelAll() }
                return try await ProviderHTTP.send(http, client: client, timeout: settings.timeout, provider: Self.name)
            }
        }
        guard answer.status == .ok else {
            let detail = (try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any])?["detail"] as? String
            throw ProviderHTTP.failure(answer, provider: Self.name, detail: detail)
        }
        let decoded = try ProviderHTTP.decode(Answer.self, from: answer, provider: Self.name)
        // With a grid enabled on the server, the grid comes first: keep the last `count` images.
        return decoded.images.suffix(request.count).compactMap { Data(base64Encoded: $0).map(ProviderImage.encoded) }
    }

    private func watchProgress(_ progress: @Sendable (Double) -> Void) async {
        while (try? await Task.sleep(for: settings.progressInterval)) != nil {
            var http = HTTPClientRequest(url: endpoint("sdapi/v1/progress?skip_current_image=true"))
            authorize(&http)
            guard let answer = try? await ProviderHTTP.send(http, client: client, timeout: .seconds(5), provider: Self.name),
                answer.status == .ok, let value = try? JSONDecoder().decode(Progress.self, from: answer.body)
            else { continue }
            if value.progress > 0 { progress(min(value.progress, 0.99)) }
        }
    }

    private func endpoint(_ path: String) -> String {
        ProviderHTTP.url(settings.baseURL, path)
    }

    private func authorize(_ request: inout HTTPClientRequest) {
        if let credentials = settings.credentials {
            request.headers.add(name: "Authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
        }
    }
}
