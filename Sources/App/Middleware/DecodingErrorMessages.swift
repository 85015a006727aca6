import Domain
import Foundation

/// A body that could not be decoded (a field of the wrong type, a key missing, a value that is
/// not an id, or no JSON at all), in words, with the field at fault: `count` sent as `"2"`
/// reads "count: must be a whole number", not the decoder's own text.
extension ErrorResponse {
    init(unreadable error: DecodingError) {
        let path: [any CodingKey]
        let problem: String
        switch error {
        case .typeMismatch(let type, let context):
            (path, problem) = (context.codingPath, "must be \(Self.describe(type))")
        case .valueNotFound(let type, let context):
            (path, problem) = (context.codingPath, "must be \(Self.describe(type)), not null")
        case .keyNotFound(let key, let context):
            (path, problem) = (context.codingPath + [key], "is required")
        case .dataCorrupted(let context):
            (path, problem) = (context.codingPath, "has a value that could not be read")
        @unknown default:
            (path, problem) = ([], "")
        }
        guard let field = Self.fieldName(path) else {
            self.init(status: .badRequest, message: "The request body could not be read: send valid JSON (or form fields) with the documented names.")
            return
        }
        self.init(status: .badRequest, message: "Some fields could not be read.", fieldErrors: [FieldError(field: field, message: problem)])
    }

    /// `referenceImageIds[0]` style; nil for the body as a whole.
    private static func fieldName(_ path: [any CodingKey]) -> String? {
        guard let first = path.first else { return nil }
        return path.dropFirst().reduce(first.stringValue) { name, key in
            key.intValue.map { "\(name)[\($0)]" } ?? "\(name).\(key.stringValue)"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is any BinaryInteger.Type: "a whole number"
        case is any BinaryFloatingPoint.Type: "a number"
        case is String.Type: "text"
        case is Bool.Type: "true or false"
        case is UUID.Type: "an id"
        default:
            // Arrays and objects: Swift's decoder names them by type.
            String(describing: type).hasPrefix("Array") ? "a list" : "an object"
        }
    }
}
