import Foundation

/// Credits an operator sells, at a price in one currency's minor unit.
public struct CreditPack: Sendable, Equatable, Identifiable {
    public let id: String
    public let name: String
    public let credits: Int
    /// In the currency's minor unit (cents for USD): never a floating point.
    public let amountMinor: Int64
    /// ISO 4217, upper case.
    public let currency: String

    public init(id: String, name: String, credits: Int, amountMinor: Int64, currency: String) {
        self.id = id
        self.name = name
        self.credits = credits
        self.amountMinor = amountMinor
        self.currency = currency
    }

    /// "$5.00".
    public var priceText: String { MoneyText.format(amountMinor, currency: currency) }
}

/// Reads `PACKS_FILE` (JSON); with none, Pictor sells `defaults`:
///
/// ```json
/// {"packs": [
///   {"id": "starter", "name": "Starter", "credits": 100, "amount": 500, "currency": "USD"}
/// ]}
/// ```
/// `amount` is in the currency's minor unit (500 is $5.00; for JPY, 500 is ¥500). Every problem
/// names the pack and the field, so an operator can fix it.
public enum PacksFile {
    public static let variable = "PACKS_FILE"

    public static let defaults = [
        CreditPack(id: "starter", name: "Starter", credits: 100, amountMinor: 500, currency: "USD"),
        CreditPack(id: "creator", name: "Creator", credits: 500, amountMinor: 2000, currency: "USD"),
        CreditPack(id: "studio", name: "Studio", credits: 1500, amountMinor: 5000, currency: "USD"),
    ]

    struct Entry: Decodable {
        let id: String?
        let name: String?
        let credits: Int?
        let amount: Int64?
        let currency: String?
    }

    struct File: Decodable {
        let packs: [Entry]
    }

    public static func parse(_ text: String) throws(ConfigError) -> [CreditPack] {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(text.utf8))
        } catch {
            throw ConfigError(
                variable: variable, problem: "is not a packs file: write {\"packs\": [{\"id\", \"name\", \"credits\", \"amount\", \"currency\"}]}")
        }
        guard !file.packs.isEmpty else { throw ConfigError(variable: variable, problem: "names no packs") }
        var seen = Set<String>()
        var packs: [CreditPack] = []
        for (index, entry) in file.packs.enumerated() {
            func problem(_ text: String) -> ConfigError {
                ConfigError(variable: variable, problem: "packs[\(index)]\(entry.id.map { " (\($0))" } ?? ""): \(text)")
            }
            guard let id = entry.id, id.range(of: "^[a-z0-9][a-z0-9._-]{0,62}$", options: .regularExpression) != nil else {
                throw problem("needs an \"id\" of lowercase letters, digits, dots, dashes or underscores")
            }
            guard seen.insert(id).inserted else { throw problem("the id is used twice") }
            guard let name = entry.name?.trimmingCharacters(in: .whitespaces), (1...60).contains(name.count) else {
                throw problem("needs a \"name\" of 1 to 60 characters")
            }
            // Bounded: credits are summed into balances, and Swift traps on overflow.
            guard let credits = entry.credits, (1...1_000_000).contains(credits) else { throw problem("needs \"credits\", 1 to 1000000") }
            guard let currency = entry.currency, MoneyText.isCurrencyCode(currency) else {
                throw problem("needs a \"currency\": three capital letters (ISO 4217), e.g. USD")
            }
            guard let amount = entry.amount, (1...100_000_000).contains(amount) else {
                throw problem("needs an \"amount\" in the currency's smallest unit (500 is $5.00), 1 to 100000000")
            }
            packs.append(CreditPack(id: id, name: name, credits: credits, amountMinor: amount, currency: currency))
        }
        return packs
    }
}
