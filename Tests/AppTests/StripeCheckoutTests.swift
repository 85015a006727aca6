import AsyncHTTPClient
import Domain
import Fluent
import Foundation
import NIOCore
import Payments
import Persistence
import Providers
import SQLKit
import TestSupport
import Testing
import Vapor
import VaporTesting

@testable import App

/// The Stripe adapter against `scripts/testservers/stripe_server.py`, a stand-in that answers
/// as Stripe's API version `StripePaymentProvider.apiVersion` does (checked with the official
/// `stripe` Python client by `stripe_client_check.py`, below) and signs its events as Stripe does.
@Suite(.serialized) struct StripeCheckoutTests {
    static let webhookSecret = "whsec_pictor_test"

    struct FakeEvent: Decodable {
        let id: String
        let type: String
        let payload: String
        let signature: String
    }

    static func settings(_ server: TestServer) -> StripePaymentProvider.Settings {
        StripePaymentProvider.Settings(
            secretKey: "sk_test_pictor", webhookSecret: webhookSecret, apiBase: URL(string: "http://127.0.0.1:\(server.port)")!)
    }

    /// Calls one of the stand-in's `/_test/` routes (the customer and the bank).
    static func control(_ server: TestServer, _ path: String, _ json: String? = "{}") async throws -> [String: Any] {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)\(path)")
        if let json {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await ProviderHTTP.client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 16 * 1_048_576)
        return (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]) ?? [:]
    }

    static func events(_ server: TestServer) async throws -> [FakeEvent] {
        let response = try await ProviderHTTP.client.execute(
            HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/_test/events"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 16 * 1_048_576)
        return try JSONDecoder().decode([FakeEvent].self, from: Data(body.readableBytesView))
    }

    static func deliver(_ app: Application, payload: String, signature: String) async throws -> HTTPStatus {
        try await app.testing().sendRequest(
            .POST, "/webhooks/stripe", headers: ["Stripe-Signature": signature, "Content-Type": "application/json"],
            body: ByteBuffer(string: payload)
        ).status
    }

    static func withStripe(_ test: (Application, TestServer) async throws -> Void) async throws {
        let server = try TestServer(script: "stripe_server.py", arguments: [webhookSecret])
        defer { server.stop() }
        try await withPictor({
            $0.signUpGrantCredits = 0
            $0.stripe = settings(server)
        }) { app in try await test(app, server) }
    }

    @Test func theStandInAnswersAsTheOfficialStripeClientExpects() async throws {
        let server = try TestServer(script: "stripe_server.py", arguments: [Self.webhookSecret])
        defer { server.stop() }
        let check = Process()
        check.executableURL = TestServer.root.appendingPathComponent(".venv/bin/python")
        check.arguments = [
            TestServer.root.appendingPathComponent("scripts/testservers/stripe_client_check.py").path, String(server.port), Self.webhookSecret,
        ]
        let output = Pipe()
        check.standardOutput = output
        check.standardError = output
        try check.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        #expect(check.terminationStatus == 0, "\(text)")
        #expect(text.contains("API version \(StripePaymentProvider.apiVersion)"))
    }

    @Test func aCheckoutIsPaidOnceFromSignedEventsDeliveredTwiceAndBackwards() async throws {
        try await Self.withStripe { app, server in
            let buyer = try await Accounts.signedIn(app, email: "card@example.com")
            let user = try #require(try await UserStore.find(email: "card@example.com", on: app.db)?.id)
            try await buyer.get("/billing")
            let started = try await buyer.post("/billing/checkout", ["pack": "starter"])
            #expect(started.status == .seeOther && started.location?.hasPrefix("https://checkout.stripe.com/") == true)
            let order = try #require(try await OrderModel.query(on: app.db).first())
            let session = try #require(order.checkoutReference)
            #expect(session.hasPrefix("cs_test_"))
            // What went to Stripe: the order's id as the idempotency key, the price, the API version.
            let sent = try #require(try server.records().first { ($0["path"] as? String) == "/v1/checkout/sessions" })
            let headers = try #require(sent["headers"] as? [String: String])
            #expect(headers["idempotency-key"] == order.id!.uuidString && headers["stripe-version"] == StripePaymentProvider.apiVersion)
            let body = try #require(sent["body"] as? String)
            #expect(
                body.contains("line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=500")
                    && body.contains("client_reference_id=\(order.id!.uuidString)"))

            // The return page gives nothing; the card is paid at Stripe.
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 0)
            _ = try await Self.control(
                server, "/_test/checkout/sessions/\(session)/complete", #"{"outcome":"paid","fingerprint":"fp_card_1","risk_level":"elevated"}"#)
            let events = try await Self.events(server)
            #expect(events.contains { $0.type == "checkout.session.completed" })
            for event in events.reversed() + events {
                #expect(try await Self.deliver(app, payload: event.payload, signature: event.signature) == .ok)
            }
            #expect(try await LedgerStore.balance(of: user, on: app.db) == .init(available: 100, held: 0))
            let paid = try #require(try await OrderStore.find(order.id!, on: app.db))
            #expect(paid.state == .paid && paid.paymentReference?.hasPrefix("pi_") == true)
            #expect(paid.cardFingerprint == "fp_card_1" && paid.riskLevel == "elevated" && paid.fraudFlags.contains("processor-risk"))
        }
    }

    @Test func aForgedStaleOrTamperedDeliveryIsRefusedWithNothingApplied() async throws {
        try await Self.withStripe { app, server in
            let buyer = try await Accounts.signedIn(app, email: "forged@example.com")
            let user = try #require(try await UserStore.find(email: "forged@example.com", on: app.db)?.id)
            try await buyer.get("/billing")
            try await buyer.post("/billing/checkout", ["pack": "starter"])
            let order = try #require(try await OrderModel.query(on: app.db).first())
            _ = try await Self.control(server, "/_test/checkout/sessions/\(order.checkoutReference!)/complete", #"{"outcome":"paid"}"#)
            let completed = try #require(try await Self.events(server).first { $0.type == "checkout.session.completed" })
            let body = Array(completed.payload.utf8)
            let now = Int64(Date().timeIntervalSince1970)
            let forged = StripeSignature.header(for: body, secret: "whsec_someone_else", timestamp: now)
            let stale = StripeSignature.header(for: body, secret: Self.webhookSecret, timestamp: now - 301)
            let tampered = completed.payload.replacingOccurrences(of: #""amount_total": 500"#, with: #""amount_total": 5"#)
            #expect(tampered != completed.payload)
            #expect(try await Self.deliver(app, payload: completed.payload, signature: forged) == .badRequest)
            #expect(try await Self.deliver(app, payload: completed.payload, signature: stale) == .badRequest)
            #expect(try await Self.deliver(app, payload: tampered, signature: completed.signature) == .badRequest)
            #expect(
                try await Self.deliver(app, payload: completed.payload, signature: "t=\(now),v1=\(String(repeating: "0", count: 64))") == .badRequest)
            #expect(try await Self.deliver(app, payload: completed.payload, signature: "") == .badRequest)
            #expect(try await PaymentEventModelCount.count(app) == 0)
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 0)
            // The genuine one, within its five minutes, applies.
            #expect(try await Self.deliver(app, payload: completed.payload, signature: completed.signature) == .ok)
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 100)
        }
    }

    @Test func aRefundBeforeItsPaymentIsReadBackAndAStaffRefundGoesThroughTheRefundsAPI() async throws {
        try await Self.withStripe { app, server in
            let buyer = try await Accounts.signedIn(app, email: "order@example.com")
            let user = try #require(try await UserStore.find(email: "order@example.com", on: app.db)?.id)
            try await buyer.get("/billing")
            try await buyer.post("/billing/checkout", ["pack": "starter"])
            let order = try #require(try await OrderModel.query(on: app.db).first())
            let completed = try await Self.control(server, "/_test/checkout/sessions/\(order.checkoutReference!)/complete", #"{"outcome":"paid"}"#)
            let intent = try #require((completed["payment_intent"] as? [String: Any])?["id"] as? String)
            // Refunded from Stripe's dashboard ($2.50 of $5.00); the refund's event arrives first.
            let client = StripePaymentProvider(settings: Self.settings(server), client: ProviderHTTP.client)
            _ = try await client.refund(RefundRequest(payment: intent, amount: Money(minorUnits: 250, currency: "USD")!, idempotencyKey: UUID()))
            let events = try await Self.events(server)
            let refunded = try #require(events.first { $0.type == "charge.refunded" })
            #expect(try await Self.deliver(app, payload: refunded.payload, signature: refunded.signature) == .ok)
            // Pictor read the payment back: the order is paid, and half its credits went with the refund.
            let after = try #require(try await OrderStore.find(order.id!, on: app.db))
            #expect(after.state == .partiallyRefunded && after.refundedMinor == 250)
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 50)
            for event in events {
                #expect(try await Self.deliver(app, payload: event.payload, signature: event.signature) == .ok)
            }
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 50)

            // The person asks for the rest; staff approve; the refund goes out through the Refunds API.
            try await buyer.get(SiteURL.billingOrder.path(order: order.id!))
            try await buyer.post(SiteURL.billingRefundRequest.path(order: order.id!), ["reason": "Not what I expected"])
            let staff = try await AdminTests.makeAdmin(app, email: "staff@example.com")
            try await staff.get("/admin/billing")
            let request = try #require(try await RefundRequestModel.query(on: app.db).first())
            #expect(
                try await staff.post(SiteURL.adminRefundDecision.path(refund: request.id!), ["decision": "approve", "note": "Done."]).status == .ok)
            let refundCall = try #require(try server.records().last { ($0["path"] as? String) == "/v1/refunds" })
            #expect((refundCall["headers"] as? [String: String])?["idempotency-key"] == request.id!.uuidString)
            #expect((refundCall["body"] as? String)?.contains("amount=250") == true)
            #expect(try await OrderStore.find(order.id!, on: app.db)?.state == .refunded)
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 0)
            // Stripe's own event for that refund changes nothing more.
            for event in try await Self.events(server) {
                #expect(try await Self.deliver(app, payload: event.payload, signature: event.signature) == .ok)
            }
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 0)
            #expect(try await OrderStore.find(order.id!, on: app.db)?.refundedMinor == 500)
        }
    }
}

extension StripeCheckoutTests {
    @Test func aRefundStripeRefusesGivesTheCreditsBackAndTheRequestWaitsAgain() async throws {
        try await Self.withStripe { app, server in
            let buyer = try await Accounts.signedIn(app, email: "refused@example.com")
            let user = try #require(try await UserStore.find(email: "refused@example.com", on: app.db)?.id)
            try await buyer.get("/billing")
            try await buyer.post("/billing/checkout", ["pack": "starter"])
            let order = try #require(try await OrderModel.query(on: app.db).first())
            let completed = try await Self.control(server, "/_test/checkout/sessions/\(order.checkoutReference!)/complete", #"{"outcome":"paid"}"#)
            for event in try await Self.events(server) {
                #expect(try await Self.deliver(app, payload: event.payload, signature: event.signature) == .ok)
            }
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 100)
            // The bank disputes the charge at Stripe; Pictor has not heard yet. Stripe refuses a
            // refund of a disputed charge.
            let charge = try #require((completed["charge"] as? [String: Any])?["id"] as? String)
            _ = try await Self.control(server, "/_test/charges/\(charge)/dispute")
            try await buyer.get(SiteURL.billingOrder.path(order: order.id!))
            try await buyer.post(SiteURL.billingRefundRequest.path(order: order.id!), ["reason": "Changed my mind"])
            let staff = try await AdminTests.makeAdmin(app, email: "staff2@example.com")
            try await staff.get("/admin/billing")
            let request = try #require(try await RefundRequestModel.query(on: app.db).first())
            let refused = try await staff.post(SiteURL.adminRefundDecision.path(refund: request.id!), ["decision": "approve", "note": "OK"])
            #expect(refused.status == .serviceUnavailable && refused.text.contains("has been charged back"))
            #expect(try await LedgerStore.balance(of: user, on: app.db).available == 100)
            let after = try #require(try await OrderStore.find(order.id!, on: app.db))
            #expect(after.refundedMinor == 0 && after.state == .paid)
            #expect(try await RefundRequestStore.find(request.id!, on: app.db)?.state == .requested)
            let history = try await buyer.get("/billing").text
            #expect(history.contains("The refund did not go through: the credits are back"))
        }
    }

    @Test func aCheckoutPictorDidNotStartIsAcknowledgedAndIgnored() async throws {
        try await Self.withStripe { app, _ throws in
            let payload =
                #"{"id":"evt_foreign","object":"event","type":"checkout.session.completed","data":{"object":{"id":"cs_other","payment_status":"paid","payment_intent":"pi_other","amount_total":900,"currency":"usd"}}}"#
            let signature = StripeSignature.header(
                for: Array(payload.utf8), secret: Self.webhookSecret, timestamp: Int64(Date().timeIntervalSince1970))
            #expect(try await Self.deliver(app, payload: payload, signature: signature) == .ok)
            #expect(try await OrderModel.query(on: app.db).count() == 0)
        }
    }
}

enum PaymentEventModelCount {
    static func count(_ app: Application) async throws -> Int {
        let row = try await sqlDatabase(app.db).raw("SELECT COUNT(*) AS n FROM payment_events").first()
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }
}
