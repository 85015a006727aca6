import Domain
import Foundation
import Testing
import Vapor

@testable import Providers

/// Where a provider's links and redirects may lead Pictor: nowhere on the operator's own network
/// unless it is the provider's own configured host, and no redirect for calls that carry a key.
@Suite struct LinkAddressTests {
    @Test(arguments: [
        ("8.8.8.8", true), ("172.32.0.1", true), ("2606:4700::1111", true), ("::ffff:8.8.8.8", true),
        ("127.0.0.1", false), ("10.1.2.3", false), ("169.254.169.254", false), ("172.16.0.1", false), ("192.168.1.1", false),
        ("100.64.0.1", false), ("0.0.0.0", false), ("224.0.0.1", false), ("::1", false), ("::", false), ("fe80::1", false),
        ("fd00::1", false), ("::ffff:127.0.0.1", false), ("64:ff9b::a00:1", false), ("ff02::1", false), ("nonsense", false),
        ("2002:a00:1::1", false), ("2001::1", false), ("::a9fe:a9fe", false), ("fec0::1", false), ("64:ff9b:1::1", false),
    ])
    func publicAddressesAreTold(_ address: String, _ isPublic: Bool) {
        #expect(LinkAddress.isPublic(address) == isPublic)
    }

    /// A remote provider's link to a host name or address that is loopback or private is refused
    /// before any connection (a model's output could otherwise reach the operator's network or the
    /// cloud metadata service).
    @Test(arguments: [
        "https://localhost/image.png", "https://127.0.0.1/image.png", "https://[::1]/image.png", "https://169.254.169.254/latest/meta-data",
    ])
    func privateLinksFromARemoteProviderAreRefused(_ link: String) async throws {
        do {
            _ = try await ProviderHTTP.fetchLinked(link, from: URL(string: "https://api.openai.com/v1")!, timeout: .seconds(5), provider: "OpenAI")
            Issue.record("\(link) was fetched")
        } catch ProviderError.permanent(let reason) {
            #expect(reason.contains("private network address"))
        }
    }

    /// A self-hosted provider may link to itself (its own host, as configured), and the fetch
    /// connects to the address checked; another name for a private address is still refused.
    @Test func aSelfHostedProviderMayLinkToItsOwnHostOnly() async throws {
        let png = Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3])
        try await withFakeServer({ app in
            app.get("outputs", "image.png") { _ in Response(status: .ok, body: .init(data: png)) }
        }) { server in
            let base = URL(string: server.baseURL)!
            let own = try await ProviderHTTP.fetchLinked(server.baseURL + "/outputs/image.png", from: base, timeout: .seconds(5), provider: "ComfyUI")
            #expect(own == png)
            let port = base.port!
            await #expect(throws: ProviderError.self) {
                try await ProviderHTTP.fetchLinked(
                    "http://localhost:\(port)/outputs/image.png", from: base, timeout: .seconds(5), provider: "ComfyUI")
            }
            // Another port on the same machine is another service (a database, a cache): refused.
            await #expect(throws: ProviderError.self) {
                try await ProviderHTTP.fetchLinked("http://127.0.0.1:\(port + 1)/", from: base, timeout: .seconds(5), provider: "ComfyUI")
            }
            #expect(server.received.count == 1)
        }
    }

    /// A keyed call is not redirected: Gemini's key header would go to whatever host a redirect
    /// names (it is no Authorization header that a client drops across hosts).
    @Test func aRedirectDoesNotCarryTheKeyElsewhere() async throws {
        try await withFakeServer({ _ in }) { elsewhere in
            try await withFakeServer({ app in
                app.post("v1beta", "models", "gemini-2.5-flash-image:generateContent") { _ in
                    Response(status: .temporaryRedirect, headers: ["Location": elsewhere.baseURL + "/collect"])
                }
            }) { server in
                let provider = GeminiImageProvider(
                    id: "gemini", displayName: "Gemini",
                    settings: .init(
                        baseURL: URL(string: server.baseURL)!, apiKey: "g-key-secret", model: "gemini-2.5-flash-image",
                        sizes: [ImageSize(width: 1024, height: 1024)], maxCount: 1))
                await #expect(throws: ProviderError.self) {
                    try await provider.generate(GenerationRequest(prompt: "x", size: ImageSize(width: 1024, height: 1024), seed: 1)) { _ in }
                }
                #expect(server.received.count == 1)
                #expect(elsewhere.received.isEmpty, "the redirect was followed with the key")
            }
        }
    }
}
