import Foundation

/// The time decisions are made by: expiry, windows, deadlines, undo, throttles. App reads it
/// from `AppServices.clock`, so a test moves time forward instead of editing rows.
/// (The job queue's own times come from `QueueClock`: the database server's clock.)
public protocol WallClock: Sendable {
    func now() -> Date
}

/// This machine's clock: the live implementation.
public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}
