import Foundation

/// One model the studio offers, as the operator's models file describes it.
public struct ModelDefinition: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// The built-in preview engine (no network, no key).
        case builtin
        /// OpenAI's Images API or any OpenAI-compatible server.
        case openai
        /// Stability AI's Stable Image API (`model`: `ultra`, `core`, or an SD3 model id).
        case stability
        /// Google's Gemini image models.
        case gemini
        /// A self-hosted AUTOMATIC1111 / Forge / SD.Next server (`apiKeyEnv`, optional, holds `user:password`).
        case automatic1111
        /// Replicate (`model`: `owner/name` of an official model).
        case replicate
        /// A self-hosted ComfyUI server running the operator's workflow (`workflowFile`).
        case comfyui

        /// Where the provider answers when the file gives no `baseURL`.
        public var defaultBaseURL: URL? {
            switch self {
            case .builtin, .automatic1111, .comfyui: nil
            case .openai: URL(string: "https://api.openai.com/v1")
            case .stability: URL(string: "https://api.stability.ai")
            case .gemini: URL(string: "https://generativelanguage.googleapis.com")
            case .replicate: URL(string: "https://api.replicate.com")
            }
        }

        public var needsKey: Bool { ![.builtin, .automatic1111, .comfyui].contains(self) }
    }

    public var id: String
    public var name: String?
    public var kind: Kind
    /// The provider's own model id (e.g. `gpt-image-1`).
    public var providerModel: String?
    public var baseURL: URL?
    /// The secret, read from the environment variable the file names (never from the file).
    public var apiKey: String?
    public var pricePerImage: Int
    public var sizes: [ImageSize]
    public var maxCount: Int
    public var timeoutSeconds: Int
    public var maxAttempts: Int
    /// Another model's id to fail over to.
    public var fallback: String? = nil
    /// ComfyUI: the workflow (API format, with placeholders), read from `workflowFile`.
    public var workflow: String? = nil
}

/// Reads `MODELS_FILE` (JSON):
///
/// ```json
/// {"models": [
///   {"id": "builtin", "provider": "builtin", "price": 1},
///   {"id": "gpt-image", "name": "OpenAI GPT Image", "provider": "openai", "model": "gpt-image-1",
///    "baseURL": "https://api.openai.com/v1", "apiKeyEnv": "OPENAI_API_KEY", "price": 4,
///    "sizes": ["1024x1024", "1536x1024", "1024x1536"], "maxCount": 4, "timeoutSeconds": 120}
/// ]}
/// ```
/// Every problem names the model and the field, so an operator can fix it.
public enum ModelsFile {
    struct Entry: Decodable {
        let id: String?
        let name: String?
        let provider: String?
        let model: String?
        let baseURL: String?
        let apiKeyEnv: String?
        let price: Int?
        let sizes: [String]?
        let maxCount: Int?
        let timeoutSeconds: Int?
        let maxAttempts: Int?
        let fallback: String?
        let workflowFile: String?
    }

    struct File: Decodable {
        let models: [Entry]
    }

    public static let variable = "MODELS_FILE"

    /// `readFile` reads files the models file names (ComfyUI workflows), relative to it.
    public static func parse(
        _ text: String, environment: [String: String], readFile: (String) throws -> String = { try String(contentsOfFile: $0, encoding: .utf8) }
    ) throws(ConfigError) -> [ModelDefinition] {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(text.utf8))
        } catch {
            throw ConfigError(variable: variable, problem: "is not a models file: \(describe(error))")
        }
        guard !file.models.isEmpty else { throw ConfigError(variable: variable, problem: "names no models") }
        var seen = Set<String>()
        var definitions: [ModelDefinition] = []
        for (index, entry) in file.models.enumerated() {
            func problem(_ text: String) -> ConfigError {
                ConfigError(variable: variable, problem: "models[\(index)]\(entry.id.map { " (\($0))" } ?? ""): \(text)")
            }
            guard let id = entry.id, id.range(of: "^[a-z0-9][a-z0-9._-]{0,62}$", options: .regularExpression) != nil else {
                throw problem("needs an \"id\" of lowercase letters, digits, dots, dashes or underscores")
            }
            guard seen.insert(id).inserted else { throw problem("the id is used twice") }
            guard let kind = entry.provider.flatMap(ModelDefinition.Kind.init(rawValue:)) else {
                throw problem("\"provider\" must be one of: \(ModelDefinition.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            // Bounded: a price is multiplied by a count and summed into balances, and Swift traps on overflow.
            guard let price = entry.price, (0...1_000_000).contains(price) else {
                throw problem("needs a \"price\" in credits per image, 0 to 1000000")
            }
            var definition = ModelDefinition(
                id: id, name: entry.name, kind: kind, providerModel: entry.model, baseURL: nil, apiKey: nil,
                pricePerImage: price, sizes: [], maxCount: entry.maxCount ?? 1, timeoutSeconds: entry.timeoutSeconds ?? 120,
                maxAttempts: entry.maxAttempts ?? 3)
            guard (1...10).contains(definition.maxCount) else { throw problem("\"maxCount\" must be 1 to 10") }
            guard (1...3600).contains(definition.timeoutSeconds) else { throw problem("\"timeoutSeconds\" must be 1 to 3600") }
            guard (1...10).contains(definition.maxAttempts) else { throw problem("\"maxAttempts\" must be 1 to 10") }
            for text in entry.sizes ?? [] {
                guard let size = ImageSize(text: text), size.width > 0, size.height > 0 else {
                    throw problem("\"\(text)\" is not a size; write WIDTHxHEIGHT, e.g. 1024x1024")
                }
                definition.sizes.append(size)
            }
            if kind != .builtin {
                if ![.automatic1111, .comfyui].contains(kind), entry.model?.isEmpty ?? true { throw problem("needs the provider's \"model\" id") }
                if kind == .comfyui {
                    guard let path = entry.workflowFile else { throw problem("needs \"workflowFile\": the workflow in ComfyUI's API format") }
                    do {
                        definition.workflow = try readFile(path)
                    } catch {
                        throw problem("cannot read the workflow \(path)")
                    }
                    guard (try? JSONSerialization.jsonObject(with: Data(definition.workflow!.utf8))) is [String: Any] else {
                        throw problem("the workflow \(path) is not a JSON object (export it with \"Save (API format)\")")
                    }
                    guard definition.workflow!.contains("{{prompt}}") else { throw problem("the workflow has no {{prompt}} placeholder") }
                }
                guard !definition.sizes.isEmpty else { throw problem("needs \"sizes\" the model accepts") }
                guard let base = entry.baseURL.flatMap(URL.init(string:)) ?? kind.defaultBaseURL,
                    base.scheme == "https" || base.scheme == "http"
                else { throw problem("needs a \"baseURL\" (http or https)") }
                definition.baseURL = base
                if let name = entry.apiKeyEnv {
                    guard let key = environment[name], !key.isEmpty else { throw problem("the environment variable \(name) is not set") }
                    definition.apiKey = key
                } else if kind.needsKey {
                    throw problem("needs \"apiKeyEnv\": the environment variable holding its key")
                }
            }
            definition.fallback = entry.fallback
            definitions.append(definition)
        }
        for definition in definitions {
            guard let fallback = definition.fallback else { continue }
            guard fallback != definition.id, seen.contains(fallback) else {
                throw ConfigError(
                    variable: variable, problem: "\(definition.id): \"fallback\" must name another model in the file (\(fallback) is not one)")
            }
        }
        return definitions
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        case DecodingError.keyNotFound(let key, _): "missing \"\(key.stringValue)\""
        default: "it is not valid JSON"
        }
    }
}
