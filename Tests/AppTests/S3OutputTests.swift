import Crypto
import Foundation
import Storage
import TestSupport
import Testing
import Vapor

@testable import App

/// A generation stored in S3 (moto, signatures checked) is served to its owner exactly as from
/// the local store, and sealed at rest there too.
@Suite struct S3OutputTests {
    struct Credentials: Decodable {
        let accessKeyId: String
        let secretAccessKey: String
    }

    @Test func outputsInS3AreServedLikeLocalOnes() async throws {
        let server = try TestServer(script: "s3_server.py")
        defer { server.stop() }
        let keys = try JSONDecoder().decode(Credentials.self, from: Data(contentsOf: server.directory.appendingPathComponent("credentials.json")))
        let config = try AppConfig.load(environment: [
            "BLOB_STORE_URL": "s3://pictor-outputs?endpoint=http://127.0.0.1:\(server.port)&region=us-east-1&path_style=true&prefix=prod",
            "S3_ACCESS_KEY_ID": keys.accessKeyId, "S3_SECRET_ACCESS_KEY": keys.secretAccessKey,
        ])
        let s3 = try #require(config.s3)
        #expect(s3.prefix == "prod/" && s3.pathStyle && config.redactedSummary["blob_store"]?.contains("s3://pictor-outputs") == true)
        try await S3BlobStore.createBucket(s3)

        var hashes: [String: String] = [:]
        for (name, s3Settings) in [("local", nil), ("s3", Optional(s3))] {
            try await withPictor({ $0.s3 = s3Settings }) { app in
                #expect((app.pictor.blobs is S3BlobStore) == (s3Settings != nil))
                let browser = try await signedInForAPI(app, email: "\(name)@example.com")
                try await withRunner(app, handlers: workHandlers) { _ in
                    let created: GenerationView = try await browser.generate(#"{"prompt":"a harbour at night","size":"512x512","seed":9}"#).decoded()
                    let done = try await browser.finished(created.id)
                    #expect(done.status == "succeeded")
                    let image = try await browser.api(.GET, try #require(done.images.first).url)
                    #expect(image.status == .ok && image.headers.contentType == HTTPMediaType(type: "image", subType: "png"))
                    hashes[name] = Data(SHA256.hash(data: Data(image.body.readableBytesView))).hexString
                    #expect(hashes[name] == done.images.first?.sha256)
                }
            }
        }
        #expect(hashes["local"] != nil && hashes["local"] == hashes["s3"])
        // What S3 holds is sealed: not the PNG.
        let stored = try await S3BlobStore(settings: s3).list(prefix: "users/")
        #expect(stored.count == 2)
        let bytes = try await S3BlobStore(settings: s3).get(try #require(stored.first))
        #expect(!bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    }
}
