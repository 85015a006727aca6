import Domain
import Vapor

/// Lets only staff of at least `minimum` rank through; to everyone else the page does not exist.
struct RequireRole: AsyncMiddleware {
    let minimum: CurrentUser.Role

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard let user = request.currentUser, user.apiScopes == nil, user.role >= minimum else {
            throw AccessError.notFound
        }
        return try await next.respond(to: request)
    }
}
