import AsyncHTTPClient
import Domain
import Foundation
import Providers
import Testing
import Vapor

@Suite struct OpenAIImagesProviderTests {
    static let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 4])

    static func provider(_ base: String, model: String = "gpt-image-1", timeout: Duration = .seconds(10)) -> OpenAIImagesProvider {
        OpenAIImagesProvider(
            id: "openai", displayName: "OpenAI GPT Image",
            settings: .init(
                baseURL: URL(string: base + "/v1")!, apiKey: "sk-test-secret-123", model: model,
                sizes: [ImageSize(width: 1024, height: 1024)], maxCount: 4, quality: "medium", timeout: timeout))
    }

    static let request = GenerationRequest(
        prompt: "a lighthouse at dusk", size: ImageSize(width: 1024, height: 1024), count: 2, seed: 7, endUser: "u_5f2c9a")

    static func answer(_ items: [String]) -> String {
        #"{"created":1763000000,"data":["# + items.joined(separator: ",") + #"],"usage":{"input_tokens":10,"output_tokens":100,"total_tokens":110}}"#
    }

    @Test func textToImageSendsTheDocumentedRequest() async throws {
        try await withFakeServer({ app in
            app.post("v1", "images", "generations") { _ in
                Response(
                    status: .ok, body: .init(string: Self.answer(Array(repeating: #"{"b64_json":"\#(Self.png.base64EncodedString())"}"#, count: 2))))
            }
        }) { server in
            let images = try await Self.provider(server.baseURL).generate(Self.request) { _ in }
            #expect(images == [.encoded(Self.png), .encoded(Self.png)])
            let sent = try #require(server.received.first)
            #expect(sent.method == "POST" && sent.path == "/v1/images/generations")
            #expect(sent.headers.first(name: "Authorization") == "Bearer sk-test-secret-123")
            #expect(sent.headers.first(name: "Content-Type") == "application/json")
            let json = try #require(sent.json)
            #expect(json["model"] as? String == "gpt-image-1")
            #expect(json["prompt"] as? String == "a lighthouse at dusk")
            #expect(json["n"] as? Int == 2 && json["size"] as? String == "1024x1024")
            #expect(json["quality"] as? String == "medium" && json["user"] as? String == "u_5f2c9a")
            #expect(json["response_format"] == nil)  // GPT image models always answer base64
        }
    }

    @Test func dallEAsksForBase64AndLinkedImagesAreFetchedAtOnce() async throws {
        try await withFakeServer({ app in
            app.post("v1", "images", "generations") { req in
                Response(
                    status: .ok,
                    body: .init(string: Self.answer([#"{"url":"http://\#(req.headers.first(name: .host)!)/files/one.png","revised_prompt":"x"}"#])))
            }
            app.get("files", "one.png") { _ in Response(status: .ok, body: .init(data: Self.png)) }
        }) { server in
            var one = Self.request
            one.count = 1
            let images = try await Self.provider(server.baseURL, model: "dall-e-3").generate(one) { _ in }
            #expect(images == [.encoded(Self.png)])
            #expect(server.received.first?.json?["response_format"] as? String == "b64_json")
            #expect(server.received.map(\.path) == ["/v1/images/generations", "/files/one.png"])
        }
    }

    @Test func referenceImagesGoToEditsAsMultipart() async throws {
        try await withFakeServer({ app in
            app.post("v1", "images", "edits") { _ in
                Response(status: .ok, body: .init(string: Self.answer([#"{"b64_json":"\#(Self.png.base64EncodedString())"}"#])))
            }
        }) { server in
            var request = Self.request
            request.count = 1
            request.referenceImages = [Data("first-reference".utf8), Data("second-reference".utf8)]
            _ = try await Self.provider(server.baseURL).generate(request) { _ in }
            let sent = try #require(server.received.first)
            #expect(sent.path == "/v1/images/edits")
            #expect(sent.headers.first(name: "Content-Type")?.hasPrefix("multipart/form-data; boundary=") == true)
            #expect(sent.text.components(separatedBy: #"name="image[]"; filename="#).count == 3)
            #expect(sent.text.contains("first-reference") && sent.text.contains("second-reference"))
            #expect(sent.text.contains("name=\"prompt\"\r\n\r\na lighthouse at dusk\r\n"))
            #expect(sent.text.contains("name=\"model\"\r\n\r\ngpt-image-1\r\n"))
        }
    }

    enum Outcome: Equatable { case retryable, permanent, blocked }

    @Test(arguments: [
        (429, #"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#, Outcome.retryable),
        (500, #"{"error":{"message":"The server had an error","type":"server_error"}}"#, .retryable),
        (503, "upstream unavailable", .retryable),
        (
            401, #"{"error":{"message":"Incorrect API key provided: sk-test****123","type":"invalid_request_error","code":"invalid_api_key"}}"#,
            .permanent
        ),
        (400, #"{"error":{"message":"Invalid size","type":"invalid_request_error","param":"size"}}"#, .permanent),
        (
            400,
            #"{"error":{"message":"Your request was rejected by the safety system.","type":"image_generation_user_error","code":"moderation_blocked"}}"#,
            .blocked
        ),
        (
            400,
            #"{"error":{"message":"Your request was rejected as a result of our safety system.","type":"invalid_request_error","code":"content_policy_violation"}}"#,
            .blocked
        ),
    ])
    func errorsMapToOutcomes(_ status: Int, _ body: String, _ expected: Outcome) async throws {
        try await withFakeServer({ app in
            app.post("v1", "images", "generations") { _ in
                var headers = HTTPHeaders()
                if status == 429 { headers.add(name: "Retry-After", value: "20") }
                return Response(status: HTTPResponseStatus(statusCode: status), headers: headers, body: .init(string: body))
            }
        }) { server in
            do {
                _ = try await Self.provider(server.baseURL).generate(Self.request) { _ in }
                Issue.record("HTTP \(status) must fail")
            } catch let error as ProviderError {
                switch (error, expected) {
                case (.retryable(let reason), .retryable): #expect(status != 429 || reason.contains("20 s"))
                case (.permanent(let reason), .permanent): #expect(!reason.contains("sk-test"), "the key must not reach people: \(reason)")
                case (.blocked, .blocked): break
                default: Issue.record("HTTP \(status) gave \(error), expected \(expected)")
                }
            }
        }
    }

    @Test func aHangingServerIsARetryableTimeout() async throws {
        try await withFakeServer({ app in
            app.post("v1", "images", "generations") { _ async throws -> Response in
                try await Task.sleep(for: .seconds(30))
                return Response(status: .ok)
            }
        }) { server in
            let started = ContinuousClock.now
            do {
                _ = try await Self.provider(server.baseURL, timeout: .seconds(1)).generate(Self.request) { _ in }
                Issue.record("a hang must time out")
            } catch ProviderError.retryable(let reason) {
                #expect(reason.contains("did not answer in time"))
            }
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }
}
