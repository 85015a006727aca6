import Domain
import Foundation
import Persistence
import Vapor

/// The gallery's search and filters as they arrive in the query string (`q`, `model`,
/// `status`, `favourites`, `from`, `to`, `after`), turned into a `GalleryFilter`.
/// Values that make no sense are reported per field, not ignored.
struct GalleryQuery: Content {
    var q: String?
    var model: String?
    var status: String?
    var favourites: String?
    var from: String?
    var to: String?
    var after: String?

    var text: String { (q ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
    var favouritesOnly: Bool { favourites == "1" || favourites == "on" || favourites == "true" }

    /// The states offered in the filter, finished ones first.
    static let statuses: [String] = [GenerationState.succeeded, .failed, .blocked, .cancelled, .queued, .running].map(\.rawValue)

    /// The filter for `key`'s owner, or the problems with the query.
    func filter(key: ContentKey?) -> Result<GalleryFilter, GenerationInputError> {
        var problems: [FieldError] = []
        var filter = GalleryFilter(favouritesOnly: favouritesOnly)
        if !text.isEmpty {
            if text.count > 200 { problems.append(FieldError(field: "q", message: "Search for at most 200 characters.")) }
            let tokens = key.map { SearchTokens.tokens(for: text, key: $0) } ?? []
            // A search with no usable words (only one-letter words or punctuation) matches nothing.
            filter.terms = tokens.isEmpty ? ["tnone"] : tokens
        }
        if let model, !model.isEmpty { filter.model = model }
        if let status, !status.isEmpty {
            if let state = GenerationState(rawValue: status) {
                filter.state = state
            } else {
                problems.append(FieldError(field: "status", message: "Choose one of: \(Self.statuses.joined(separator: ", "))."))
            }
        }
        if let from, !from.isEmpty {
            if let day = Self.day(from) {
                filter.from = day
            } else {
                problems.append(FieldError(field: "from", message: "Give the first day as YYYY-MM-DD, e.g. 2026-11-01."))
            }
        }
        if let to, !to.isEmpty {
            if let day = Self.day(to) {
                filter.until = day.addingTimeInterval(86_400)
            } else {
                problems.append(FieldError(field: "to", message: "Give the last day as YYYY-MM-DD, e.g. 2026-11-30."))
            }
        }
        if let from = filter.from, let until = filter.until, until <= from {
            problems.append(FieldError(field: "to", message: "The last day is before the first day."))
        }
        return problems.isEmpty ? .success(filter) : .failure(GenerationInputError(fieldErrors: problems))
    }

    /// The cursor named by `after`, nil for the first page; a cursor Pictor did not give out is an error.
    func cursor() throws -> PageCursor? {
        guard let after, !after.isEmpty else { return nil }
        guard let cursor = PageCursor(token: after) else {
            throw GenerationInputError(fieldErrors: [
                FieldError(field: "after", message: "This page link is not one Pictor gave out; start from the first page.")
            ])
        }
        return cursor
    }

    /// The same query on another page (`after`), as a query string.
    func queryString(after cursor: PageCursor?) -> String {
        var items: [URLQueryItem] = []
        if !text.isEmpty { items.append(URLQueryItem(name: "q", value: text)) }
        if let model, !model.isEmpty { items.append(URLQueryItem(name: "model", value: model)) }
        if let status, !status.isEmpty { items.append(URLQueryItem(name: "status", value: status)) }
        if favouritesOnly { items.append(URLQueryItem(name: "favourites", value: "1")) }
        if let from, !from.isEmpty { items.append(URLQueryItem(name: "from", value: from)) }
        if let to, !to.isEmpty { items.append(URLQueryItem(name: "to", value: to)) }
        if let cursor { items.append(URLQueryItem(name: "after", value: cursor.token)) }
        var components = URLComponents()
        components.queryItems = items
        return items.isEmpty ? "" : components.percentEncodedQuery.map { "?" + $0 } ?? ""
    }

    var isFiltered: Bool {
        !text.isEmpty || !(model ?? "").isEmpty || !(status ?? "").isEmpty || favouritesOnly || !(from ?? "").isEmpty || !(to ?? "").isEmpty
    }

    private static func day(_ text: String) -> Date? {
        guard let day = CalendarDay(iso: text) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day))
    }
}
