import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing
import Vapor
import VaporTesting

@testable import App

/// Requests that used to answer 500 and log an error, although the client was at fault: a path
/// segment too long for the file system, a path through a file, a compressed body, a client that
/// hangs up mid-body. Each is its 4xx (or a quiet line), and no log line names a server path.
@Suite struct ClientMistakeTests {
    @Test func oddStaticPathsAre404sWithoutTheServersPathInTheLog() async throws {
        let captured = CapturedLines()
        try await withPictor { app in
            app.logger = Logger(label: "pictor.test") { PictorLogHandler(label: $0, level: .debug, format: .json, output: captured.append) }
            let browser = Browser(app)
            for path in [
                "/" + String(repeating: "a", count: 300), "/css/" + String(repeating: "b", count: 300) + ".css",
                "/favicon.svg/x", "/css/pictor.css/x", "/js/%2e%2e/Package.swift",
            ] {
                let response = try await browser.get(path)
                #expect(response.status == .notFound, "\(path.prefix(40)): \(response.status)")
            }
            #expect(try await browser.get("/css/pictor.css").status == .ok)
            #expect(try await browser.get("/favicon.svg").status == .ok)
        }
        let levels = try captured.jsonObjects().compactMap { $0["level"] }
        #expect(!levels.contains("error"))
        #expect(!captured.all.contains { $0.contains(FileManager.default.currentDirectoryPath) || $0.contains("/Public/") })
    }

    @Test func aCompressedBodyIsRefusedUnread() async throws {
        try await withPictor { app in
            let browser = Browser(app)
            try await browser.get("/login")
            let response = try await browser.post("/login", ["email": "a@example.com", "password": "x"], headers: ["Content-Encoding": "gzip"])
            #expect(response.status == .unsupportedMediaType && response.text.contains("uncompressed"))
        }
    }

    /// Over a real connection: the client sends half a body and hangs up. That is not our fault:
    /// no error line, and the server goes on answering.
    @Test func aClientThatHangsUpMidBodyIsNoServerError() async throws {
        let captured = CapturedLines()
        try await withPictor { app in
            app.logger = Logger(label: "pictor.test") { PictorLogHandler(label: $0, level: .info, format: .json, output: captured.append) }
            try await app.server.start(address: .hostname("127.0.0.1", port: 0))
            let port = try #require((app.server as? HTTPServer)?.localAddress?.port)
            for (path, type) in [
                ("/login", "application/x-www-form-urlencoded"), ("/api/v1/generations", "application/json"),
                ("/webhooks/replicate", "application/json"),
            ] {
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(host: "127.0.0.1", port: port).get()
                let head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \(type)\r\nContent-Length: 1000\r\n\r\nemail=a"
                try await channel.writeAndFlush(ByteBuffer(string: head)).get()
                try await Task.sleep(for: .milliseconds(200))
                try await channel.close().get()
            }
            try await Task.sleep(for: .milliseconds(300))
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let alive = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz"), timeout: .seconds(5))
            #expect(alive.status == .ok)
            try await client.shutdown()
            await app.server.shutdown()
        }
        let lines = try captured.jsonObjects()
        #expect(!lines.contains { $0["level"] == "error" }, "\(lines.filter { $0["level"] == "error" })")
        #expect(!lines.contains { $0["msg"] == "request" && $0["status"] == "500" })
    }
}
