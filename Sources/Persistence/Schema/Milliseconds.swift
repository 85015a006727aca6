import Foundation

/// Generation times are kept to the millisecond: a time rebuilt from its milliseconds encodes to
/// the same stored value on both engines, whereas a `Date` read back from SQLite may differ from
/// the stored value in its last bit. Cursors and time comparisons go through these.
extension Date {
    /// Whole milliseconds since 1970.
    public var milliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    public init(milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// This time, rounded to the millisecond the way it is stored.
    public var roundedToMillisecond: Date { Date(milliseconds: milliseconds) }
}
