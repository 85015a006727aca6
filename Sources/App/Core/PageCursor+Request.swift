import Domain
import Persistence
import Vapor

extension PageCursor {
    /// The `cursor` query parameter of a list request: nil for the first page; a clear 400 for
    /// a token Pictor did not give out.
    static func from(_ req: Request) throws -> PageCursor? {
        guard let token = try? req.query.get(String.self, at: "cursor") else { return nil }
        guard let cursor = PageCursor(token: token) else {
            throw GenerationInputError(fieldErrors: [
                FieldError(field: "cursor", message: "This cursor is not one Pictor gave out; start from the first page.")
            ])
        }
        return cursor
    }

    /// The `limit` query parameter: `fallback` when absent, kept within 1…100.
    static func limit(_ req: Request, fallback: Int = 20) -> Int {
        min(max((try? req.query.get(Int.self, at: "limit")) ?? fallback, 1), 100)
    }
}
