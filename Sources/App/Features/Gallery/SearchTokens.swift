import Domain
import Foundation

/// Search over prompts that are stored encrypted: each normalised word (`SearchWords`) is
/// replaced by a keyed hash under the owner's content key, and the database's full-text index
/// works on those. The same word always gives the same token for one person and a different
/// one for anybody else; without the key a token says nothing, and erasing the key leaves
/// nothing to guess from.
enum SearchTokens {
    static func tokens(for text: String, key: ContentKey) -> [String] {
        SearchWords.words(in: text).map { "t" + key.mac(["search-word", $0]).prefix(20) }
    }
}
