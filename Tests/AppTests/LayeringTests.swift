import Foundation
import Testing

/// Data access lives in Persistence: no file under `Sources/App` holds SQL or a Fluent query.
/// App calls the stores (`Sources/Persistence/<Area>/…Store.swift`), passing the database
/// (`on: db`) so that transactions compose.
@Suite struct LayeringTests {
    /// What App may not contain: raw SQL, SQLKit, and Fluent's query and model-writing calls.
    static let forbidden: [(pattern: String, what: String)] = [
        (#"SQLQueryString"#, "a raw SQL string"),
        (#"\bsqlDatabase\("#, "a raw SQL connection"),
        (#"\.raw\("#, "a raw SQL statement"),
        (#"import\s+(SQLKit|FluentSQL|FluentKit)\b"#, "an SQL import"),
        (#"\.query\(on:"#, "a Fluent query"),
        (#"\b[A-Z]\w*Model\.find\("#, "a Fluent look-up"),
        (#"\.(create|save|update|delete|restore)\(on:"#, "a Fluent write"),
        (#"\.delete\(force:"#, "a Fluent delete"),
    ]

    /// The lines of `source` that break the rule, as "line: what"; comments are skipped.
    static func violations(in source: String) -> [String] {
        var found: [String] = []
        for (number, line) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let code = line.trimmingCharacters(in: .whitespaces)
            if code.hasPrefix("//") { continue }
            for rule in forbidden where code.range(of: rule.pattern, options: .regularExpression) != nil {
                found.append("\(number + 1): \(rule.what)")
            }
        }
        return found
    }

    @Test func appHoldsNoSQLAndNoFluentQueries() throws {
        let app = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/App")
        let files = try #require(FileManager.default.enumerator(at: app, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        #expect(files.count > 50, "found the App sources at \(app.path)")
        for file in files {
            let problems = Self.violations(in: try String(contentsOf: file, encoding: .utf8))
            #expect(problems.isEmpty, "\(file.lastPathComponent): \(problems.joined(separator: "; ")) — move it into a store in Sources/Persistence")
        }
    }

    /// The scan itself finds each kind of violation (so a passing scan means something).
    @Test func theScanFindsEachKind() {
        let samples = [
            #"let q: SQLQueryString = "SELECT 1""#,
            "_ = try await sqlDatabase(db).raw(\"SELECT 1\").first()",
            "import SQLKit",
            "try await UserModel.query(on: db).all()",
            "let user = try await UserModel.find(id, on: db)",
            "try await row.create(on: db)",
            "try await row.update(on: req.db)",
            "try await row.delete(force: true, on: db)",
        ]
        for sample in samples {
            #expect(!Self.violations(in: sample).isEmpty, "\(sample)")
        }
        #expect(Self.violations(in: "// try await UserModel.query(on: db)\ntry await UserStore.find(id, on: db)").isEmpty)
    }
}
