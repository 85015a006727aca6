import Domain
import Foundation

/// Parses `.env` files: `KEY=value` lines, `#` comments, optional `export `,
/// values in single quotes (literal) or double quotes (with \n, \" and \\ escapes).
enum DotEnv {
    static func parse(_ contents: String) throws(ConfigError) -> [String: String] {
        var values: [String: String] = [:]
        for (index, rawLine) in contents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)) }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError(variable: ".env line \(index + 1)", problem: "expected KEY=value")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw ConfigError(variable: ".env line \(index + 1)", problem: "'\(key)' is not a variable name")
            }
            values[key] = try value(String(line[line.index(after: equals)...]), line: index + 1)
        }
        return values
    }

    private static func value(_ raw: String, line: Int) throws(ConfigError) -> String {
        let text = raw.trimmingCharacters(in: .whitespaces)
        guard let quote = text.first, quote == "\"" || quote == "'" else {
            // Unquoted: a ` #` starts a comment.
            if let comment = text.range(of: " #") { return String(text[..<comment.lowerBound]).trimmingCharacters(in: .whitespaces) }
            return text
        }
        guard text.count >= 2, text.last == quote else {
            throw ConfigError(variable: ".env line \(line)", problem: "unterminated quoted value")
        }
        let inner = String(text.dropFirst().dropLast())
        guard quote == "\"" else { return inner }
        var result = ""
        var escaping = false
        for character in inner {
            if escaping {
                switch character {
                case "n": result.append("\n")
                case "t": result.append("\t")
                default: result.append(character)
                }
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                result.append(character)
            }
        }
        return result
    }
}
