import Foundation

/// A list's page cursor as it travels in URLs: `<milliseconds since 1970>.<uuid>` (the last
/// row's time and id). The time is kept within 1970 to the end of year 9999: a database driver
/// converts it to its own whole-number unit (PostgreSQL: microseconds from 2000 in an Int64), and
/// beyond that the conversion traps.
public enum CursorToken {
    public static let maxMilliseconds = 253_402_300_799_999

    public static func parse(_ token: String) -> (milliseconds: Int, id: UUID)? {
        let parts = token.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let milliseconds = BoundedNumber.parse(parts[0], in: 0...maxMilliseconds),
            let id = UUID(uuidString: String(parts[1]))
        else { return nil }
        return (milliseconds, id)
    }

    public static func make(milliseconds: Int64, id: UUID) -> String {
        "\(milliseconds).\(id.uuidString.lowercased())"
    }
}

/// The `Idempotency-Key` header's rules: 1–255 visible ASCII characters.
public enum IdempotencyKeyRule {
    public static func isValid(_ key: String) -> Bool {
        (1...255).contains(key.utf8.count) && key.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }
}
