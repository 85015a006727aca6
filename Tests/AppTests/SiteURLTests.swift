import Foundation
import Testing

@testable import App

/// Every URL is declared once, in `SiteURL`: code fills parameters through typed builders and
/// templates take their links from their page context.
@Suite struct SiteURLTests {
    /// Each route with parameters is filled completely by the builder for its parameters.
    @Test func everyRouteIsFilledByItsBuilder() {
        let id = UUID()
        for route in SiteURL.allCases where !route.parameterNames.isEmpty {
            let filled: String? =
                switch Set(route.parameterNames) {
                case ["generationID"]: route.path(generation: id)
                case ["imageID"]: route.path(image: id)
                case ["sessionID"]: route.path(session: id)
                case ["keyID"]: route.path(key: id)
                case ["referenceID"]: route.path(reference: id)
                case ["orderID"]: route.path(order: id)
                case ["refundID"]: route.path(refund: id)
                case ["generationID", "shareID"]: route.path(generation: id, share: id)
                case ["token"]: route.path(token: "abc")
                case ["token", "position"]: route.path(token: "abc", position: 2)
                default: nil
                }
            #expect(filled != nil, "\(route) has parameters \(route.parameterNames) that no builder fills")
            #expect(filled?.contains(":") == false, "\(route): \(filled ?? "")")
            #expect(filled?.contains(id.uuidString.lowercased()) == true || route.parameterNames.contains("token"))
        }
        #expect(SiteURL.generationShareRevoke.path(generation: id, share: id) == "/generations/\(id.pathText)/shares/\(id.pathText)/revoke")
        #expect(SiteURL.sharedImage.path(token: "t0k", position: 3) == "/s/t0k/images/3")
    }

    static var views: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Resources/Views")
    }

    static func templates() throws -> [(name: String, text: String)] {
        let files = try #require(FileManager.default.enumerator(at: views, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "leaf" }
        return try files.map { ($0.lastPathComponent, try String(contentsOf: $0, encoding: .utf8)) }
    }

    /// No template writes a page's path itself (static files aside): a renamed route cannot
    /// leave a dead link behind.
    @Test func templatesHoldNoPathsOfTheirOwn() throws {
        let templates = try Self.templates()
        #expect(templates.count > 20)
        let literal = #"(href|action|formaction)="/(?!css/|js/|favicon)"#
        for (name, text) in templates {
            #expect(text.range(of: literal, options: .regularExpression) == nil, "\(name) holds a literal path")
        }
    }

    /// Every `layout.links.<name>` a template uses is a route without parameters.
    @Test func everyLinkATemplateUsesExists() throws {
        let pattern = try Regex(#"layout\.links\.(\w+)"#)
        var used = 0
        for (name, text) in try Self.templates() {
            for match in text.matches(of: pattern) {
                let link = String(match.output[1].substring ?? "")
                used += 1
                #expect(SiteURL.links[link] != nil, "\(name) links to layout.links.\(link), which is no route")
            }
        }
        #expect(used > 40)
    }
}
