import Domain
import Foundation
import Providers
import Testing

@testable import App

@Suite struct ModelsFileTests {
    static let file = """
        {"models": [
          {"id": "gpt-image", "name": "OpenAI GPT Image", "provider": "openai", "model": "gpt-image-1",
           "baseURL": "https://api.openai.com/v1", "apiKeyEnv": "OPENAI_API_KEY", "price": 4,
           "sizes": ["1024x1024", "1536x1024"], "maxCount": 4, "timeoutSeconds": 90},
          {"id": "builtin", "provider": "builtin", "price": 0}
        ]}
        """

    @Test func aModelsFileDefinesTheCatalogWithKeysFromTheEnvironment() throws {
        let models = try ModelsFile.parse(Self.file, environment: ["OPENAI_API_KEY": "sk-live-abc"])
        #expect(models.map(\.id) == ["gpt-image", "builtin"])
        #expect(models[0].apiKey == "sk-live-abc" && models[0].providerModel == "gpt-image-1")
        #expect(models[0].sizes == [ImageSize(width: 1024, height: 1024), ImageSize(width: 1536, height: 1024)])
        #expect(models[0].timeoutSeconds == 90 && models[0].maxAttempts == 3)

        let catalog = ModelCatalog.configured(models, builtInDelay: .zero)
        #expect(catalog.defaultEntry.id == "gpt-image" && catalog.defaultEntry.pricePerImage == 4)
        #expect(catalog.defaultEntry.displayName == "OpenAI GPT Image")
        #expect(catalog.defaultEntry.capabilities.maxCount == 4 && !catalog.defaultEntry.capabilities.seed)
        #expect(catalog.entry("builtin")?.displayName == "Built-in preview engine (no AI model)")
    }

    @Test(arguments: [
        (#"{"models": []}"#, "names no models"),
        ("not json", "not a models file"),
        (
            #"{"models": [{"id": "x", "provider": "midjourney", "price": 1}]}"#,
            "\"provider\" must be one of: builtin, openai, stability, gemini, automatic1111, replicate, comfyui"
        ),
        (#"{"models": [{"id": "Bad Id", "provider": "builtin", "price": 1}]}"#, "needs an \"id\""),
        (#"{"models": [{"id": "a", "provider": "builtin", "price": 1}, {"id": "a", "provider": "builtin", "price": 1}]}"#, "used twice"),
        (#"{"models": [{"id": "a", "provider": "builtin"}]}"#, "needs a \"price\""),
        (#"{"models": [{"id": "a", "provider": "builtin", "price": 9223372036854775807}]}"#, "0 to 1000000"),
        (
            #"{"models": [{"id": "o", "provider": "openai", "model": "gpt-image-1", "baseURL": "https://x/v1", "apiKeyEnv": "MISSING_KEY", "price": 1, "sizes": ["1024x1024"]}]}"#,
            "MISSING_KEY is not set"
        ),
        (
            #"{"models": [{"id": "o", "provider": "openai", "model": "gpt-image-1", "baseURL": "https://x/v1", "apiKeyEnv": "K", "price": 1, "sizes": ["big"]}]}"#,
            "\"big\" is not a size"
        ),
        (#"{"models": [{"id": "a", "provider": "automatic1111", "price": 1, "sizes": ["512x512"]}]}"#, "needs a \"baseURL\""),
        (#"{"models": [{"id": "a", "provider": "builtin", "price": 1, "fallback": "b"}]}"#, "\"fallback\" must name another model"),
        (#"{"models": [{"id": "s", "provider": "stability", "model": "core", "price": 1, "sizes": ["1024x1024"]}]}"#, "needs \"apiKeyEnv\""),
    ])
    func problemsNameTheModelAndTheField(_ text: String, _ expected: String) {
        #expect(throws: ConfigError.self) { try ModelsFile.parse(text, environment: ["K": "key"]) }
        do {
            _ = try ModelsFile.parse(text, environment: ["K": "key"])
        } catch {
            #expect(error.variable == "MODELS_FILE")
            #expect(error.problem.contains(expected), "\(error.problem)")
        }
    }

    @Test func everyProviderKindBuildsItsAdapter() throws {
        let text = """
            {"models": [
              {"id": "sd", "provider": "stability", "model": "sd3.5-large", "apiKeyEnv": "K", "price": 6, "sizes": ["1344x768"]},
              {"id": "nano", "name": "Gemini Image", "provider": "gemini", "model": "gemini-2.5-flash-image", "apiKeyEnv": "K", "price": 3, "sizes": ["1024x1024"]},
              {"id": "gpu", "provider": "automatic1111", "baseURL": "http://10.0.0.5:7860", "price": 1, "sizes": ["512x512", "768x768"], "maxCount": 4},
              {"id": "flux", "provider": "replicate", "model": "black-forest-labs/flux-schnell", "apiKeyEnv": "K", "price": 2, "sizes": ["1024x1024"]}
            ]}
            """
        let catalog = ModelCatalog.configured(try ModelsFile.parse(text, environment: ["K": "key"]), builtInDelay: .zero)
        #expect(catalog.entry("sd")?.provider is StabilityProvider)
        #expect(catalog.entry("nano")?.provider is GeminiImageProvider && catalog.entry("nano")?.displayName == "Gemini Image")
        #expect(catalog.entry("gpu")?.provider is Automatic1111Provider && catalog.entry("gpu")?.capabilities.seed == true)
        #expect(catalog.entry("sd")?.capabilities.negativePrompt == true && catalog.entry("nano")?.capabilities.negativePrompt == false)
        #expect(catalog.entry("flux")?.provider is ReplicateProvider && catalog.entry("flux")?.processor == "Replicate (api.replicate.com)")
    }

    @Test func aComfyUIModelReadsItsWorkflowNextToTheModelsFile() throws {
        let text =
            #"{"models": [{"id": "comfy", "provider": "comfyui", "baseURL": "http://gpu:8188", "workflowFile": "flux.json", "price": 1, "sizes": ["1024x1024"]}]}"#
        let workflow = #"{"6": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}"}}, "3": {"inputs": {"seed": "{{seed}}"}}}"#
        let models = try ModelsFile.parse(text, environment: [:]) { name in
            guard name == "flux.json" else { throw CocoaError(.fileNoSuchFile) }
            return workflow
        }
        #expect(models.first?.workflow == workflow)
        let entry = try #require(ModelCatalog.configured(models, builtInDelay: .zero).entry("comfy"))
        #expect(entry.provider is ComfyUIProvider && entry.capabilities.seed && !entry.capabilities.negativePrompt)
        #expect(throws: ConfigError.self) { try ModelsFile.parse(text, environment: [:]) { _ in "{\"no\": \"placeholder\"}" } }
        #expect(throws: ConfigError.self) { try ModelsFile.parse(text, environment: [:]) { _ in throw CocoaError(.fileNoSuchFile) } }
    }

    @Test func theConfigurationReadsTheFileAndNeverLogsTheKey() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("models-\(UUID().uuidString).json")
        try Self.file.write(to: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: path) }
        let config = try AppConfig.load(environment: ["MODELS_FILE": path.path, "OPENAI_API_KEY": "sk-live-abc"])
        #expect(config.models?.count == 2)
        #expect(config.redactedSummary["models"] == "gpt-image,builtin")
        #expect(!config.redactedSummary.values.contains { $0.contains("sk-live") })
        #expect(throws: ConfigError.self) { try AppConfig.load(environment: ["MODELS_FILE": "/no/such/file.json"]) }
    }
}
