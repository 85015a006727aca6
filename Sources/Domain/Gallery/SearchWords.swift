import Foundation

/// The words of a prompt or a search, normalised the same way on both sides so that
/// "Lighthouses at Dusk" finds "a lighthouse at dusk": case and accents folded, split on
/// anything that is not a letter or digit, a plural or possessive "s" dropped, one-letter
/// words and repeats left out. Pictor stores only keyed hashes of these words
/// (see `SearchTokens` in the app), never the words.
public enum SearchWords {
    /// At most this many words of one prompt are indexed.
    public static let maxWords = 64

    public static func words(in text: String) -> [String] {
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil).lowercased()
        var seen = Set<String>()
        var words: [String] = []
        for piece in folded.split(whereSeparator: { !($0.isLetter || $0.isNumber) }) {
            let word = stem(String(piece))
            guard word.count >= 2, seen.insert(word).inserted else { continue }
            words.append(word)
            if words.count == maxWords { break }
        }
        return words
    }

    /// A light, predictable stem: "lighthouses" → "lighthouse", "boxes" → "box", "glass" stays.
    static func stem(_ word: String) -> String {
        if word.count > 4, ["ches", "shes", "xes", "zes"].contains(where: word.hasSuffix) {
            return String(word.dropLast(2))
        }
        if word.count > 3, word.hasSuffix("s"), !word.hasSuffix("ss"), !word.hasSuffix("us"), !word.hasSuffix("is") {
            return String(word.dropLast())
        }
        return word
    }
}
