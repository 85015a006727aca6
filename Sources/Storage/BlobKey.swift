import Domain

/// The name of a blob: slash-separated segments of letters, digits, `.`, `_` and `-`.
/// No segment may be empty, start with a dot, or be `..`, so a key can never
/// leave the store's root or reach its internal files.
public struct BlobKey: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public static let maxLength = 512

    public init(_ rawValue: String) throws(BlobStoreError) {
        guard !rawValue.isEmpty, rawValue.utf8.count <= Self.maxLength else {
            throw .invalidKey(rawValue, reason: "a key must have 1 to \(Self.maxLength) characters")
        }
        for segment in rawValue.split(separator: "/", omittingEmptySubsequences: false) {
            guard !segment.isEmpty else {
                throw .invalidKey(rawValue, reason: "a key may not start or end with / or contain //")
            }
            guard segment.first != "." else {
                throw .invalidKey(rawValue, reason: "a key segment may not start with a dot")
            }
            guard segment.unicodeScalars.allSatisfy(Self.isAllowed) else {
                throw .invalidKey(rawValue, reason: "a key may only contain letters, digits, '.', '_', '-' and '/'")
            }
        }
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": true
        default: false
        }
    }
}
