/// A provider's own words about a failure, made fit for the operator's log and console: server
/// paths, links and network addresses are replaced by placeholders (a self-hosted ComfyUI's
/// error named its output folder, `…/ComfyUI/output`), control characters become spaces, and
/// the text is cut to a readable length. People never see it: they get a plain sentence
/// (`GenerationFailurePolicy`).
public enum ProviderText {
    public static let maxLength = 500

    public static func scrubbed(_ text: String) -> String {
        var result = text
        result.replace(/[a-zA-Z][a-zA-Z0-9+.\-]*:\/\/[^\s"'<>]+/, with: "<link>")
        result.replace(/(?:[A-Za-z]:)?(?:[\\\/][^\s\\\/"'<>:,;()\[\]{}]+){2,}[\\\/]?/, with: "<path>")
        result.replace(/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/, with: "<address>")
        result.replace(/\[?\b[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}\]?(?::\d+)?/, with: "<address>")
        let printable = String(String.UnicodeScalarView(result.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
        let trimmed = printable.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        return trimmed.count > maxLength ? String(trimmed.prefix(maxLength)) + "…" : trimmed
    }
}
