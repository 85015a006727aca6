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
    /// A person's own file: kept by their browser only, and checked with the server on every
    /// use (`no-cache`: a 304 from the ETag, without the bytes), so after signing out or deleting
    /// it, a shared computer's browser has nothing it may show without asking; `Vary` on what
    /// says who is asking.
    static func privateFile(etag: String) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.replaceOrAdd(name: .eTag, value: etag)
        headers.replaceOrAdd(name: .cacheControl, value: "private, no-cache")
        headers.replaceOrAdd(name: .vary, value: "Cookie, Authorization")
        return headers
    }
}
