/// A provider's own words about a failure, made fit for the operator's log and console: server
/// paths, links and network addresses are replaced by placeholders (a self-hosted ComfyUI's
/// error named its output folder, `…/ComfyUI/output`), control characters become spaces, and
/// the text is cut to a readable length. People never see it: they get a plain sentence
/// (`GenerationFailurePolicy`).
public enum ProviderText {
    public static let maxLength = 500

    public static func scrubbed(_ text: String) -> String {
        // Cut first: the patterns cost more than linear time on long runs of letters, and a
        // provider's message has no bound (a node's error can quote a whole base64 image).
        var result = String(text.prefix(maxLength * 4))
        // A scheme of at most 32 characters: an unbounded one made each start scan to the end.
        result.replace(/[a-zA-Z][a-zA-Z0-9+.\-]{0,31}:\/\/[^\s"'<>]+/, with: "<link>")
        result.replace(/(?:[A-Za-z]:)?(?:[\\\/][^\s\\\/"'<>:,;()\[\]{}]+){2,}[\\\/]?/, with: "<path>")
        result.replace(/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/, with: "<address>")
        // IPv6: in brackets, or bare with at least three colons (not a time like 12:30:45).
        result.replace(/\[[0-9a-fA-F:.]{2,45}\](?::\d+)?/, with: "<address>")
        result.replace(/\b(?:[0-9a-fA-F]{0,4}:){3,7}[0-9a-fA-F]{0,4}\b/, with: "<address>")
        let printable = String(String.UnicodeScalarView(result.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
        let trimmed = printable.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        return trimmed.count > maxLength ? String(trimmed.prefix(maxLength)) + "…" : trimmed
    }
}
