import Domain
import Fluent
import Mail
import Persistence
import Vapor

/// Queues service mail. `queue` writes the message to the outbox and enqueues its
/// `mail.send` job on the same database handle, so inside a transaction both commit
/// or neither does; the worker delivers it later, with retries. A message's subject and
/// bodies are stored sealed with the server's key: they carry one-time codes (sign-up, reset,
/// new address) that anyone reading the database, or a backup of it, could otherwise use.
enum Postman {
    static let jobKind = "mail.send"
    static let sealPurpose = "mail-outbox"

    struct Payload: Codable {
        let outboxID: UUID
    }

    /// Whether a message with this subject went to this address within `seconds`
    /// (notices that anyone can trigger are sent at most that often).
    static func recentlyQueued(
        to recipient: String, subject: String, within seconds: TimeInterval, now: Date, secrets: Secrets, on db: any Database
    ) async throws -> Bool {
        try await MailOutboxStore.queued(to: recipient, since: now.addingTimeInterval(-seconds), on: db)
            .contains { (try? message(in: $0, secrets: secrets).subject) == subject }
    }

    /// The message an outbox row holds, unsealed. Rows queued before messages were sealed (an
    /// upgrade with mail in flight) hold plain text, which is never base64: sent as they are
    /// rather than lost. A sealed row this server's key cannot open throws.
    static func message(in row: MailOutboxModel, secrets: Secrets) throws -> MailMessage {
        func unsealed(_ sealed: String) throws -> String { String(decoding: try secrets.open(sealed, purpose: sealPurpose), as: UTF8.self) }
        let plain = Data(base64Encoded: row.subject) == nil
        func open(_ text: String) throws -> String { plain ? text : try unsealed(text) }
        return MailMessage(
            to: row.recipient, subject: try open(row.subject), text: try open(row.bodyText), html: try row.bodyHTML.map(open),
            category: MailMessage.Category(rawValue: row.category) ?? .account, id: row.id)
    }

    @discardableResult
    static func queue(_ message: MailMessage, userID: UUID? = nil, app: Application, on db: any Database) async throws -> UUID {
        let row = MailOutboxModel()
        row.id = UUID()
        row.userID = userID
        row.recipient = message.to
        let secrets = app.pictor.secrets
        func seal(_ text: String) throws -> String { try secrets.seal(Data(text.utf8), purpose: sealPurpose) }
        row.subject = try seal(message.subject)
        row.bodyText = try seal(message.text)
        row.bodyHTML = try message.html.map(seal)
        row.category = message.category.rawValue
        row.createdAt = app.pictor.clock.now()
        try await MailOutboxStore.insert(row, on: db)
        let payload = String(decoding: try JSONEncoder().encode(Payload(outboxID: row.id!)), as: UTF8.self)
        try await app.enqueue(NewJob(kind: jobKind, payload: payload, maxAttempts: 8), on: db)
        return row.id!
    }
}

/// Delivers one outbox message. A message already marked sent is not sent again.
struct SendMailHandler: JobHandler {
    let kind = Postman.jobKind

    func run(_ job: ClaimedJob, context: JobContext) async throws {
        let app = context.application
        guard let payload = try? JSONDecoder().decode(Postman.Payload.self, from: Data(job.payload.utf8)) else {
            throw JobFailure.permanent("unreadable mail.send payload")
        }
        guard let row = try await MailOutboxStore.find(payload.outboxID, on: app.db) else {
            context.logger.notice("outbox message is gone (erased or swept); nothing to send")
            return
        }
        guard row.sentAt == nil else { return }
        let message: MailMessage
        do {
            message = try Postman.message(in: row, secrets: app.pictor.secrets)
        } catch {
            throw JobFailure.permanent("the outbox message cannot be opened with this server's key")
        }
        do {
            try await app.pictor.mailer.send(message, from: app.pictor.config.mail.from)
        } catch let error as MailDeliveryError {
            // The reason goes to the job's last error and the log, kept as operational records
            // with no person in them: servers quote the address ("550 <ada@…> unknown").
            switch error {
            case .retryable(let reason): throw JobFailure.retryable(Self.withoutAddress(reason, row.recipient))
            case .permanent(let reason): throw JobFailure.permanent(Self.withoutAddress(reason, row.recipient))
            }
        }
        try await MailOutboxStore.markSent(row.id!, at: app.pictor.clock.now(), on: app.db)
        context.logger.info("mail sent", metadata: ["category": .string(row.category)])
    }

    static func withoutAddress(_ reason: String, _ address: String) -> String {
        reason.replacingOccurrences(of: address, with: "(the recipient)", options: .caseInsensitive)
    }
}
