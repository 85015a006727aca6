import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Stripe, through its HTTP API (form-encoded requests, JSON answers), at the API version
/// `apiVersion`: a Checkout Session per order (with an `Idempotency-Key`, so a retried call
/// makes no second session), webhook events checked with the endpoint's secret, refunds through
/// the Refunds API, and a PaymentIntent read back with its latest charge.
public struct StripePaymentProvider: PaymentProvider {
    public struct Settings: Sendable, Equatable {
        public var secretKey: String
        public var webhookSecret: String
        /// `https://api.stripe.com` (tests point it at a local stand-in).
        public var apiBase: URL

        public init(secretKey: String, webhookSecret: String, apiBase: URL) {
            self.secretKey = secretKey
            self.webhookSecret = webhookSecret
            self.apiBase = apiBase
        }
    }

    /// The API version every request names (Stripe answers in that version's shapes).
    public static let apiVersion = "2026-10-28.endive"

    public let name = "stripe"
    let settings: Settings
    let client: HTTPClient
    let timeout: TimeAmount

    public init(settings: Settings, client: HTTPClient, timeout: TimeAmount = .seconds(20)) {
        self.settings = settings
        self.client = client
        self.timeout = timeout
    }

    public func startCheckout(_ request: CheckoutRequest) async throws(PaymentError) -> CheckoutSession {
        var form: [(String, String)] = [
            ("mode", "payment"),
            ("success_url", request.successURL.absoluteString),
            ("cancel_url", request.cancelURL.absoluteString),
            ("client_reference_id", request.orderID.uuidString),
            ("metadata[order_id]", request.orderID.uuidString),
            ("payment_intent_data[metadata][order_id]", request.orderID.uuidString),
            ("line_items[0][quantity]", "1"),
            ("line_items[0][price_data][currency]", request.amount.currency.lowercased()),
            ("line_items[0][price_data][unit_amount]", String(request.amount.minorUnits)),
            ("line_items[0][price_data][product_data][name]", request.description),
        ]
        if let email = request.customerEmail { form.append(("customer_email", email)) }
        let session = try await call(.POST, "v1/checkout/sessions", form: form, idempotencyKey: request.idempotencyKey)
        guard let id = session["id"] as? String, let url = (session["url"] as? String).flatMap(URL.init(string:)) else {
            throw .unavailable("Stripe's checkout session had no id or address")
        }
        return CheckoutSession(reference: id, payURL: url)
    }

    public func event(from delivery: WebhookDelivery, now: Date) throws(PaymentError) -> PaymentEvent {
        guard let header = delivery.headers["stripe-signature"],
            StripeSignature.isAuthentic(header: header, body: delivery.body, secret: settings.webhookSecret, now: now)
        else { throw .refused("the Stripe-Signature does not hold for this body at this time") }
        return try StripeEvent.parse(delivery.body)
    }

    public func refund(_ request: RefundRequest) async throws(PaymentError) -> RefundReceipt {
        let refund = try await call(
            .POST, "v1/refunds",
            form: [("payment_intent", request.payment), ("amount", String(request.amount.minorUnits))],
            idempotencyKey: request.idempotencyKey)
        guard let id = refund["id"] as? String else { throw .unavailable("Stripe's refund had no id") }
        let status = refund["status"] as? String
        if status == "failed" || status == "canceled" { throw .declined("Stripe did not make the refund (\(status ?? ""))") }
        return RefundReceipt(reference: id, pending: status != "succeeded")
    }

    public func payment(_ reference: String) async throws(PaymentError) -> PaymentFacts {
        guard reference.utf8.count <= 255,
            reference.utf8.allSatisfy({ $0 == 95 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) })
        else { throw .declined("not a Stripe payment reference") }
        let intent = try await call(.GET, "v1/payment_intents/\(reference)?expand%5B%5D=latest_charge", form: [], idempotencyKey: nil)
        let charge = intent["latest_charge"] as? [String: Any]
        let card = ((charge?["payment_method_details"] as? [String: Any])?["card"] as? [String: Any])
        let outcome = charge?["outcome"] as? [String: Any]
        return PaymentFacts(
            orderID: ((intent["metadata"] as? [String: Any])?["order_id"] as? String).flatMap(UUID.init(uuidString:)),
            paid: intent["status"] as? String == "succeeded",
            amount: StripeEvent.money(intent["amount_received"] ?? intent["amount"], intent["currency"]),
            cardFingerprint: card?["fingerprint"] as? String,
            riskLevel: outcome?["risk_level"] as? String)
    }

    /// One API call: the answer's JSON object, or the error Stripe gave in words Pictor can show staff.
    func call(_ method: HTTPMethod, _ path: String, form: [(String, String)], idempotencyKey: UUID?) async throws(PaymentError) -> [String: Any] {
        var request = HTTPClientRequest(url: settings.apiBase.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/" + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(settings.secretKey)")
        request.headers.add(name: "Stripe-Version", value: Self.apiVersion)
        if let idempotencyKey { request.headers.add(name: "Idempotency-Key", value: idempotencyKey.uuidString) }
        if method == .POST {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: Self.encode(form)))
        }
        let status: HTTPResponseStatus
        let body: ByteBuffer
        do {
            let response = try await client.execute(request, timeout: timeout)
            status = response.status
            body = try await response.body.collect(upTo: 1_048_576)
        } catch {
            throw .unavailable("Stripe could not be reached")
        }
        let json = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
        guard status.code >= 300 else { return json }
        let message = ((json["error"] as? [String: Any])?["message"] as? String) ?? "HTTP \(status.code)"
        switch status.code {
        case 429, 500...599: throw .unavailable("Stripe is busy or failing (\(status.code)): \(message)")
        case 401, 403: throw .declined("Stripe refused Pictor's API key: check STRIPE_SECRET_KEY")
        default: throw .declined("Stripe said: \(message)")
        }
    }

    /// `application/x-www-form-urlencoded`, with Stripe's bracketed keys kept as they are.
    static func encode(_ form: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        func escape(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: allowed) ?? "" }
        return form.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }
}
