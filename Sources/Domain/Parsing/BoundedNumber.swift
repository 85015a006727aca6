/// Whole numbers read from outside text (paths, query strings, forms, headers, tokens) with the
/// range the caller can use them in. Swift traps on overflow, and one trap ends the process for
/// everyone: a number from a request goes through here before any arithmetic, index or
/// conversion, so `Int.min`, `Int.max` and 40-digit numbers come back as nil, never as a crash.
public enum BoundedNumber {
    /// The decimal digits of `text` (no sign, no spaces, at most 18 digits) as an `Int` within
    /// `range`, or nil.
    public static func parse<Text: StringProtocol>(_ text: Text, in range: ClosedRange<Int>) -> Int? {
        let digits = text.utf8
        guard (1...18).contains(digits.count), digits.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        var value = 0
        for digit in digits { value = value * 10 + Int(digit - 0x30) }  // at most 18 digits: no overflow
        return range.contains(value) ? value : nil
    }
}
