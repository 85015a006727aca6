import Domain
import Testing

/// The studio form's CSRF token is read from the body's first part without parsing the rest.
@Suite struct MultipartLeadingFieldTests {
    func body(_ parts: [(disposition: String, value: String)], boundary: String = "b") -> [UInt8] {
        var text = ""
        for part in parts { text += "--\(boundary)\r\nContent-Disposition: \(part.disposition)\r\n\r\n\(part.value)\r\n" }
        return Array((text + "--\(boundary)--\r\n").utf8)
    }

    @Test func theFirstPartsValueIsRead() {
        let form = body([(#"form-data; name="_csrf""#, "token-123"), (#"form-data; name="prompt""#, "a harbour")])
        #expect(MultipartShape.leadingField(named: "_csrf", in: form, boundary: "b") == "token-123")
        // Header name in any case, quotes optional, a content type alongside (as some clients send).
        let curl = Array("--b\r\ncontent-disposition: form-data; name=_csrf\r\nContent-Type: text/plain\r\n\r\nt\r\n--b--\r\n".utf8)
        #expect(MultipartShape.leadingField(named: "_csrf", in: curl, boundary: "b") == "t")
        #expect(MultipartShape.leadingField(named: "_csrf", in: body([(#"form-data; name="_csrf""#, "")]), boundary: "b") == "")
    }

    @Test func anythingElseIsNoToken() {
        // Not first, a file, another name, another boundary, a preamble.
        let second = body([(#"form-data; name="prompt""#, "x"), (#"form-data; name="_csrf""#, "t")])
        #expect(MultipartShape.leadingField(named: "_csrf", in: second, boundary: "b") == nil)
        let file = body([(#"form-data; name="_csrf"; filename="t.txt""#, "t")])
        #expect(MultipartShape.leadingField(named: "_csrf", in: file, boundary: "b") == nil)
        let other = body([(#"form-data; name="_csrf2""#, "t")])
        #expect(MultipartShape.leadingField(named: "_csrf", in: other, boundary: "b") == nil)
        #expect(MultipartShape.leadingField(named: "_csrf", in: body([(#"form-data; name="_csrf""#, "t")]), boundary: "c") == nil)
        let preamble = Array("hello\r\n".utf8) + body([(#"form-data; name="_csrf""#, "t")])
        #expect(MultipartShape.leadingField(named: "_csrf", in: preamble, boundary: "b") == nil)
    }

    @Test func cutShortOrOversizedIsNoToken() {
        let form = body([(#"form-data; name="_csrf""#, "token")])
        for length in 0..<(form.count - "\r\n--b--\r\n".count + 1) {
            #expect(MultipartShape.leadingField(named: "_csrf", in: Array(form.prefix(length)), boundary: "b") == nil, "cut at \(length)")
        }
        let long = body([(#"form-data; name="_csrf""#, String(repeating: "t", count: 257))])
        #expect(MultipartShape.leadingField(named: "_csrf", in: long, boundary: "b") == nil)
        // Headers that never end within 1 KB.
        let endless = Array(("--b\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n" + String(repeating: "X-Pad: 1\r\n", count: 200)).utf8)
        #expect(MultipartShape.leadingField(named: "_csrf", in: endless, boundary: "b") == nil)
    }
}
