import Foundation
import Testing

@testable import Mail

@Suite struct MIMEMessageTests {
    let sender = MailAddress(name: "Pictor", address: "no-reply@pictor.example")

    @Test func plainMessageHasTheHeadersAndCRLFLines() {
        let message = MailMessage(to: "ada@example.com", subject: "Your code", text: "Code: 123456\nValid for 1 hour.", category: .account)
        let rendered = MIMEMessage.render(message, from: sender, date: Date(timeIntervalSince1970: 0), messageID: "m1")
        #expect(rendered.hasPrefix("From: Pictor <no-reply@pictor.example>\r\nTo: ada@example.com\r\nSubject: Your code\r\n"))
        #expect(rendered.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"))
        #expect(rendered.contains("Message-ID: <m1@pictor.example>\r\n"))
        #expect(
            rendered.contains(
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCode: 123456\r\nValid for 1 hour.\r\n")
        )
        #expect(!rendered.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "no bare LF")
    }

    @Test func nonASCIISubjectAndBodyAreEncoded() {
        let message = MailMessage(to: "zoë@example.com", subject: "Bienvenue à Pictor", text: "Ça marche = oui", category: .account)
        let rendered = MIMEMessage.render(message, from: sender)
        #expect(rendered.contains("Subject: =?UTF-8?B?\(Data("Bienvenue à Pictor".utf8).base64EncodedString())?=\r\n"))
        #expect(rendered.contains("=C3=87a marche =3D oui"))
    }

    @Test func longLinesGetSoftBreaksAndTrailingSpaceIsEncoded() {
        let long = String(repeating: "abcdefghij", count: 20)
        let encoded = MIMEMessage.quotedPrintable(long + "\nend ")
        for line in encoded.components(separatedBy: "\r\n") { #expect(line.count <= 76) }
        #expect(encoded.replacingOccurrences(of: "=\r\n", with: "").hasPrefix(long + "\r\n"))
        #expect(encoded.hasSuffix("end=20"))
    }

    @Test func htmlMakesMultipartAlternative() {
        let message = MailMessage(to: "a@b.example", subject: "s", text: "plain", html: "<p>rich</p>", category: .security)
        let rendered = MIMEMessage.render(message, from: sender, messageID: "m2")
        #expect(rendered.contains("Content-Type: multipart/alternative; boundary=\"pictor-m2\""))
        #expect(rendered.contains("--pictor-m2\r\nContent-Type: text/plain"))
        #expect(rendered.contains("--pictor-m2\r\nContent-Type: text/html"))
        #expect(rendered.hasSuffix("--pictor-m2--\r\n"))
        #expect(rendered.contains("X-Pictor-Category: security"))
    }

    /// A message sent again (its first answer lost) carries the same Message-ID, so a receiving
    /// server can tell it is a repeat.
    @Test func aMessagesIDIsTheSameOnEveryAttempt() {
        let id = UUID()
        let message = MailMessage(to: "a@b.example", subject: "s", text: "t", category: .account, id: id)
        let header = "Message-ID: <\(id.uuidString.lowercased())@pictor.example>\r\n"
        #expect(MIMEMessage.render(message, from: sender).contains(header))
        #expect(MIMEMessage.render(message, from: sender).contains(header))
    }

    @Test(arguments: [
        ("Pictor", "Pictor <p@x.io>"),
        ("Pictor, Inc.", #""Pictor, Inc." <p@x.io>"#),
        (#"The "Best" \ Co"#, #""The \"Best\" \\ Co" <p@x.io>"#),
        ("Zoë", "=?UTF-8?B?\(Data("Zoë".utf8).base64EncodedString())?= <p@x.io>"),
    ])
    func senderNamesAreQuotedOrEncodedWhenTheyMustBe(_ name: String, _ header: String) {
        #expect(MIMEMessage.format(MailAddress(name: name, address: "p@x.io")) == header)
    }

    @Test(arguments: ["a@b.example", "Pictor <no-reply@pictor.example>", "\"Team\" <t@x.io>"])
    func addressesParse(_ raw: String) {
        #expect(MailAddress(parsing: raw) != nil)
    }

    @Test(arguments: ["", "no-at-sign", "a@b", "a b@c.example", "a@b.example\r\nBcc: x@y.z", "<>"])
    func badAddressesAreRefused(_ raw: String) {
        #expect(MailAddress(parsing: raw) == nil)
    }

    @Test func dotStuffingDoublesLeadingDots() {
        #expect(SMTPMailer.dotStuffed("a\r\n.b\r\n..c\r\n") == "a\r\n..b\r\n...c\r\n")
    }

    @Test func fileMailerWritesOneEmlFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let mailer = FileMailer(directory: directory)
        try await mailer.send(MailMessage(to: "ada@example.com", subject: "Hi", text: "Code 424242", category: .account), from: sender)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(files.count == 1 && files[0].hasSuffix(".eml"))
        let content = try String(contentsOf: directory.appendingPathComponent(files[0]), encoding: .utf8)
        #expect(content.contains("To: ada@example.com") && content.contains("Code 424242"))
    }
}
