import Foundation
import Logging

/// Structured log lines on standard output: one JSON object per line, or
/// `key=value` text for reading in a terminal. Metadata (request id, route, …)
/// is written as fields.
public struct PictorLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let format: AppConfig.LogFormat
    private let output: @Sendable (String) -> Void

    public init(
        label: String, level: Logger.Level, format: AppConfig.LogFormat,
        output: @escaping @Sendable (String) -> Void = PictorLogHandler.writeToStandardOutput
    ) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let level = event.level
        let message = event.message
        var fields = self.metadata
        if let explicit = event.metadata { fields.merge(explicit) { _, new in new } }
        let time = Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        switch format {
        case .json:
            var line = "{\"ts\":\(Self.quoted(time)),\"level\":\(Self.quoted(level.rawValue))"
            line += ",\"logger\":\(Self.quoted(label)),\"msg\":\(Self.quoted(message.description))"
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
                line += ",\(Self.quoted(key)):\(Self.quoted(value.description))"
            }
            output(line + "}\n")
        case .text:
            var line = "\(time) \(level.rawValue.uppercased()) \(message)"
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
                line += " \(key)=\(value)"
            }
            output(line + "\n")
        }
    }

    /// A JSON string literal for `text`.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    public static let writeToStandardOutput: @Sendable (String) -> Void = { line in
        FileHandle.standardOutput.write(Data(line.utf8))
    }
}
