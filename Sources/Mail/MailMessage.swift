import Foundation

/// One email: a service notice (account, security, payment, policy) to one person.
public struct MailMessage: Sendable, Equatable, Codable {
    public enum Category: String, Sendable, Codable, CaseIterable {
        case account, security, payment, policy
    }

    public var to: String
    public var subject: String
    public var text: String
    public var html: String?
    public var category: Category
    /// Names the message in its `Message-ID`, the same on every attempt to send it (Pictor
    /// uses its outbox row's id): a message sent again after a lost answer is recognisable as
    /// the same one. Nil: a new id each time it is rendered.
    public var id: UUID?

    public init(to: String, subject: String, text: String, html: String? = nil, category: Category, id: UUID? = nil) {
        self.id = id
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.category = category
    }
}

/// Sends mail. Implementations: `FileMailer` (default: `.eml` files), `SMTPMailer`,
/// `HTTPMailer` (an HTTP email API); tests add their own.
public protocol Mailer: Sendable {
    /// Delivers the message or throws `MailDeliveryError`.
    func send(_ message: MailMessage, from sender: MailAddress) async throws
}

/// Why a message was not delivered, and whether trying again can help.
public enum MailDeliveryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A timeout, a refused connection, a 4xx SMTP reply, a 429 or 5xx from an API.
    case retryable(String)
    /// A 5xx SMTP reply, a rejected recipient, bad credentials, a 4xx from an API.
    case permanent(String)

    public var description: String {
        switch self {
        case .retryable(let reason): "temporary: \(reason)"
        case .permanent(let reason): "permanent: \(reason)"
        }
    }
}

/// `Display Name <local@domain>` or a bare address.
public struct MailAddress: Sendable, Equatable {
    public let name: String?
    public let address: String

    public init(name: String? = nil, address: String) {
        self.name = name
        self.address = address
    }

    /// Parses `Name <a@b>` or `a@b`; nil when there is no plausible address.
    public init?(parsing raw: String) {
        let text = raw.trimmingCharacters(in: .whitespaces)
        if let open = text.lastIndex(of: "<"), text.hasSuffix(">") {
            let address = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
            let name = text[..<open].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            self.init(name: name.isEmpty ? nil : name, address: address)
        } else {
            self.init(name: nil, address: text)
        }
        guard MailAddress.isPlausible(address) else { return nil }
    }

    /// One `@`, something on each side, no spaces, angle brackets or line breaks.
    public static func isPlausible(_ address: String) -> Bool {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix(".") else {
            return false
        }
        return !address.contains { $0.isWhitespace || "<>\r\n,;\"".contains($0) }
    }
}
