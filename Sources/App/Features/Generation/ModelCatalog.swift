import Domain
import Foundation
import Providers

/// The models the studio offers, each with its provider, price and limits.
/// Today: the built-in engine. (The providers work reads a models file into this.)
struct ModelCatalog: Sendable {
    struct Entry: Sendable {
        /// The id people and API clients choose, e.g. `builtin`.
        let id: String
        let provider: any ImageProvider
        let pricePerImage: Int
        /// How long one call to the provider may take before it counts as failed.
        let timeout: Duration
        /// Attempts per generation, counting retries after retryable errors.
        let maxAttempts: Int
        let styles: [String]

        var displayName: String { provider.displayName }
        var capabilities: ProviderCapabilities { provider.capabilities }
    }

    let entries: [Entry]

    /// The model chosen when a request names none: the first.
    var defaultEntry: Entry { entries[0] }

    func entry(_ id: String) -> Entry? { entries.first { $0.id == id } }

    static let standard = standard(builtInDelay: .zero)

    static func standard(builtInDelay: Duration) -> ModelCatalog {
        ModelCatalog(entries: [
            Entry(id: "builtin", provider: BuiltInEngine(delayPerImage: builtInDelay), pricePerImage: 1,
                  timeout: .seconds(60) + builtInDelay * 4, maxAttempts: 3, styles: BuiltInEngine.styles),
        ])
    }
}
