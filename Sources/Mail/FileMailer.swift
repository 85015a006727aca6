import Foundation

/// The default mailer: each message becomes an `.eml` file in a directory
/// (`./data/outbox/`), written atomically. Nothing leaves the machine.
public struct FileMailer: Mailer {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    public func send(_ message: MailMessage, from sender: MailAddress) async throws {
        let rendered = MIMEMessage.render(message, from: sender)
        let stamp = Int(Date().timeIntervalSince1970 * 1000)
        let file = directory.appendingPathComponent("\(stamp)-\(UUID().uuidString).eml")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(rendered.utf8).write(to: file, options: .atomic)
        } catch {
            throw MailDeliveryError.retryable("could not write \(file.lastPathComponent): \(error.localizedDescription)")
        }
    }
}
