import Vapor

/// Turns every thrown error into a response: an HTML error page for browsers,
/// `application/problem+json` (RFC 9457) for the API and JSON clients.
/// Server faults are logged with the request id; the response shows the id, not the error.
struct ErrorPageMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        do {
            return try await next.respond(to: request)
        } catch {
            let shown = ErrorResponse(for: error)
            if shown.isServerFault {
                request.logger.error("request failed", metadata: ["error": .string(String(reflecting: error))])
            } else {
                request.logger.debug("request refused", metadata: ["status": .stringConvertible(shown.status.code)])
            }
            let response = Self.wantsJSON(request) ? try Self.problemJSON(shown, for: request) : await Self.page(shown, for: request)
            // A body refused before it was all read (too large, too slow, too many parts) is
            // not read on: the connection closes after the answer.
            if [.payloadTooLarge, .requestTimeout, .unsupportedMediaType].contains(shown.status) {
                response.headers.replaceOrAdd(name: .connection, value: "close")
            }
            return response
        }
    }

    static func wantsJSON(_ request: Request) -> Bool {
        if request.url.path.hasPrefix("/api/") { return true }
        let accept = request.headers.first(name: .accept) ?? ""
        return accept.contains("json") && !accept.contains("text/html")
    }

    private static func problemJSON(_ shown: ErrorResponse, for request: Request) throws -> Response {
        let problem = Problem(
            type: "about:blank", title: shown.status.reasonPhrase, status: shown.status.code,
            detail: shown.message, instance: request.url.path, requestID: request.requestID,
            errors: shown.fieldErrors.isEmpty ? nil : shown.fieldErrors.map { .init(field: $0.field, message: $0.message) })
        let response = Response(status: shown.status)
        try response.content.encode(problem, as: .json)
        response.headers.contentType = HTTPMediaType(type: "application", subType: "problem+json")
        return response
    }

    private static func page(_ shown: ErrorResponse, for request: Request) async -> Response {
        let context = ErrorPageContext(
            layout: .make(for: request, title: shown.status.reasonPhrase),
            status: shown.status.code, heading: Self.heading(shown.status),
            message: shown.message, requestID: request.requestID)
        do {
            let view = try await request.view.render("errors/error", context)
            return try await view.encodeResponse(status: shown.status, for: request)
        } catch {
            request.logger.error("error page could not be rendered", metadata: ["error": .string("\(error)")])
            let response = Response(status: shown.status, body: .init(string: "\(shown.status.code) \(shown.message)\n"))
            response.headers.contentType = .plainText
            return response
        }
    }

    private static func heading(_ status: HTTPStatus) -> String {
        switch status.code {
        case 404: "Page not found"
        case 403: "Not allowed"
        case 500...: "Something went wrong"
        default: status.reasonPhrase
        }
    }
}

/// RFC 9457 problem details.
struct Problem: Content {
    struct InvalidField: Content {
        let field: String
        let message: String
    }

    let type: String
    let title: String
    let status: UInt
    let detail: String
    let instance: String
    let requestID: String
    let errors: [InvalidField]?

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, instance, errors
        case requestID = "request_id"
    }
}

struct ErrorPageContext: Encodable {
    let layout: LayoutContext
    let status: UInt
    let heading: String
    let message: String
    let requestID: String
}
