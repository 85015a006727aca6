/// What can be learnt about a `multipart/form-data` body without parsing it: how many parts it
/// has. A parser's cost can grow with the square of the part count (20,000 empty parts took
/// 14–22 s of CPU), so a body is counted in one linear pass and refused above a route's limit
/// before anything parses it.
public enum MultipartShape {
    /// The `boundary` parameter of a `multipart/form-data` media type as the framework already
    /// read it (quotes removed once, there): 1–70 characters (RFC 2046) and no quote left, so
    /// the count looks for exactly the delimiter the parser will use; nil when missing or malformed.
    public static func boundary(fromParameter value: String?) -> String? {
        guard let value else { return nil }
        guard (1...70).contains(value.utf8.count), value.utf8.allSatisfy({ (0x20...0x7E).contains($0) && $0 != 0x22 }) else {
            return nil
        }
        return value
    }

    /// The number of parts in `body`: delimiters (`--boundary` at the start or after CRLF; what
    /// follows is not looked at, so a line that only starts like one counts too, which errs on
    /// the safe side) before the closing one, counted without reading further once `limit` is passed
    /// (the answer is then `limit + 1`). Linear in the body's length: a delimiter candidate is
    /// found by its four fixed bytes, which cannot overlap themselves, and compared at most
    /// once, up to the boundary's length.
    public static func partCount(in body: UnsafeBufferPointer<UInt8>, boundary: String, limit: Int) -> Int {
        let marker = Array(boundary.utf8)
        var delimiters = 0
        func delimiter(at start: Int) -> Bool {
            guard body.endIndex - start >= 2 + marker.count, body[start] == 0x2D, body[start + 1] == 0x2D else { return false }
            for (offset, byte) in marker.enumerated() where body[start + 2 + offset] != byte { return false }
            return true
        }
        if delimiter(at: body.startIndex) { delimiters += 1 }
        var index = body.startIndex
        while index + 4 <= body.endIndex {
            if body[index] == 0x0D, body[index + 1] == 0x0A, delimiter(at: index + 2) {
                delimiters += 1
                if delimiters > limit + 1 { return limit + 1 }
                index += 4 + marker.count
            } else {
                index += 1
            }
        }
        // The last delimiter closes the body; a body cut short (no closing one) is counted as if closed.
        return min(max(delimiters - 1, 0), limit + 1)
    }

    public static func partCount(in body: [UInt8], boundary: String, limit: Int) -> Int {
        body.withUnsafeBufferPointer { partCount(in: $0, boundary: boundary, limit: limit) }
    }
}
