import Foundation

/// Renders a `MailMessage` as an RFC 5322 / MIME message: CRLF line ends, non-ASCII
/// headers in RFC 2047 encoded words, bodies in quoted-printable UTF-8, and
/// `multipart/alternative` when there is an HTML part.
public enum MIMEMessage {
    public static func render(
        _ message: MailMessage, from sender: MailAddress, date: Date = Date(), messageID: String? = nil
    ) -> String {
        let messageID = messageID ?? message.id?.uuidString.lowercased() ?? UUID().uuidString.lowercased()
        let domain = sender.address.split(separator: "@").last.map(String.init) ?? "localhost"
        var headers = [
            "From: \(format(sender))",
            "To: \(message.to)",
            "Subject: \(encodedWord(message.subject))",
            "Date: \(rfc5322Date(date))",
            "Message-ID: <\(messageID)@\(domain)>",
            "MIME-Version: 1.0",
            "X-Pictor-Category: \(message.category.rawValue)",
        ]
        var body: [String]
        if let html = message.html {
            let boundary = "pictor-\(messageID)"
            headers.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
            body = [
                "--\(boundary)", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "",
                quotedPrintable(message.text),
                "--\(boundary)", "Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "",
                quotedPrintable(html),
                "--\(boundary)--",
            ]
        } else {
            headers.append("Content-Type: text/plain; charset=utf-8")
            headers.append("Content-Transfer-Encoding: quoted-printable")
            body = [quotedPrintable(message.text)]
        }
        return (headers + [""] + body).joined(separator: "\r\n") + "\r\n"
    }

    /// `Name <address>`: the name as it is when it is letters, digits and spaces; quoted when it
    /// has other printable ASCII (`"Pictor, Inc."`: bare, the comma would make two mailboxes);
    /// an encoded word otherwise.
    static func format(_ address: MailAddress) -> String {
        guard let name = address.name else { return address.address }
        let plain = name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == " ") }
        let printable = name.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F }
        let shown =
            plain
            ? name
            : printable
                ? "\"" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
                : encodedWord(name)
        return "\(shown) <\(address.address)>"
    }

    /// RFC 2047 `=?UTF-8?B?…?=` for text that is not plain printable ASCII.
    static func encodedWord(_ text: String) -> String {
        let plain = text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F }
        return plain ? text : "=?UTF-8?B?\(Data(text.utf8).base64EncodedString())?="
    }

    /// RFC 2045 quoted-printable with CRLF line breaks and soft breaks at 76 characters.
    static func quotedPrintable(_ text: String) -> String {
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        return lines.map { line in
            var encoded = ""
            var width = 0
            let bytes = Array(line.utf8)
            for (index, byte) in bytes.enumerated() {
                let isLast = index == bytes.count - 1
                let literal = (byte >= 33 && byte <= 126 && byte != 61) || ((byte == 32 || byte == 9) && !isLast)
                let piece = literal ? String(UnicodeScalar(byte)) : String(format: "=%02X", byte)
                if width + piece.count > 75 {
                    encoded += "=\r\n"
                    width = 0
                }
                encoded += piece
                width += piece.count
            }
            return encoded
        }.joined(separator: "\r\n")
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}
