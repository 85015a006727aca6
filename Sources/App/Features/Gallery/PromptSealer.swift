import Foundation
import Vapor

/// Writes a person's prompt as App stores it: sealed under their content key, with the search
/// terms the gallery finds it by. For tools that write rows without App's requests: the gallery
/// benchmark's fixtures (`Benchmarks/pictor-bench/GalleryFixtures.swift`).
public struct PromptSealer: Sendable {
    let key: ContentKey

    public func sealed(_ text: String) throws -> String {
        try key.seal(text: text)
    }

    public func searchTerms(_ text: String) -> String {
        SearchTokens.tokens(for: text, key: key).joined(separator: " ")
    }
}

extension Application {
    /// The person's sealer (their content key is made on first use).
    public func promptSealer(for userID: UUID) async throws -> PromptSealer {
        PromptSealer(key: try await pictor.contentKeys.key(for: userID, on: db))
    }
}
