import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Sends mail over SMTP (RFC 5321): EHLO, STARTTLS (or implicit TLS), AUTH PLAIN or
/// LOGIN, then one message per connection. 4xx replies are temporary, 5xx permanent.
public struct SMTPMailer: Mailer {
    public let settings: SMTPSettings
    private let heloName: String

    public init(settings: SMTPSettings, heloName: String = ProcessInfo.processInfo.hostName) {
        self.settings = settings
        self.heloName = heloName.isEmpty ? "localhost" : heloName
    }

    public func send(_ message: MailMessage, from sender: MailAddress) async throws {
        let data = MIMEMessage.render(message, from: sender)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.deliver(data, from: sender.address, to: message.to) }
                group.addTask {
                    try await Task.sleep(for: settings.timeout)
                    throw MailDeliveryError.retryable("the SMTP server did not finish within \(settings.timeout)")
                }
                try await group.next()
                group.cancelAll()
            }
        } catch let error as MailDeliveryError {
            throw error
        } catch {
            throw MailDeliveryError.retryable("SMTP connection to \(settings.host):\(settings.port) failed: \(error)")
        }
    }

    private func deliver(_ data: String, from: String, to: String) async throws {
        let tls = try makeTLSContext()
        let host = settings.host
        let received = SMTPReceivedLines()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: settings.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if settings.security == .tls {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tls, serverHostname: Self.sniName(host)))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPReplyLineDecoder(received: received)))
                    return try NIOAsyncChannel<String, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            var session = SMTPSession(lines: inbound.makeAsyncIterator(), outbound: outbound)
            try await session.expect(220)
            var capabilities = try await session.command("EHLO \(heloName)", expect: 250)
            if settings.security == .starttls {
                guard capabilities.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) else {
                    throw MailDeliveryError.permanent("the SMTP server does not offer STARTTLS (set SMTP_SECURITY=none only for a local relay)")
                }
                _ = try await session.command("STARTTLS", expect: 220)
                let repliesRead = session.linesRead
                try await channel.channel.eventLoop.submit {
                    // Whatever arrived after the 220 was sent before encryption: a reply injected
                    // by someone in between, which would be taken for the server's answer to what
                    // follows. Checked on the event loop, where nothing more is read before TLS.
                    guard received.lines == repliesRead, !received.partial else {
                        throw MailDeliveryError.retryable(
                            "the SMTP server's agreement to STARTTLS came with more text before encryption began; refused, as someone between may be tampering with the connection"
                        )
                    }
                    try channel.channel.pipeline.syncOperations.addHandler(
                        try NIOSSLClientHandler(context: tls, serverHostname: Self.sniName(host)), position: .first)
                }.get()
                capabilities = try await session.command("EHLO \(heloName)", expect: 250)
            }
            if let username = settings.username {
                try await authenticate(&session, username: username, password: settings.password ?? "", capabilities: capabilities)
            }
            _ = try await session.command("MAIL FROM:<\(from)>", expect: 250)
            _ = try await session.command("RCPT TO:<\(to)>", expect: 250, 251)
            _ = try await session.command("DATA", expect: 354)
            _ = try await session.command(Self.dotStuffed(data) + ".", expect: 250)
            _ = try? await session.command("QUIT", expect: 221)
        }
    }

    private func authenticate(
        _ session: inout SMTPSession, username: String, password: String, capabilities: [String]
    ) async throws {
        let offered = capabilities.first { $0.uppercased().hasPrefix("AUTH") }?.uppercased().split(separator: " ") ?? []
        if offered.contains("PLAIN") {
            let token = Data(("\0" + username + "\0" + password).utf8).base64EncodedString()
            _ = try await session.command("AUTH PLAIN \(token)", expect: 235, redacted: "AUTH PLAIN ***")
        } else if offered.contains("LOGIN") {
            _ = try await session.command("AUTH LOGIN", expect: 334)
            _ = try await session.command(Data(username.utf8).base64EncodedString(), expect: 334, redacted: "***")
            _ = try await session.command(Data(password.utf8).base64EncodedString(), expect: 235, redacted: "***")
        } else {
            throw MailDeliveryError.permanent("the SMTP server offers neither AUTH PLAIN nor AUTH LOGIN")
        }
    }

    private func makeTLSContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile = settings.caFile {
            configuration.additionalTrustRoots = [.file(caFile)]
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// SNI may not carry an IP address.
    private static func sniName(_ host: String) -> String? {
        host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" } ? nil : host
    }

    /// Lines that start with "." get a second one (RFC 5321 §4.5.2).
    static func dotStuffed(_ data: String) -> String {
        data.split(separator: "\r\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(".") ? "." + $0 : String($0) }
            .joined(separator: "\r\n")
    }
}

/// The command/reply conversation on one connection.
struct SMTPSession {
    var lines: NIOAsyncChannelInboundStream<String>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    /// How many reply lines have been read.
    private(set) var linesRead = 0

    /// Reads the server's greeting.
    mutating func expect(_ code: Int) async throws {
        _ = try await reply(expecting: [code], after: "connecting")
    }

    /// Sends one command line and reads its reply; returns the text of each reply line.
    /// `redacted` is what an error shows instead of the command (credentials).
    mutating func command(_ line: String, expect codes: Int..., redacted: String? = nil) async throws -> [String] {
        try await outbound.write(ByteBuffer(string: line + "\r\n"))
        return try await reply(expecting: codes, after: redacted ?? String(line.prefix(40)))
    }

    /// One reply, all its `250-…` continuation lines included.
    private mutating func reply(expecting codes: [Int], after sent: String) async throws -> [String] {
        var texts: [String] = []
        while true {
            guard let line = try await lines.next() else {
                throw MailDeliveryError.retryable("the SMTP server closed the connection after \(sent)")
            }
            linesRead += 1
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)) else {
                throw MailDeliveryError.retryable("unreadable SMTP reply after \(sent): \(line.prefix(80))")
            }
            texts.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
            if bytes.count > 3, bytes[3] == UInt8(ascii: "-") { continue }
            guard codes.contains(code) else {
                let reason = "the SMTP server answered \"\(line.prefix(200))\" to \(sent)"
                throw code >= 500 ? MailDeliveryError.permanent(reason) : MailDeliveryError.retryable(reason)
            }
            return texts
        }
    }
}

/// Splits the byte stream into lines without their CRLF, counting them in `received`.
struct SMTPReplyLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = String
    let received: SMTPReceivedLines

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")),
            var bytes = buffer.readBytes(length: newline - buffer.readerIndex + 1)
        else {
            received.state.withLock { $0.partial = buffer.readableBytes > 0 }
            return .needMoreData
        }
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
        received.state.withLock {
            $0.lines += 1
            $0.partial = buffer.readableBytes > 0  // (not called again once the buffer is empty)
        }
        context.fireChannelRead(wrapInboundOut(String(decoding: bytes, as: UTF8.self)))
        return .continue
    }
}

/// What the decoder has taken off the connection: complete lines, and whether part of one is
/// waiting for its end.
final class SMTPReceivedLines: Sendable {
    let state = Mutex<(lines: Int, partial: Bool)>((0, false))
    var lines: Int { state.withLock { $0.lines } }
    var partial: Bool { state.withLock { $0.partial } }
}
