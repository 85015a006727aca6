import Vapor

/// Gives every request an id: the caller's `X-Request-ID` when it is a safe token,
/// otherwise a new UUID. (Vapor's own `req.id` copies any incoming header verbatim,
/// so it is not used.) The id is on every log line of the request
/// (`request-id`) and on the response.
struct RequestIDMiddleware: AsyncMiddleware {
    static let header = HTTPHeaders.Name("X-Request-ID")

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let id = request.headers.first(name: Self.header).flatMap(Self.acceptable) ?? UUID().uuidString
        request.logger[metadataKey: "request-id"] = .string(id)
        request.storage[RequestIDKey.self] = id
        let response = try await next.respond(to: request)
        response.headers.replaceOrAdd(name: Self.header, value: id)
        return response
    }

    /// A caller-supplied id is kept only when it is 1–64 letters, digits, `-`, `_` or `.`.
    static func acceptable(_ candidate: String) -> String? {
        guard (1...64).contains(candidate.count),
            candidate.unicodeScalars.allSatisfy(isTokenCharacter)
        else { return nil }
        return candidate
    }

    private static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": true
        default: false
        }
    }
}

struct RequestIDKey: StorageKey {
    typealias Value = String
}

extension Request {
    /// The id on this request's log lines and its `X-Request-ID` response header.
    var requestID: String { storage[RequestIDKey.self] ?? "unassigned" }
}
