import Domain
import Foundation
import Mail

/// How Pictor sends mail.
public struct MailSettings: Sendable, Equatable {
    public enum Transport: Sendable, Equatable {
        /// `.eml` files in a directory (the default: nothing leaves the machine).
        case file(directory: String)
        case smtp(SMTPSettings)
        /// Postmark's email API, or anything that speaks it.
        case http(endpoint: URL, token: String)
    }

    public var from: MailAddress
    public var transport: Transport
}

extension ConfigReader {
    func mail(dataDirectory: String) throws(ConfigError) -> MailSettings {
        let fromText = string("MAIL_FROM", default: "Pictor <no-reply@localhost.localdomain>")
        guard let from = MailAddress(parsing: fromText) else {
            throw ConfigError(variable: "MAIL_FROM", problem: "'\(fromText)' is not an address like 'Pictor <no-reply@example.com>'")
        }
        let transport: MailSettings.Transport
        switch string("MAIL_TRANSPORT", default: "file").lowercased() {
        case "file":
            transport = .file(directory: string("MAIL_OUTBOX_DIR", default: dataDirectory + "/outbox"))
        case "smtp":
            guard let host = optionalString("SMTP_HOST") else {
                throw ConfigError(variable: "SMTP_HOST", problem: "is required when MAIL_TRANSPORT=smtp")
            }
            let security: SMTPSettings.Security = try choice("SMTP_SECURITY", default: .starttls)
            let username = optionalString("SMTP_USERNAME")
            let password = optionalString("SMTP_PASSWORD")
            if username != nil, password == nil {
                throw ConfigError(variable: "SMTP_PASSWORD", problem: "is required when SMTP_USERNAME is set")
            }
            transport = .smtp(
                SMTPSettings(
                    host: host, port: try integer("SMTP_PORT", default: security == .tls ? 465 : 587, range: 1...65535),
                    security: security, username: username, password: password, caFile: optionalString("SMTP_CA_FILE")))
        case "http":
            guard let token = optionalString("MAIL_API_TOKEN") else {
                throw ConfigError(variable: "MAIL_API_TOKEN", problem: "is required when MAIL_TRANSPORT=http")
            }
            transport = .http(endpoint: try url("MAIL_API_URL", default: "https://api.postmarkapp.com/email"), token: token)
        case let other:
            throw ConfigError(variable: "MAIL_TRANSPORT", problem: "'\(other)' is not one of: file, smtp, http")
        }
        return MailSettings(from: from, transport: transport)
    }
}

extension MailSettings {
    /// The mailer for these settings.
    func makeMailer() -> any Mailer {
        switch transport {
        case .file(let directory): FileMailer(directory: URL(fileURLWithPath: directory))
        case .smtp(let settings): SMTPMailer(settings: settings)
        case .http(let endpoint, let token): HTTPMailer(endpoint: endpoint, token: token)
        }
    }

    /// For the start-up log line: never a password or token.
    var redacted: String {
        switch transport {
        case .file(let directory): "file:\(directory)"
        case .smtp(let settings): "smtp:\(settings.host):\(settings.port) (\(settings.security.rawValue))"
        case .http(let endpoint, _): "http:\(endpoint.host ?? "?")"
        }
    }
}
