import Domain
import Foundation
import NIOConcurrencyHelpers
import Providers
import Testing
import Vapor

private let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 9, 9])
private let grid = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 7, 7])

@Suite struct Automatic1111ProviderTests {
    static func provider(_ base: String, timeout: Duration = .seconds(10)) -> Automatic1111Provider {
        Automatic1111Provider(
            id: "a1111", displayName: "My GPU",
            settings: .init(
                baseURL: URL(string: base)!, credentials: "pictor:gpu-pass", sizes: [ImageSize(width: 512, height: 512)], maxCount: 4,
                steps: 20, timeout: timeout, progressInterval: .milliseconds(100)))
    }

    @Test func txt2imgSendsTheDocumentedRequestAndReportsProgress() async throws {
        // The picture is ready once progress has been asked for twice (so the first answer
        // has been read), not after a fixed time that a busy machine may not poll within.
        let polls = NIOLockedValueBox(0)
        try await withFakeServer({ app in
            app.post("sdapi", "v1", "txt2img") { _ async throws -> Response in
                for _ in 0..<200 where polls.withLockedValue({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(50)) }
                let images = [grid, png, png].map { "\"\($0.base64EncodedString())\"" }.joined(separator: ",")
                return Response(status: .ok, body: .init(string: #"{"images":[\#(images)],"parameters":{},"info":"{\"seed\": 1}"}"#))
            }
            app.get("sdapi", "v1", "progress") { _ in
                polls.withLockedValue { $0 += 1 }
                return Response(status: .ok, body: .init(string: #"{"progress":0.5,"eta_relative":1.2,"state":{"job_count":1}}"#))
            }
        }) { server in
            let reported = NIOLockedValueBox<[Double]>([])
            let request = GenerationRequest(
                prompt: "a red barn", negativePrompt: "blurry", size: ImageSize(width: 512, height: 512), count: 2,
                seed: 4_294_967_296 + 42)
            let images = try await Self.provider(server.baseURL).generate(request) { value in reported.withLockedValue { $0.append(value) } }
            #expect(images == [.encoded(png), .encoded(png)])  // the grid is dropped
            #expect(reported.withLockedValue { $0 }.contains(0.5))
            let sent = try #require(server.received.first { $0.path == "/sdapi/v1/txt2img" })
            #expect(sent.headers.first(name: "Authorization") == "Basic " + Data("pictor:gpu-pass".utf8).base64EncodedString())
            let json = try #require(sent.json)
            #expect(json["prompt"] as? String == "a red barn" && json["negative_prompt"] as? String == "blurry")
            #expect(json["seed"] as? Int == 42 && json["width"] as? Int == 512 && json["height"] as? Int == 512)
            #expect(json["batch_size"] as? Int == 2 && json["steps"] as? Int == 20)
            #expect(json["do_not_save_grid"] as? Bool == true && json["save_images"] as? Bool == false)
            #expect(json["init_images"] == nil)
        }
    }

    @Test func aReferenceImageMakesItImg2img() async throws {
        try await withFakeServer({ app in
            app.post("sdapi", "v1", "img2img") { _ in
                Response(status: .ok, body: .init(string: #"{"images":["\#(png.base64EncodedString())"],"parameters":{},"info":"{}"}"#))
            }
        }) { server in
            var request = GenerationRequest(prompt: "same, at night", size: ImageSize(width: 512, height: 512), seed: 1)
            request.referenceImages = [Data("reference-bytes".utf8)]
            _ = try await Self.provider(server.baseURL).generate(request) { _ in }
            let json = try #require(server.received.first { $0.path == "/sdapi/v1/img2img" }?.json)
            #expect(json["init_images"] as? [String] == [Data("reference-bytes".utf8).base64EncodedString()])
            #expect(json["denoising_strength"] as? Double == 0.6)
        }
    }

    /// A request given up on is left to finish: `/interrupt` would stop whatever the server runs,
    /// perhaps another generation queued before this one, which would come back half-painted.
    @Test func aTimedOutJobIsLeftToFinishRatherThanInterruptingWhateverRuns() async throws {
        try await withFakeServer({ app in
            app.post("sdapi", "v1", "txt2img") { _ async throws -> Response in
                try await Task.sleep(for: .seconds(30))
                return Response(status: .ok)
            }
            app.post("sdapi", "v1", "interrupt") { _ in Response(status: .ok) }
        }) { server in
            await #expect(throws: ProviderError.self) {
                _ = try await Self.provider(server.baseURL, timeout: .seconds(1))
                    .generate(GenerationRequest(prompt: "x", size: ImageSize(width: 512, height: 512), seed: 1)) { _ in }
            }
            try await Task.sleep(for: .milliseconds(500))
            #expect(!server.received.contains { $0.path == "/sdapi/v1/interrupt" })
        }
    }

    @Test func badCredentialsArePermanent() async throws {
        try await withFakeServer({ app in
            // AUTOMATIC1111 (modules/api/api.py) rewrites every HTTPException through its own
            // handler: this body, and no `WWW-Authenticate`.
            app.post("sdapi", "v1", "txt2img") { _ in
                Response(
                    status: .unauthorized, headers: ["Content-Type": "application/json"],
                    body: .init(string: #"{"error":"HTTPException","detail":"Incorrect username or password","body":"","errors":""}"#))
            }
        }) { server in
            do {
                _ = try await Self.provider(server.baseURL).generate(
                    GenerationRequest(prompt: "x", size: ImageSize(width: 512, height: 512), seed: 1)
                ) { _ in }
                Issue.record("401 must fail")
            } catch ProviderError.permanent(let reason) {
                #expect(reason.contains("credentials") && !reason.contains("gpu-pass"))
            }
        }
    }
}

@Suite struct StabilityProviderTests {
    static func provider(_ base: String) -> StabilityProvider {
        StabilityProvider(
            id: "sd3", displayName: "Stable Diffusion 3.5",
            settings: .init(
                baseURL: URL(string: base)!, apiKey: "sk-stab-secret", service: .sd3, model: "sd3.5-large",
                sizes: [ImageSize(width: 1344, height: 768)], maxCount: 2))
    }

    static func answer(_ finish: String = "SUCCESS", seed: Int = 1) -> String {
        #"{"image":"\#(png.base64EncodedString())","finish_reason":"\#(finish)","seed":\#(seed)}"#
    }

    @Test func eachImageIsOneMultipartCallWithTheNextSeed() async throws {
        try await withFakeServer({ app in
            app.post("v2beta", "stable-image", "generate", "sd3") { _ in Response(status: .ok, body: .init(string: Self.answer())) }
        }) { server in
            let request = GenerationRequest(
                prompt: "a fox", negativePrompt: "text", size: ImageSize(width: 1344, height: 768), count: 2, seed: 100, endUser: "u_abc")
            let images = try await Self.provider(server.baseURL).generate(request) { _ in }
            #expect(images.count == 2)
            #expect(server.received.count == 2)
            let first = try #require(server.received.first)
            #expect(first.path == "/v2beta/stable-image/generate/sd3")
            #expect(first.headers.first(name: "Authorization") == "Bearer sk-stab-secret")
            #expect(first.headers.first(name: "Accept") == "application/json")
            #expect(first.headers.first(name: "stability-client-user-id") == "u_abc")
            for (field, value) in [
                ("prompt", "a fox"), ("negative_prompt", "text"), ("seed", "100"), ("aspect_ratio", "16:9"),
                ("model", "sd3.5-large"), ("output_format", "png"),
            ] {
                #expect(first.text.contains("name=\"\(field)\"\r\n\r\n\(value)\r\n"), "\(field)")
            }
            #expect(server.received[1].text.contains("name=\"seed\"\r\n\r\n101\r\n"))
        }
    }

    @Test func imageToImageSendsTheReference() async throws {
        try await withFakeServer({ app in
            app.post("v2beta", "stable-image", "generate", "sd3") { _ in Response(status: .ok, body: .init(string: Self.answer())) }
        }) { server in
            var request = GenerationRequest(prompt: "a fox", size: ImageSize(width: 1344, height: 768), seed: 1)
            request.referenceImages = [Data("the-reference".utf8)]
            _ = try await Self.provider(server.baseURL).generate(request) { _ in }
            let text = try #require(server.received.first?.text)
            #expect(text.contains("name=\"mode\"\r\n\r\nimage-to-image\r\n") && text.contains("the-reference"))
            #expect(text.contains("name=\"strength\"") && !text.contains("aspect_ratio"))
        }
    }

    @Test(arguments: [
        (200, answer("CONTENT_FILTERED"), "blocked"),
        (403, #"{"id":"a1","name":"content_moderation","errors":["Your request was flagged"]}"#, "blocked"),
        (429, #"{"id":"a2","name":"rate_limit_exceeded","errors":["Too many requests"]}"#, "retryable"),
        (500, #"{"id":"a3","name":"internal_error","errors":["oops"]}"#, "retryable"),
        (422, #"{"id":"a4","name":"invalid_prompts","errors":["prompt too long"]}"#, "permanent"),
    ])
    func answersMapToOutcomes(_ status: Int, _ body: String, _ expected: String) async throws {
        try await withFakeServer({ app in
            app.post("v2beta", "stable-image", "generate", "sd3") { _ in
                Response(status: HTTPResponseStatus(statusCode: status), body: .init(string: body))
            }
        }) { server in
            do {
                _ = try await Self.provider(server.baseURL).generate(
                    GenerationRequest(prompt: "x", size: ImageSize(width: 1344, height: 768), seed: 1)
                ) { _ in }
                Issue.record("must fail")
            } catch let error as ProviderError {
                let outcome =
                    switch error {
                    case .blocked: "blocked"
                    case .retryable: "retryable"
                    case .permanent: "permanent"
                    case .cancelled: "cancelled"
                    }
                #expect(outcome == expected, "\(error)")
            }
        }
    }
}

@Suite struct GeminiImageProviderTests {
    static func provider(_ base: String) -> GeminiImageProvider {
        GeminiImageProvider(
            id: "gemini", displayName: "Gemini",
            settings: .init(
                baseURL: URL(string: base)!, apiKey: "g-key-secret", model: "gemini-2.5-flash-image",
                sizes: [ImageSize(width: 1024, height: 1024)], maxCount: 2))
    }

    static let ok =
        #"{"candidates":[{"content":{"parts":[{"text":"here"},{"inlineData":{"mimeType":"image/png","data":"\#(png.base64EncodedString())"}}]},"finishReason":"STOP"}]}"#

    @Test func theRequestCarriesPromptReferencesAndAspectRatio() async throws {
        try await withFakeServer({ app in
            app.post("v1beta", "models", "gemini-2.5-flash-image:generateContent") { _ in Response(status: .ok, body: .init(string: Self.ok)) }
        }) { server in
            var request = GenerationRequest(prompt: "a teapot", size: ImageSize(width: 1024, height: 1024), seed: 1)
            request.referenceImages = [Data("ref".utf8)]
            #expect(try await Self.provider(server.baseURL).generate(request) { _ in } == [.encoded(png)])
            let sent = try #require(server.received.first)
            #expect(sent.headers.first(name: "x-goog-api-key") == "g-key-secret")
            let json = try #require(sent.json)
            let parts = ((json["contents"] as? [[String: Any]])?.first?["parts"] as? [[String: Any]]) ?? []
            #expect(parts.first?["text"] as? String == "a teapot")
            #expect((parts.last?["inlineData"] as? [String: String])?["data"] == Data("ref".utf8).base64EncodedString())
            let config = try #require(json["generationConfig"] as? [String: Any])
            #expect(config["responseModalities"] as? [String] == ["IMAGE"])
            #expect((config["imageConfig"] as? [String: String])?["aspectRatio"] == "1:1")
        }
    }

    @Test(arguments: [
        #"{"candidates":[{"finishReason":"IMAGE_PROHIBITED_CONTENT"}]}"#,
        #"{"promptFeedback":{"blockReason":"SAFETY"}}"#,
    ])
    func refusalsAreBlocked(_ body: String) async throws {
        try await withFakeServer({ app in
            app.post("v1beta", "models", "gemini-2.5-flash-image:generateContent") { _ in Response(status: .ok, body: .init(string: body)) }
        }) { server in
            do {
                _ = try await Self.provider(server.baseURL).generate(
                    GenerationRequest(prompt: "x", size: ImageSize(width: 1024, height: 1024), seed: 1)
                ) { _ in }
                Issue.record("a refusal must fail")
            } catch ProviderError.blocked {}
        }
    }
}

/// Polls until `condition` holds (up to 5 s).
func waitFor(_ condition: () -> Bool) async throws -> Bool {
    for _ in 0..<100 {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return condition()
}
