import Foundation
import NIOCore
import NIOEmbedded
import TestSupport
import Testing

@testable import Mail

/// SMTPMailer against aiosmtpd, a real SMTP server, with STARTTLS and AUTH.
@Suite(.serialized) struct SMTPMailerTests {
    let sender = MailAddress(name: "Pictor", address: "no-reply@pictor.example")
    let message = MailMessage(
        to: "ada@example.com", subject: "Confirm your email",
        text: "Your code is 739201.\n.A line that starts with a dot.\nThanks", category: .account)

    func settings(_ server: TestServer, security: SMTPSettings.Security = .starttls, password: String = "secret") -> SMTPSettings {
        SMTPSettings(
            host: "127.0.0.1", port: server.port, security: security, username: "pictor", password: password,
            caFile: server.certificate, timeout: .seconds(20))
    }

    @Test(arguments: [[String](), ["--exclude-auth", "PLAIN"]])
    func deliversOverSTARTTLSWithAuth(_ serverOptions: [String]) async throws {
        let server = try TestServer(script: "smtp_server.py", arguments: serverOptions)
        defer { server.stop() }
        try await SMTPMailer(settings: settings(server)).send(message, from: sender)
        let records = try server.records()
        #expect(records.count == 1)
        let record = try #require(records.first)
        #expect(record["mail_from"] as? String == "no-reply@pictor.example")
        #expect(record["rcpt_tos"] as? [String] == ["ada@example.com"])
        let data = try #require(record["data"] as? String)
        #expect(data.contains("Subject: Confirm your email"))
        #expect(data.contains("Your code is 739201."))
        #expect(data.contains("\n.A line that starts with a dot."), "dot-stuffing undone by the server")
    }

    @Test func wrongPasswordIsAPermanentFailure() async throws {
        let server = try TestServer(script: "smtp_server.py")
        defer { server.stop() }
        await #expect {
            try await SMTPMailer(settings: settings(server, password: "wrong")).send(message, from: sender)
        } throws: { error in
            guard case MailDeliveryError.permanent(let reason) = error else { return false }
            return reason.contains("535") && !reason.contains("wrong")
        }
        #expect(try server.records().isEmpty)
    }

    @Test func serverWithoutSTARTTLSIsRefusedRatherThanSentInClear() async throws {
        let server = try TestServer(script: "smtp_server.py", arguments: ["--no-tls"])
        defer { server.stop() }
        var plain = settings(server)
        plain.caFile = nil
        await #expect(throws: MailDeliveryError.permanent("the SMTP server does not offer STARTTLS (set SMTP_SECURITY=none only for a local relay)"))
        {
            try await SMTPMailer(settings: plain).send(message, from: sender)
        }
        #expect(try server.records().isEmpty)
    }

    /// Someone between Pictor and the server answers STARTTLS with a second, plaintext reply in
    /// the same packet. Read after encryption began, it would be taken for the server's answer to
    /// the next command, and every reply after it for the one before. Refused before TLS starts.
    @Test func aReplyInjectedBeforeEncryptionIsRefused() async throws {
        let server = try TestServer(script: "smtp_server.py", arguments: ["--inject-after-starttls"])
        defer { server.stop() }
        await #expect {
            try await SMTPMailer(settings: settings(server)).send(message, from: sender)
        } throws: { error in
            guard case MailDeliveryError.retryable(let reason) = error else { return false }
            return reason.contains("tampering")
        }
        let lines = try JSONSerialization.jsonObject(with: Data(contentsOf: server.directory.appendingPathComponent("lines.json"))) as? [String]
        #expect(lines?.count == 2 && lines?.last == "STARTTLS", "\(lines ?? [])")  // nothing more was sent
    }

    /// Reply lines that arrive split across reads leave nothing pending once complete: the
    /// STARTTLS check must not take an honest server's split line for injected text.
    @Test func splitReplyLinesLeaveNothingPending() throws {
        let received = SMTPReceivedLines()
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyLineDecoder(received: received)))
        try channel.writeInbound(ByteBuffer(string: "220 mail.exa"))
        #expect(received.partial && received.lines == 0)
        try channel.writeInbound(ByteBuffer(string: "mple ESMTP\r\n250-first\r\n250 la"))
        try channel.writeInbound(ByteBuffer(string: "st\r\n"))
        #expect(received.lines == 3 && !received.partial)
        _ = try channel.finish()
    }

    @Test func localRelayWithoutTLSWorksWhenAskedFor() async throws {
        let server = try TestServer(script: "smtp_server.py", arguments: ["--no-tls"])
        defer { server.stop() }
        let relay = SMTPSettings(host: "127.0.0.1", port: server.port, security: .none, username: "pictor", password: "secret")
        try await SMTPMailer(settings: relay).send(message, from: sender)
        #expect(try server.records().count == 1)
    }

    @Test func untrustedCertificateFails() async throws {
        let server = try TestServer(script: "smtp_server.py")
        defer { server.stop() }
        var untrusted = settings(server)
        untrusted.caFile = nil
        await #expect(throws: MailDeliveryError.self) { try await SMTPMailer(settings: untrusted).send(message, from: sender) }
        #expect(try server.records().isEmpty)
    }

    @Test func unreachableServerIsTemporary() async throws {
        let closed = SMTPSettings(host: "127.0.0.1", port: 9, security: .starttls, timeout: .seconds(5))
        await #expect {
            try await SMTPMailer(settings: closed).send(message, from: sender)
        } throws: { error in
            if case MailDeliveryError.retryable = error { return true }
            return false
        }
    }
}

/// HTTPMailer against a local server that answers in Postmark's documented format.
@Suite(.serialized) struct HTTPMailerTests {
    let sender = MailAddress(name: "Pictor", address: "no-reply@pictor.example")

    func mailer(_ server: TestServer, token: String = "test-token") -> HTTPMailer {
        HTTPMailer(endpoint: URL(string: "http://127.0.0.1:\(server.port)/email")!, token: token)
    }

    @Test func sendsThePostmarkRequest() async throws {
        let server = try TestServer(script: "email_api_server.py")
        defer { server.stop() }
        let message = MailMessage(to: "ada@example.com", subject: "Receipt", text: "Thanks", html: "<p>Thanks</p>", category: .payment)
        try await mailer(server).send(message, from: sender)
        let record = try #require(try server.records().first)
        #expect(record["path"] as? String == "/email")
        let headers = try #require(record["headers"] as? [String: String])
        #expect(headers["x-postmark-server-token"] == "test-token")
        #expect(headers["content-type"] == "application/json")
        let body = try JSONSerialization.jsonObject(with: Data((record["body"] as? String ?? "").utf8)) as? [String: String]
        #expect(
            body == [
                "From": "Pictor <no-reply@pictor.example>", "To": "ada@example.com", "Subject": "Receipt",
                "TextBody": "Thanks", "HtmlBody": "<p>Thanks</p>", "Tag": "payment", "MessageStream": "outbound",
            ])
    }

    @Test(arguments: [
        ("x@reject.example", "test-token", false),
        ("ada@example.com", "bad-token", false),
        ("x@busy.example", "test-token", true),
        ("x@broken.example", "test-token", true),
    ])
    func failuresAreClassified(_ to: String, _ token: String, _ retryable: Bool) async throws {
        let server = try TestServer(script: "email_api_server.py")
        defer { server.stop() }
        let message = MailMessage(to: to, subject: "s", text: "t", category: .account)
        await #expect {
            try await mailer(server, token: token).send(message, from: sender)
        } throws: { error in
            switch error {
            case MailDeliveryError.retryable: return retryable
            case MailDeliveryError.permanent: return !retryable
            default: return false
            }
        }
    }
}
