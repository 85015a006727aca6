import Vapor

extension Request {
    /// Whether the client's `If-None-Match` names `etag` (as it is or weak) or is `*`: its
    /// cached copy is current, and a 304 answers.
    func hasCurrentCopy(of etag: String) -> Bool {
        headers[.ifNoneMatch].flatMap { $0.split(separator: ",") }.contains {
            let tag = $0.trimmingCharacters(in: .whitespaces)
            return tag == etag || tag == "W/" + etag || tag == "*"
        }
    }
}

extension HTTPHeaders {
    /// A person's own file: cached by their browser only, and never served from that cache to
    /// whoever signs in next on the same browser (`Vary` on what says who is asking).
    static func privateFile(etag: String, maxAge: Int, immutable: Bool) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.replaceOrAdd(name: .eTag, value: etag)
        headers.replaceOrAdd(name: .cacheControl, value: "private, max-age=\(maxAge)" + (immutable ? ", immutable" : ""))
        headers.replaceOrAdd(name: .vary, value: "Cookie, Authorization")
        return headers
    }
}
