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
        // Written next to its final name, then renamed: a reader of the outbox never sees half
        // a message. (Foundation's `.atomic` on Linux goes through a directory it makes in /tmp
        // for every write and leaves behind.)
        let partial = directory.appendingPathComponent(".partial-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(rendered.utf8).write(to: partial)
            try FileManager.default.moveItem(at: partial, to: file)
        } catch {
            try? FileManager.default.removeItem(at: partial)
            throw MailDeliveryError.retryable("could not write \(file.lastPathComponent): \(error.localizedDescription)")
        }
    }
}
