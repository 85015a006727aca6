import Foundation

/// A helper server from `scripts/testservers/`, run with the project's venv Python.
/// It prints `PORT n` when ready; closing its stdin stops it.
public final class TestServer: Sendable {
    public let port: Int
    public let directory: URL
    private let process: Process
    private let input: Pipe

    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public init(script: String, arguments: [String] = []) throws {
        let python = Self.root.appendingPathComponent(".venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw TestServerError("no .venv: run `scripts/setup test` (make test does) to install the test servers")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pictor-\(script)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        process = Process()
        process.executableURL = python
        process.arguments = [Self.root.appendingPathComponent("scripts/testservers/\(script)").path, directory.path] + arguments
        input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw TestServerError("\(script) exited before it was ready") }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else { throw TestServerError("\(script) said: \(text)") }
        self.port = port
    }

    /// What the server recorded, as JSON objects, in arrival order.
    public func records() throws -> [[String: Any]] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".json") }
            .sorted { Int($0.dropLast(5)) ?? 0 < Int($1.dropLast(5)) ?? 0 }
        return try files.map { name in
            let data = try Data(contentsOf: directory.appendingPathComponent(name))
            return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        }
    }

    public var certificate: String { directory.appendingPathComponent("cert.pem").path }

    public func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }
}

public struct TestServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
