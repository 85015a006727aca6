import Domain
import Fluent
import Foundation
import Mail
import Persistence
import Providers
import SQLKit
import Storage
import Testing
import Vapor
import VaporTesting

@testable import App

/// The map of a person's data (`PersonDataMap`) holds every row and blob the data inventory says
/// is theirs and nothing of anyone else's: export, erasure and retention are built on it.
@Suite struct PersonDataMapTests {
    /// What the test made for one person: row ids by table (lower-cased UUIDs) and blob keys.
    struct Seeded {
        let userID: UUID
        var rows: [String: Set<String>] = [:]
        var blobKeys: Set<String> = []

        mutating func add(_ table: String, _ id: UUID?) throws {
            let id = try #require(id, "a row of \(table) without an id")
            rows[table, default: []].insert(id.uuidString.lowercased())
        }
    }

    /// Gives `email` a row in every person-linked table, through the real flows where they are
    /// cheap: sign-up and sign-in (the account, a session, the email code, mails, audit events), a
    /// reference upload, and a generation by an outside processor (the content key, images and a
    /// disclosure). What has no cheap flow is stored through its store or model: an API key, a
    /// recovery code, a download and a share link.
    func seed(_ app: Application, email: String) async throws -> Seeded {
        let browser = try await signedInForAPI(app, email: email)
        let user = try #require(try await UserModel.query(on: app.db).filter(\.$email == email).first())
        let userID = try user.requireID()
        var seeded = Seeded(userID: userID)
        try seeded.add("users", userID)
        for session in try await SessionModel.query(on: app.db).filter(\.$userID == userID).all() {
            try seeded.add("sessions", session.id)
        }
        for code in try await OneTimeCodeModel.query(on: app.db).filter(\.$userID == userID).all() {
            try seeded.add("one_time_codes", code.id)
        }
        // Found by address, not by the owner column the map reads.
        for mail in try await MailOutboxModel.query(on: app.db).filter(\.$recipient == email).all() {
            try seeded.add("mail_outbox", mail.id)
        }
        for event in try await AuditEventModel.query(on: app.db).filter(\.$actorUserID == userID).all() {
            try seeded.add("audit_log", event.id)
        }

        let reference: ReferenceImageTests.Reference = try await browser.apiBytes(
            .POST, "/api/v1/reference-images", multipart: try ReferenceImageTests.photoWithComment("mine")
        ).decoded()
        try seeded.add("reference_images", reference.id)
        let storedReference = try #require(try await ReferenceImageModel.find(reference.id, on: app.db))
        seeded.blobKeys.insert(storedReference.blobKey)

        let created: GenerationView = try await browser.generate(
            #"{"model":"remote","prompt":"a lighthouse at dusk","size":"64x64"}"#
        ).decoded()
        let done = try await withRunner(app, handlers: workHandlers) { _ in try await browser.finished(created.id) }
        #expect(done.status == "succeeded", "\(done.status): \(done.reason ?? "")")
        try seeded.add("generations", done.id)
        // A person's content key is keyed by their own id.
        #expect(try await ContentKeyModel.find(userID, on: app.db) != nil)
        try seeded.add("content_keys", userID)
        for image in try await GenerationImageModel.query(on: app.db).filter(\.$generationID == done.id).all() {
            try seeded.add("generation_images", image.id)
            seeded.blobKeys.formUnion([image.blobKey, image.thumbnailKey])
        }
        for disclosure in try await DisclosureStore.list(of: userID, limit: 10, on: app.db) {
            try seeded.add("disclosures", disclosure.id)
        }

        let key = APIKeyModel()
        key.userID = userID
        key.name = "data map"
        key.prefix = "pictor_" + String(UUID().uuidString.lowercased().prefix(8))
        key.keyHash = UUID().uuidString
        key.scopes = "account:read"
        key.createdAt = Date()
        try await key.create(on: app.db)
        try seeded.add("api_keys", key.id)

        let recovery = RecoveryCodeModel()
        recovery.userID = userID
        recovery.codeHash = UUID().uuidString
        recovery.createdAt = Date()
        try await recovery.create(on: app.db)
        try seeded.add("recovery_codes", recovery.id)

        let image = try #require(done.images.first)
        // Credits: a grant (wallet, lot, entry) and a hold for the generation (its parts).
        let lot = try await LedgerStore.add(
            3, to: userID, source: .free, kind: .grant, expiresAt: nil, orderID: nil, reason: "test", now: Date(), on: app.db)
        #expect(try await LedgerStore.hold(1, for: done.id, of: userID, now: Date(), on: app.db))
        seeded.rows["wallets", default: []].insert(userID.uuidString.lowercased())
        try seeded.add("credit_lots", lot)
        for row in try await sqlDatabase(app.db).raw("SELECT id FROM credit_hold_parts WHERE generation_id = \(bind: done.id)").all() {
            try seeded.add("credit_hold_parts", try row.decode(column: "id", as: UUID.self))
        }
        for entry in try await LedgerEntryModel.query(on: app.db).filter(\.$lotID == lot).all() {
            try seeded.add("ledger_entries", entry.id)
        }
        // An order for credits and a refund request about it.
        let order = OrderModel.new(
            user: userID, pack: CreditPack(id: "starter", name: "Starter", credits: 10, amountMinor: 100, currency: "USD"), provider: "offline",
            network: "192.0.2.0/24", now: Date())
        try await OrderStore.insert(order, on: app.db)
        try seeded.add("orders", order.id)
        let refund = RefundRequestModel()
        refund.orderID = try order.requireID()
        refund.userID = userID
        refund.reason = "test"
        refund.state = .requested
        refund.creditsTaken = 0
        refund.amountRefundedMinor = 0
        refund.createdAt = Date()
        try await RefundRequestStore.insert(refund, on: app.db)
        try seeded.add("refund_requests", refund.id)
        // A privacy request and a restriction.
        let privacy = PrivacyRequestModel.new(
            kind: .restriction, user: userID, email: nil, channel: .centre, jurisdiction: .gdpr, state: .complete, detail: "manual_review",
            now: Date())
        try await PrivacyRequestStore.insert(privacy, on: app.db)
        try seeded.add("privacy_requests", privacy.id)
        #expect(try await PrivacyRestrictionStore.set(.manualReview, user: userID, request: privacy.id, now: Date(), on: app.db))
        try seeded.add("processing_restrictions", try await ProcessingRestrictionModel.query(on: app.db).filter(\.$userID == userID).first()?.id)

        let download = DownloadRecord(userID: userID, imageID: image.id, generationID: done.id, format: "png", createdAt: Date())
        try await DownloadStore.record(download, on: app.db)
        try seeded.add("downloads", download.id)

        let link = ShareLink(
            userID: userID, generationID: done.id, tokenHash: UUID().uuidString, showsPrompt: false, createdAt: Date(), expiresAt: nil)
        try await ShareLinkStore.insert(link, on: app.db)
        try seeded.add("share_links", link.id)
        return seeded
    }

    @Test func theMapOfOnePersonHoldsAllOfTheirsAndNoneOfAnothers() async throws {
        try await withPictor { app in
            app.pictor = app.pictor.with(models: remoteCatalog(ScriptedProvider(id: "remote")))
            var alice = try await seed(app, email: "map-alice@example.com")
            var bob = try await seed(app, email: "map-bob@example.com")

            // Every table with personal data, except those the inventory says cannot be tied to an
            // account (and why): a new one fails here until it names its owner and is seeded above.
            let personLinked = DataInventory.pictor.tables
                .filter { $0.isPersonLinked && $0.ownerlessBecause == nil }.map(\.table).sorted()
            for person in [alice, bob] {
                let unseeded = Set(personLinked).subtracting(person.rows.keys).sorted()
                #expect(unseeded.isEmpty, "seed a row in each person-linked table: \(unseeded)")
                #expect(person.blobKeys.count >= 3, "an image, its thumbnail and a reference")
            }

            // Rows that name the other person outside the owner column: Bob's audit event about
            // Alice is Bob's (he acted), and Alice's mail to Bob's address is Alice's.
            try await Audit.append(
                "test.about_alice", actor: bob.userID, target: ("user", alice.userID.uuidString), origin: "test", at: Date(), on: app.db)
            let crossEvent = try #require(try await AuditEventModel.query(on: app.db).filter(\.$action == "test.about_alice").first()?.id)
            bob.rows["audit_log", default: []].insert(crossEvent.uuidString.lowercased())
            let crossMail = try await Postman.queue(
                MailMessage(to: "map-bob@example.com", subject: "from Alice's account", text: "hi", category: .account), userID: alice.userID,
                app: app, on: app.db)
            alice.rows["mail_outbox", default: []].insert(crossMail.uuidString.lowercased())

            let aliceMap = try await PersonDataMap.map(of: alice.userID, on: app.db)
            let bobMap = try await PersonDataMap.map(of: bob.userID, on: app.db)
            for table in personLinked {
                #expect(!(aliceMap.rows[table] ?? []).isEmpty, "no row of \(table) in the map: does it name its owner?")
            }
            for (person, map, other) in [(alice, aliceMap, bob), (bob, bobMap, alice)] {
                for (table, ids) in person.rows.sorted(by: { $0.key < $1.key }) {
                    let found = Set(map.rows[table] ?? [])
                    #expect(found.isSuperset(of: ids), "\(table): \(ids.subtracting(found).sorted()) missing from the map")
                    #expect(found.isDisjoint(with: other.rows[table] ?? []), "\(table): another person's rows are in the map")
                }
                let blobs = Set(map.blobKeys)
                #expect(blobs.isSuperset(of: person.blobKeys), "blobs missing: \(person.blobKeys.subtracting(blobs).sorted())")
                #expect(blobs.isDisjoint(with: other.blobKeys), "another person's blobs are in the map")
                #expect(map.rows.values.allSatisfy { $0 == $0.sorted() } && map.blobKeys == map.blobKeys.sorted())
            }

            // The blobs the map names are stored: there to export, or to erase.
            for key in aliceMap.blobKeys {
                let stored = try await app.pictor.blobs.exists(BlobKey(key))
                #expect(stored, "blob \(key) is named by a row but not stored")
            }
            #expect(try await PersonDataMap.map(of: UUID(), on: app.db).rowCount == 0, "someone with no account has no data")
        }
    }
}
