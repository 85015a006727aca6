import Domain
import Foundation
import Providers
import Testing

@Suite struct ScriptedProviderTests {
    let request = GenerationRequest(prompt: "test", size: ImageSize(width: 64, height: 64), count: 2, seed: 9)

    @Test func callsFollowTheScriptThenTheDefault() async throws {
        let provider = ScriptedProvider(calls: [
            [.progress(0.5), .fail(.retryable("503 from upstream"))],
            [.fail(.blocked("IMAGE_PROHIBITED_CONTENT"))],
        ])
        await #expect(throws: ProviderError.retryable("503 from upstream")) { _ = try await provider.generate(request) { _ in } }
        await #expect(throws: ProviderError.blocked("IMAGE_PROHIBITED_CONTENT")) { _ = try await provider.generate(request) { _ in } }
        let images = try await provider.generate(request) { _ in }
        #expect(images.count == 2)
        guard case .rgb(let pixels, 64, 64) = images[0] else {
            Issue.record("64×64 RGB")
            return
        }
        #expect(pixels.count == 64 * 64 * 3)
        #expect(images[0] != images[1])
        #expect(await provider.received().count == 3)
    }

    @Test func aHangingCallEndsOnlyWhenCancelled() async throws {
        let provider = ScriptedProvider(calls: [[.hang]])
        let task = Task { try await provider.generate(request) { _ in } }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
    }

    @Test func progressIsReported() async throws {
        let provider = ScriptedProvider(calls: [[.progress(0.25), .wait(.milliseconds(5)), .progress(0.75), .deliver(side: 8)]])
        let seen = Reports()
        _ = try await provider.generate(request) { seen.add($0) }
        #expect(seen.values == [0.25, 0.75])
    }
}
