import Foundation
import Logging
import Testing
import VaporTesting

@testable import App

/// Collects the lines a `PictorLogHandler` writes.
final class CapturedLines: Sendable {
    private let lines = Locked<[String]>([])
    func append(_ line: String) { lines.update { $0.append(line) } }
    var all: [String] { lines.value }

    func jsonObjects() throws -> [[String: String]] {
        try all.map { try JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }
    }
}

@Suite struct LoggingTests {
    @Test func jsonLinesCarryLevelMessageAndMetadataAsFields() throws {
        let captured = CapturedLines()
        var logger = Logger(label: "pictor.test") { label in
            PictorLogHandler(label: label, level: .debug, format: .json, output: captured.append)
        }
        logger[metadataKey: "request-id"] = "req-1"
        logger.info("saved \"image\"\nline two", metadata: ["bytes": "1024"])
        logger.trace("below the level: not written")

        let objects = try captured.jsonObjects()
        #expect(objects.count == 1)
        let line = try #require(objects.first)
        #expect(line["level"] == "info")
        #expect(line["msg"] == "saved \"image\"\nline two")
        #expect(line["request-id"] == "req-1")
        #expect(line["bytes"] == "1024")
        #expect(line["logger"] == "pictor.test")
        #expect(line["ts"]?.hasSuffix("Z") == true)
        #expect(captured.all.first?.hasSuffix("}\n") == true && captured.all.first?.filter { $0 == "\n" }.count == 1)
    }

    @Test func textFormatIsOneReadableLine() {
        let captured = CapturedLines()
        let logger = Logger(label: "pictor.test") { label in
            PictorLogHandler(label: label, level: .info, format: .text, output: captured.append)
        }
        logger.warning("disk nearly full", metadata: ["free": "2%"])
        let line = captured.all.first ?? ""
        #expect(line.contains(" WARNING disk nearly full free=2%"))
    }

    /// Every line a request logs carries that request's id, the one on the response.
    @Test func requestLogLinesCarryTheResponseRequestID() async throws {
        let captured = CapturedLines()
        try await withPictor { app in
            app.logger = Logger(label: "pictor.test") { label in
                PictorLogHandler(label: label, level: .info, format: .json, output: captured.append)
            }
            var responseID = ""
            try await app.testing().test(.GET, "/privacy") { res in
                responseID = res.headers.first(name: "X-Request-ID") ?? ""
            }
            let requestLines = try captured.jsonObjects().filter { $0["msg"] == "request" }
            #expect(requestLines.count == 1)
            #expect(requestLines.first?["request-id"] == responseID)
            #expect(requestLines.first?["route"] == "/privacy")
            #expect(requestLines.first?["status"] == "200")
        }
    }
}
