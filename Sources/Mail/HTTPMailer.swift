import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// Sends mail through Postmark's HTTP email API (`POST /email` with an
/// `X-Postmark-Server-Token`), or any service that speaks the same format.
/// 429 and 5xx answers are temporary; other 4xx answers (bad token, rejected address) permanent.
public struct HTTPMailer: Mailer {
    public let endpoint: URL
    private let token: String
    private let client: HTTPClient

    public init(endpoint: URL, token: String, client: HTTPClient = .shared) {
        self.endpoint = endpoint
        self.token = token
        self.client = client
    }

    struct Body: Encodable {
        let From: String
        let To: String
        let Subject: String
        let TextBody: String
        let HtmlBody: String?
        let Tag: String
        let MessageStream: String
    }

    struct Answer: Decodable {
        let ErrorCode: Int?
        let Message: String?
    }

    public func send(_ message: MailMessage, from sender: MailAddress) async throws {
        var request = HTTPClientRequest(url: endpoint.absoluteString)
        request.method = .POST
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-Postmark-Server-Token", value: token)
        let body = Body(
            From: MIMEMessage.format(sender), To: message.to, Subject: message.subject, TextBody: message.text,
            HtmlBody: message.html, Tag: message.category.rawValue, MessageStream: "outbound")
        request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))

        let response: HTTPClientResponse
        let payload: ByteBuffer
        do {
            response = try await client.execute(request, timeout: .seconds(30))
            payload = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw MailDeliveryError.retryable("the email API at \(endpoint.host ?? "?") did not answer: \(error)")
        }
        let answer = try? JSONDecoder().decode(Answer.self, from: payload)
        let detail = "the email API answered \(response.status.code)\(answer?.Message.map { ": \($0)" } ?? "")"
        switch response.status.code {
        case 200..<300 where (answer?.ErrorCode ?? 0) == 0:
            return
        case 429, 500...:
            throw MailDeliveryError.retryable(detail)
        default:
            throw MailDeliveryError.permanent(detail)
        }
    }
}
