import Domain
import Fluent
import Foundation
import Mail
import Persistence
import Testing
import Vapor

@testable import App

/// A mailer that fails as scripted, then records what it sends.
final class ScriptedMailer: Mailer {
    let failures: Locked<[MailDeliveryError]>
    let sent = Locked<[MailMessage]>([])

    init(failing: [MailDeliveryError] = []) {
        failures = Locked(failing)
    }

    func send(_ message: MailMessage, from sender: MailAddress) async throws {
        if let failure = failures.update({ $0.isEmpty ? nil : $0.removeFirst() }) { throw failure }
        sent.update { $0.append(message) }
    }
}

func useMailer(_ mailer: any Mailer, in app: Application) {
    app.pictor = app.pictor.with(mailer: mailer)
}

@Suite struct MailQueueTests {
    let welcome = MailMessage(to: "ada@example.com", subject: "Welcome", text: "Your code is 123456", category: .account)

    @Test func mailQueuedInARolledBackTransactionIsNeverSent() async throws {
        struct Abandon: Error {}
        try await withPictor { (app: Application) async throws in
            await #expect(throws: Abandon.self) {
                try await app.db.transaction { tx in
                    try await Postman.queue(welcome, app: app, on: tx)
                    throw Abandon()
                }
            }
            #expect(try await MailOutboxModel.query(on: app.db).count() == 0)
            #expect(try await JobQueue.counts(on: app.db).isEmpty)
        }
    }

    @Test func queuedMailIsWrittenToTheFileOutboxByTheWorker() async throws {
        try await withPictor { app in
            let id = try await Postman.queue(welcome, app: app, on: app.db)
            // Its code is not readable in the database (or a backup of it): sealed with the server's key.
            let stored = try #require(try await sqlDatabase(app.db).raw("SELECT subject, body_text FROM mail_outbox").first())
            let columns = [try stored.decode(column: "subject", as: String.self), try stored.decode(column: "body_text", as: String.self)]
            #expect(!columns.contains { $0.contains("123456") || $0.contains("Welcome") }, "\(columns)")
            try await withRunner(app, handlers: [SendMailHandler()]) { (_: JobRunner) async throws in
                #expect(try await eventually { try await MailOutboxModel.find(id, on: app.db)?.sentAt != nil })
            }
            guard case .file(let directory) = app.pictor.config.mail.transport else {
                Issue.record("the default transport is the file outbox")
                return
            }
            let files = try FileManager.default.contentsOfDirectory(atPath: directory)
            #expect(files.count == 1)
            let eml = try String(contentsOfFile: directory + "/" + files[0], encoding: .utf8)
            #expect(eml.contains("To: ada@example.com") && eml.contains("Your code is 123456"))
            #expect(eml.contains("From: Pictor <no-reply@localhost.localdomain>"))
            // Named after its outbox row: the same on a second attempt.
            #expect(eml.contains("Message-ID: <\(id.uuidString.lowercased())@localhost.localdomain>"))
        }
    }

    /// A message queued before messages were sealed (mail in flight during an upgrade) is sent
    /// as it was written, not lost.
    @Test func aMessageQueuedBeforeSealingIsStillSent() async throws {
        try await withPictor { app in
            let mailer = ScriptedMailer()
            useMailer(mailer, in: app)
            let id = try await Postman.queue(welcome, app: app, on: app.db)
            try await sqlDatabase(app.db).raw(
                """
                UPDATE mail_outbox SET subject = 'Welcome', body_text = 'Your code is 123456' WHERE id = \(bind: id)
                """
            ).run()
            try await withRunner(app, handlers: [SendMailHandler()]) { (_: JobRunner) async throws in
                #expect(try await eventually { try await MailOutboxModel.find(id, on: app.db)?.sentAt != nil })
            }
            #expect(mailer.sent.value.map(\.subject) == ["Welcome"] && mailer.sent.value.first?.text == "Your code is 123456")
        }
    }

    @Test func aMessageIsNotSentTwiceWhenItsJobRunsAgain() async throws {
        try await withPictor { app in
            let mailer = ScriptedMailer()
            useMailer(mailer, in: app)
            let id = try await Postman.queue(welcome, app: app, on: app.db)
            try await withRunner(app, handlers: [SendMailHandler()]) { (_: JobRunner) async throws in
                #expect(try await eventually { try await MailOutboxModel.find(id, on: app.db)?.sentAt != nil })
                // The same outbox message delivered by a second job (a retry after a lost lease, say).
                let payload = String(decoding: try JSONEncoder().encode(Postman.Payload(outboxID: id)), as: UTF8.self)
                let again = try await app.enqueue(NewJob(kind: Postman.jobKind, payload: payload), on: app.db)
                #expect(try await eventually { try await JobQueue.snapshot(again, on: app.db)?.state == .succeeded })
            }
            #expect(mailer.sent.value.count == 1)
        }
    }

    @Test func temporaryFailuresAreRetriedAndPermanentOnesBuried() async throws {
        try await withPictor { app in
            let mailer = ScriptedMailer(failing: [.retryable("421 try later"), .retryable("timeout")])
            useMailer(mailer, in: app)
            let retried = try await Postman.queue(welcome, app: app, on: app.db)
            try await withRunner(app, handlers: [SendMailHandler()]) { (_: JobRunner) async throws in
                // Three attempts with backoff; the whole suite runs in parallel on two cores, so allow time.
                #expect(try await eventually(within: 30) { try await MailOutboxModel.find(retried, on: app.db)?.sentAt != nil })
            }
            #expect(mailer.sent.value.map(\.to) == ["ada@example.com"])

            let refusing = ScriptedMailer(failing: [.permanent("550 <Nobody@Example.com> no such user, to RCPT TO:<nobody@example.com>")])
            useMailer(refusing, in: app)
            let refused = try await Postman.queue(
                MailMessage(to: "nobody@example.com", subject: "s", text: "t", category: .account), app: app, on: app.db)
            try await withRunner(app, handlers: [SendMailHandler()]) { (_: JobRunner) async throws in
                #expect(try await eventually { try await JobQueue.counts(on: app.db)[.dead] == 1 })
            }
            #expect(try await MailOutboxModel.find(refused, on: app.db)?.sentAt == nil)
            // Why, without whom: the job's error is an operational record, kept apart from the person.
            let reason = try await sqlDatabase(app.db).raw("SELECT last_error FROM jobs WHERE state = 'dead'").first()?
                .decode(column: "last_error", as: String.self)
            #expect(reason == "550 <(the recipient)> no such user, to RCPT TO:<(the recipient)>")
            #expect(refusing.sent.value.isEmpty)
        }
    }
}

@Suite struct MailConfigTests {
    @Test func defaultIsTheFileOutboxUnderTheDataDirectory() throws {
        let config = try AppConfig.load(environment: ["DATA_DIR": "/srv/p"])
        #expect(config.mail.transport == .file(directory: "/srv/p/outbox"))
        #expect(config.mail.from == MailAddress(name: "Pictor", address: "no-reply@localhost.localdomain"))
    }

    @Test func smtpSettingsAreParsedAndThePasswordNeverLogged() throws {
        let config = try AppConfig.load(environment: [
            "MAIL_TRANSPORT": "smtp", "SMTP_HOST": "mail.example.com", "SMTP_USERNAME": "pictor",
            "SMTP_PASSWORD": "hunter2", "MAIL_FROM": "Pictor <hello@pictor.example>",
        ])
        #expect(
            config.mail.transport
                == .smtp(
                    SMTPSettings(
                        host: "mail.example.com", port: 587, security: .starttls, username: "pictor", password: "hunter2")))
        #expect(!config.redactedSummary.values.joined().contains("hunter2"))
        let implicit = try AppConfig.load(environment: ["MAIL_TRANSPORT": "smtp", "SMTP_HOST": "h.example", "SMTP_SECURITY": "tls"])
        guard case .smtp(let settings) = implicit.mail.transport else {
            Issue.record("smtp")
            return
        }
        #expect(settings.port == 465)
    }

    @Test(arguments: [
        (["MAIL_TRANSPORT": "smtp"], "SMTP_HOST: is required when MAIL_TRANSPORT=smtp"),
        (["MAIL_TRANSPORT": "smtp", "SMTP_HOST": "h", "SMTP_USERNAME": "u"], "SMTP_PASSWORD: is required when SMTP_USERNAME is set"),
        (["MAIL_TRANSPORT": "http"], "MAIL_API_TOKEN: is required when MAIL_TRANSPORT=http"),
        (["MAIL_TRANSPORT": "pigeon"], "MAIL_TRANSPORT: 'pigeon' is not one of: file, smtp, http"),
        (["MAIL_FROM": "not an address"], "MAIL_FROM: 'not an address' is not an address like 'Pictor <no-reply@example.com>'"),
        (["MAIL_TRANSPORT": "smtp", "SMTP_HOST": "h", "SMTP_SECURITY": "ssl"], "SMTP_SECURITY: 'ssl' is not one of: starttls, tls, none"),
    ])
    func badMailSettingsNameTheVariable(_ environment: [String: String], _ message: String) {
        #expect(throws: ConfigError.self) { try AppConfig.load(environment: environment) }
        do { _ = try AppConfig.load(environment: environment) } catch { #expect(error.description == message) }
    }
}
