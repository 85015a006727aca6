import Domain
import Foundation
import Providers
import Testing
import Vapor

/// Every HTTP adapter against the same four failures: 429 with Retry-After, a 5xx, a 408 (the
/// server or a proxy gave up waiting) and a server that hangs past the timeout. All must come
/// back as retryable, so the router retries or
/// fails over instead of ending the generation.
@Suite struct AdapterFailureTests {
    struct Case: Sendable, CustomStringConvertible {
        let description: String
        /// Path segments the adapter calls first.
        let path: [String]
        let method: HTTPMethod
        let make: @Sendable (String, Duration) -> any ImageProvider
    }

    static let size = ImageSize(width: 1024, height: 1024)
    static let cases: [Case] = [
        Case(description: "OpenAI", path: ["v1", "images", "generations"], method: .POST) { base, timeout in
            OpenAIImagesProvider(
                id: "o", displayName: "o",
                settings: .init(
                    baseURL: URL(string: base + "/v1")!, apiKey: "k", model: "gpt-image-1", sizes: [size], maxCount: 1, timeout: timeout))
        },
        Case(description: "Stability", path: ["v2beta", "stable-image", "generate", "core"], method: .POST) { base, timeout in
            StabilityProvider(
                id: "s", displayName: "s",
                settings: .init(
                    baseURL: URL(string: base)!, apiKey: "k", service: .core, sizes: [size], maxCount: 1, timeout: timeout))
        },
        Case(description: "Gemini", path: ["v1beta", "models", "m:generateContent"], method: .POST) { base, timeout in
            GeminiImageProvider(
                id: "g", displayName: "g",
                settings: .init(
                    baseURL: URL(string: base)!, apiKey: "k", model: "m", sizes: [size], maxCount: 1, timeout: timeout))
        },
        Case(description: "AUTOMATIC1111", path: ["sdapi", "v1", "txt2img"], method: .POST) { base, timeout in
            Automatic1111Provider(
                id: "a", displayName: "a",
                settings: .init(
                    baseURL: URL(string: base)!, sizes: [size], maxCount: 1, timeout: timeout))
        },
        Case(description: "Replicate", path: ["v1", "models", "o", "m", "predictions"], method: .POST) { base, timeout in
            ReplicateProvider(
                id: "r", displayName: "r",
                settings: .init(
                    baseURL: URL(string: base)!, apiToken: "k", model: "o/m", sizes: [size], maxCount: 1, waitSeconds: 1, timeout: timeout),
                signals: PredictionSignals())
        },
        Case(description: "ComfyUI", path: ["history", ":id"], method: .GET) { base, timeout in
            ComfyUIProvider(
                id: "c", displayName: "c",
                settings: .init(
                    baseURL: URL(string: base)!, workflow: #"{"6": {"inputs": {"text": "{{prompt}}"}}}"#, sizes: [size], maxCount: 1,
                    timeout: timeout))
        },
    ]

    enum Failure: String, CaseIterable, Sendable { case rateLimited, serverError, requestTimeout, hang, hangMidBody, unreadable }

    @Test(arguments: cases, Failure.allCases)
    func failuresAreRetryable(_ adapter: Case, _ failure: Failure) async throws {
        try await withFakeServer({ app in
            app.on(adapter.method, adapter.path.map { PathComponent(stringLiteral: $0) }) { _ async throws -> Response in
                switch failure {
                case .rateLimited:
                    return Response(status: .tooManyRequests, headers: ["Retry-After": "7"], body: .init(string: #"{"error":"slow down"}"#))
                case .serverError: return Response(status: .badGateway, body: .init(string: "upstream error"))
                case .requestTimeout: return Response(status: .requestTimeout, body: .init(string: "timed out"))
                case .hang:
                    try await Task.sleep(for: .seconds(30))
                    return Response(status: .ok)
                case .hangMidBody:
                    // The head and the start of a JSON answer, then nothing.
                    return Response(
                        status: .ok, headers: ["Content-Type": "application/json"],
                        body: .init(asyncStream: { writer in
                            try await writer.write(.buffer(ByteBuffer(string: #"{"created": 1, "data": [{"b64_json": "iVBORw0KGgo"#)))
                            try? await Task.sleep(for: .seconds(30))
                            try await writer.write(.end)
                        }))
                case .unreadable:
                    return Response(
                        status: .ok, headers: ["Content-Type": "application/json"],
                        body: .init(string: "<html>Service temporarily unavailable</html>"))
                }
            }
        }) { server in
            // Only the hang needs a short deadline; the others must not race one on a busy machine.
            let hangs = failure == .hang || failure == .hangMidBody
            let provider = adapter.make(server.baseURL, hangs ? .seconds(1) : .seconds(20))
            let started = ContinuousClock.now
            do {
                _ = try await provider.generate(GenerationRequest(prompt: "x", size: Self.size, seed: 1, idempotencyKey: UUID().uuidString)) { _ in }
                Issue.record("\(adapter) must fail on \(failure)")
            } catch ProviderError.retryable(let reason) {
                if failure == .rateLimited { #expect(reason.contains("7 s"), "\(reason)") }
                #expect(!reason.contains("127.0.0.1"), "no addresses in what people read: \(reason)")
            } catch {
                Issue.record("\(adapter) on \(failure): \(error)")
            }
            #expect(ContinuousClock.now - started < .seconds(hangs ? 15 : 25))
        }
    }

    enum Absence: String, CaseIterable, Sendable { case refused, unanswered }

    /// A server that is not there fails the call within about a second, as a retryable failure
    /// (so the fallback model is tried at once), however long the call's own deadline: a refused
    /// connection (nothing listens on the port) and one never answered (a listener whose
    /// queue is full drops the connection's first packet, as an unroutable address does; the
    /// connect timeout ends it). Before: 30 s of retried connections each.
    @Test(arguments: cases, Absence.allCases)
    func aServerThatIsNotThereFailsFast(_ adapter: Case, _ absence: Absence) async throws {
        let listener = try FullListener()
        let base = absence == .refused ? "http://127.0.0.1:1" : "http://127.0.0.1:\(listener.port)"
        let provider = adapter.make(base, .seconds(60))
        let started = ContinuousClock.now
        do {
            _ = try await provider.generate(GenerationRequest(prompt: "x", size: Self.size, seed: 1, idempotencyKey: UUID().uuidString)) { _ in }
            Issue.record("\(adapter) must fail when nothing answers")
        } catch ProviderError.retryable(let reason) {
            #expect(!reason.contains("127.0.0.1"), "no addresses in what people read: \(reason)")
        } catch {
            Issue.record("\(adapter): \(error)")
        }
        let took = ContinuousClock.now - started
        #expect(took < .seconds(4), "\(adapter), \(absence): took \(took)")
    }
}

/// A listening socket that accepts nothing and whose queue (length 0) is already taken by one
/// connection: the next connection's first packet is dropped, so connecting to it hangs.
final class FullListener {
    let port: Int
    private let listening: Int32
    private let filler: Int32

    init() throws {
        let listening = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listening, pointer, length) == 0 && listen(listening, 0) == 0 && getsockname(listening, pointer, &length) == 0
            }
        }
        let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let connected =
            bound
            && withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(filler, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            } == 0
        self.listening = listening
        self.filler = filler
        port = Int(UInt16(bigEndian: address.sin_port))
        guard connected else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit {
        close(filler)
        close(listening)
    }
}
