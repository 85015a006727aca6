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

extension MultipartShape {
    /// The value of the body's first part when that part is a plain field called `name` (no
    /// file), read without parsing the rest: the CSRF check reads the studio form's token this
    /// way (the form puts it first, and browsers send parts in the form's order), so an upload is
    /// parsed once, by the handler, and only after the token matched. At most `maxLength` bytes
    /// of value; nil when the body does not start with such a part.
    public static func leadingField(named name: String, in body: UnsafeBufferPointer<UInt8>, boundary: String, maxLength: Int = 256) -> String? {
        let opening = Array("--\(boundary)\r\n".utf8)
        guard body.count >= opening.count, body.prefix(opening.count).elementsEqual(opening) else { return nil }
        // The part's headers: lines up to an empty one, within the first 1 KB.
        var index = opening.count
        var disposition: String?
        let headerEnd = min(body.count, index + 1024)
        while true {
            guard let lineEnd = crlf(in: body, from: index, before: headerEnd) else { return nil }
            if lineEnd == index {
                index += 2
                break
            }
            let line = String(decoding: body[index..<lineEnd], as: UTF8.self)
            if let colon = line.firstIndex(of: ":"),
                line[..<colon].trimmingSpaces.lowercased() == "content-disposition"
            {
                disposition = String(line[line.index(after: colon)...])
            }
            index = lineEnd + 2
        }
        guard let disposition, isPlainField(disposition, named: name) else { return nil }
        // The value runs to the next delimiter.
        let delimiter = Array("\r\n--\(boundary)".utf8)
        let valueEnd = min(body.count, index + maxLength + delimiter.count)
        var end = index
        while end + delimiter.count <= valueEnd {
            if body[end..<(end + delimiter.count)].elementsEqual(delimiter) {
                return String(decoding: body[index..<end], as: UTF8.self)
            }
            end += 1
        }
        return nil
    }

    public static func leadingField(named name: String, in body: [UInt8], boundary: String, maxLength: Int = 256) -> String? {
        body.withUnsafeBufferPointer { leadingField(named: name, in: $0, boundary: boundary, maxLength: maxLength) }
    }

    /// `form-data; name="<name>"` (quotes optional), with no `filename` parameter.
    private static func isPlainField(_ disposition: String, named name: String) -> Bool {
        let parameters = disposition.split(separator: ";").map { $0.trimmingSpaces }
        guard parameters.first?.lowercased() == "form-data" else { return false }
        var named = false
        for parameter in parameters.dropFirst() {
            guard let equals = parameter.firstIndex(of: "=") else { return false }
            let key = parameter[..<equals].trimmingSpaces.lowercased()
            var value = Substring(parameter[parameter.index(after: equals)...].trimmingSpaces)
            if value.count >= 2, value.first == "\"", value.last == "\"" { value = value.dropFirst().dropLast() }
            switch key {
            case "name": named = value == name
            default: return false  // filename, or anything this form never sends
            }
        }
        return named
    }

    private static func crlf(in body: UnsafeBufferPointer<UInt8>, from start: Int, before end: Int) -> Int? {
        var index = start
        while index + 1 < end {
            if body[index] == 0x0D, body[index + 1] == 0x0A { return index }
            index += 1
        }
        return nil
    }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: String {
        String(self.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
