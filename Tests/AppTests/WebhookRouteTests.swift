import Crypto
import Foundation
import Providers
import Testing
import Vapor
import VaporTesting

@testable import App

@Suite struct WebhookRouteTests {
    static let secret = "whsec_" + Data("route-test-signing-key-32-bytes!".utf8).base64EncodedString()

    static func headers(id: String, body: String, secret: String = secret, age: TimeInterval = 0) -> HTTPHeaders {
        let timestamp = String(Int(Date().timeIntervalSince1970 - age))
        let key = SymmetricKey(data: Data(base64Encoded: String(secret.dropFirst("whsec_".count)))!)
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(id).\(timestamp).\(body)".utf8), using: key)
        return [
            "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": "v1," + Data(mac).base64EncodedString(),
            "Content-Type": "application/json",
        ]
    }

    @Test func aSignedDeliveryWakesTheWaitingWorkerAndNothingElseGetsIn() async throws {
        try await withPictor({ $0.replicateWebhookSecret = Self.secret }) { app in
            let body = #"{"id":"pred-route-1","status":"succeeded","output":["https://replicate.delivery/x.png"]}"#
            let forged = try await app.testing().sendRequest(
                .POST, "/webhooks/replicate",
                headers: Self.headers(id: "m1", body: body, secret: "whsec_" + Data("wrong-key-wrong-key-wrong-key-12".utf8).base64EncodedString()),
                body: ByteBuffer(string: body))
            #expect(forged.status == .unauthorized)
            let stale = try await app.testing().sendRequest(
                .POST, "/webhooks/replicate", headers: Self.headers(id: "m1", body: body, age: 900), body: ByteBuffer(string: body))
            #expect(stale.status == .unauthorized)

            let started = ContinuousClock.now
            let waiting = Task { await PredictionSignals.shared.wait(for: "pred-route-1", upTo: .seconds(60)) }
            try await Task.sleep(for: .milliseconds(100))
            let delivered = try await app.testing().sendRequest(
                .POST, "/webhooks/replicate", headers: Self.headers(id: "m2", body: body), body: ByteBuffer(string: body))
            #expect(delivered.status == .noContent)
            await waiting.value
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }

    @Test func withoutASecretTheRouteDoesNotExist() async throws {
        try await withPictor { app in
            let response = try await app.testing().sendRequest(
                .POST, "/webhooks/replicate", headers: ["Content-Type": "application/json"], body: ByteBuffer(string: "{}"))
            #expect(response.status == .notFound)
        }
    }
}
