/// Amounts in a currency's minor unit, written as people read them: "$5.00", "¥500", "12.50 CHF".
public enum MoneyText {
    /// Currencies without a minor unit, and those with three decimals (as payment processors count them).
    static let zeroDecimal: Set<String> = [
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
    ]
    static let threeDecimal: Set<String> = ["BHD", "JOD", "KWD", "OMR", "TND"]
    static let symbols: [String: String] = ["USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"]

    public static func isCurrencyCode(_ text: String) -> Bool {
        text.utf8.count == 3 && text.utf8.allSatisfy { (65...90).contains($0) }
    }

    /// Digits after the decimal point in `currency`'s usual notation.
    public static func decimals(of currency: String) -> Int {
        zeroDecimal.contains(currency) ? 0 : threeDecimal.contains(currency) ? 3 : 2
    }

    public static func format(_ minorUnits: Int64, currency: String) -> String {
        let decimals = decimals(of: currency)
        let sign = minorUnits < 0 ? "-" : ""
        let magnitude = minorUnits.magnitude
        var scale: UInt64 = 1
        for _ in 0..<decimals { scale *= 10 }
        var whole = String(magnitude / scale)
        // Thousands separated by commas.
        var grouped = ""
        while whole.count > 3 {
            grouped = "," + whole.suffix(3) + grouped
            whole = String(whole.dropLast(3))
        }
        var number = whole + grouped
        if decimals > 0 {
            let fraction = String(magnitude % scale)
            number += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        if let symbol = symbols[currency] { return sign + symbol + number }
        return sign + number + " " + currency
    }
}
