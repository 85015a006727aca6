import Dispatch
import Domain
import Foundation

/// A provider that does what a test tells it, call by call: wait, report progress, fail
/// (retryably, permanently, or as filtered content), hang until cancelled, or deliver
/// small images at once. Every path of the generation pipeline is tested with it, offline.
public struct ScriptedProvider: ImageProvider {
    public enum Step: Sendable, Equatable {
        case wait(Duration)
        case progress(Double)
        case fail(ProviderError)
        /// Sleeps until the task is cancelled (a provider that never answers).
        case hang
        /// Waits this long even when cancelled (a client library that ignores cancellation).
        case deafWait(Duration)
        /// Delivers `request.count` images of `side`×`side` pixels, each a flat colour from the seed.
        case deliver(side: Int)
        /// Delivers these bytes as the one encoded image (e.g. something that is not an image).
        case deliverBytes(Data)
    }

    public let id: String
    public let displayName: String
    public let capabilities: ProviderCapabilities
    private let script: Script

    /// `calls[i]` is what the i-th call does; calls past the end use `otherwise`.
    public init(
        id: String = "scripted", calls: [[Step]] = [], otherwise: [Step] = [.deliver(side: 64)],
        capabilities: ProviderCapabilities = .init(
            referenceImages: true, sizes: [ImageSize(width: 64, height: 64), ImageSize(width: 512, height: 512)],
            maxCount: 4, negativePrompt: true, seed: true, progress: true, cancel: true, maxPromptLength: 1000)
    ) {
        self.id = id
        self.displayName = "Scripted test provider"
        self.capabilities = capabilities
        self.script = Script(calls: calls, otherwise: otherwise)
    }

    /// The requests received so far, in order.
    public func received() async -> [GenerationRequest] { await script.received }

    public func generate(_ request: GenerationRequest, progress: @Sendable (Double) -> Void) async throws -> [ProviderImage] {
        for step in await script.next(for: request) {
            switch step {
            case .wait(let duration):
                try await Task.sleep(for: duration)
            case .progress(let fraction):
                progress(fraction)
            case .fail(let error):
                throw error
            case .deafWait(let duration):
                let nanoseconds = UInt64(duration.components.seconds) * 1_000_000_000 + UInt64(duration.components.attoseconds / 1_000_000_000)
                await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) { continuation.resume() }
                }
            case .hang:
                while true { try await Task.sleep(for: .seconds(3600)) }
            case .deliverBytes(let bytes):
                return [.encoded(bytes)]
            case .deliver(let side):
                return (0..<request.count).map { index in
                    let shade = UInt8(truncatingIfNeeded: request.seed &+ UInt64(index) &* 37)
                    let pixels = [UInt8](repeating: 0, count: side * side * 3).enumerated().map { offset, _ in
                        offset % 3 == 0 ? shade : offset % 3 == 1 ? 128 : 255 &- shade
                    }
                    return .rgb(pixels: pixels, width: side, height: side)
                }
            }
        }
        return []
    }

    actor Script {
        private var calls: [[Step]]
        private let otherwise: [Step]
        private(set) var received: [GenerationRequest] = []

        init(calls: [[Step]], otherwise: [Step]) {
            self.calls = calls
            self.otherwise = otherwise
        }

        func next(for request: GenerationRequest) -> [Step] {
            received.append(request)
            return calls.isEmpty ? otherwise : calls.removeFirst()
        }
    }
}
