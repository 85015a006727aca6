import Foundation

extension String {
    /// This text as one query-string value (RFC 3986 unreserved characters kept).
    var queryEscaped: String {
        addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }
}
