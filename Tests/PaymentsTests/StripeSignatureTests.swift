import Foundation
import Testing

@testable import Payments

/// Stripe's webhook signature, checked on the raw bytes, and its events read into what Pictor does.
@Suite struct StripeSignatureTests {
    let secret = "whsec_test_secret"
    let body = Array(#"{"id":"evt_1","type":"charge.refunded"}"#.utf8)
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aSignatureMadeAsStripeMakesItHoldsWithinFiveMinutes() {
        // HMAC-SHA256 of "1800000000.<body>" with the secret's own bytes (computed with Python's hmac).
        let header = StripeSignature.header(for: body, secret: secret, timestamp: 1_800_000_000)
        #expect(header == "t=1800000000,v1=\(StripeSignature.hex(StripeSignature.mac(body, secret: secret, timestamp: "1800000000")))")
        #expect(StripeSignature.isAuthentic(header: header, body: body, secret: secret, now: now))
        #expect(StripeSignature.isAuthentic(header: header, body: body, secret: secret, now: now.addingTimeInterval(300)))
        #expect(!StripeSignature.isAuthentic(header: header, body: body, secret: secret, now: now.addingTimeInterval(301)))
        #expect(!StripeSignature.isAuthentic(header: header, body: body, secret: secret, now: now.addingTimeInterval(-301)))
        #expect(!StripeSignature.isAuthentic(header: header, body: body, secret: "whsec_other", now: now))
        #expect(!StripeSignature.isAuthentic(header: header, body: body + [32], secret: secret, now: now))
    }

    @Test func anyOfSeveralV1SignaturesMayMatchAndNothingElseCounts() {
        let good = StripeSignature.header(for: body, secret: secret, timestamp: 1_800_000_000)
        let goodV1 = String(good.split(separator: ",")[1])
        let rolled = "t=1800000000,v1=\(String(repeating: "ab", count: 32)),\(goodV1)"
        #expect(StripeSignature.isAuthentic(header: rolled, body: body, secret: secret, now: now))
        let onlyV0 = good.replacingOccurrences(of: "v1=", with: "v0=")
        #expect(!StripeSignature.isAuthentic(header: onlyV0, body: body, secret: secret, now: now))
        for hostile in [
            "", "t=", "t=abc,\(goodV1)", "t=-1800000000,\(goodV1)", "t=99999999999999999999999,\(goodV1)", "t=1800000000",
            "t=1800000000,v1=zz", "t=1800000000.5,\(goodV1)", "v1=\(goodV1)",
        ] {
            #expect(!StripeSignature.isAuthentic(header: hostile, body: body, secret: secret, now: now), "\(hostile)")
        }
    }

    @Test func eventsBecomeWhatPictorActsOn() throws {
        let order = UUID()
        func event(_ type: String, _ object: String) -> [UInt8] {
            Array(#"{"id":"evt_9","object":"event","type":"\#(type)","data":{"object":\#(object)}}"#.utf8)
        }
        let paid = try StripeEvent.parse(
            event(
                "checkout.session.completed",
                #"{"client_reference_id":"\#(order.uuidString)","payment_status":"paid","payment_intent":"pi_1","amount_total":500,"currency":"usd"}"#
            ))
        #expect(paid.kind == .paid(orderID: order, payment: "pi_1", amount: Money(minorUnits: 500, currency: "USD")!))
        let unpaid = try StripeEvent.parse(
            event("checkout.session.completed", #"{"client_reference_id":"\#(order.uuidString)","payment_status":"unpaid","payment_intent":"pi_1"}"#))
        #expect(unpaid.kind == .processing(orderID: order))
        let failed = try StripeEvent.parse(event("checkout.session.async_payment_failed", #"{"metadata":{"order_id":"\#(order.uuidString)"}}"#))
        #expect(failed.kind == .failed(orderID: order))
        let refunded = try StripeEvent.parse(event("charge.refunded", #"{"payment_intent":"pi_1","amount_refunded":250,"currency":"usd"}"#))
        #expect(refunded.kind == .refunded(payment: "pi_1", totalRefunded: Money(minorUnits: 250, currency: "USD")!))
        let closed = try StripeEvent.parse(event("charge.dispute.closed", #"{"id":"du_1","payment_intent":"pi_1","status":"lost"}"#))
        #expect(closed.kind == .disputeClosed(payment: "pi_1", dispute: "du_1", won: false))
        // An inquiry that closed without a chargeback leaves the money with the merchant.
        let inquiry = try StripeEvent.parse(event("charge.dispute.closed", #"{"id":"du_2","payment_intent":"pi_1","status":"warning_closed"}"#))
        #expect(inquiry.kind == .disputeClosed(payment: "pi_1", dispute: "du_2", won: true))
        // A checkout Pictor did not start is none of its business.
        #expect(try StripeEvent.parse(event("checkout.session.completed", #"{"payment_status":"paid"}"#)).kind == .ignored)
        #expect(try StripeEvent.parse(event("customer.created", "{}")).kind == .ignored)
        // A known type without what it needs is refused, never applied half-way.
        #expect(throws: PaymentError.self) {
            try StripeEvent.parse(event("charge.refunded", #"{"payment_intent":"pi_1","amount_refunded":-5,"currency":"usd"}"#))
        }
        #expect(throws: PaymentError.self) {
            try StripeEvent.parse(event("charge.refunded", #"{"payment_intent":"pi_1","amount_refunded":1e300,"currency":"usd"}"#))
        }
        #expect(throws: PaymentError.self) { try StripeEvent.parse(Array("not json".utf8)) }
    }
}
