import Foundation

/// How long a sign-in lasts: it ends after `idle` without a request, and in any case
/// `absolute` after it began. "Remember me" only keeps the cookie across browser restarts.
public struct SessionPolicy: Sendable, Equatable {
    public var idle: TimeInterval
    public var absolute: TimeInterval
    /// Changing email, password or 2FA, or deleting the account, needs a password entered this recently.
    public var reauthentication: TimeInterval

    public static let standard = SessionPolicy(idle: 24 * 3600, absolute: 30 * 24 * 3600, reauthentication: 600)

    public init(idle: TimeInterval, absolute: TimeInterval, reauthentication: TimeInterval) {
        self.idle = idle
        self.absolute = absolute
        self.reauthentication = reauthentication
    }

    public func isLive(createdAt: Date, lastSeenAt: Date, now: Date) -> Bool {
        now.timeIntervalSince(lastSeenAt) < idle && now.timeIntervalSince(createdAt) < absolute
    }

    public func recentlyAuthenticated(at authenticatedAt: Date, now: Date) -> Bool {
        now.timeIntervalSince(authenticatedAt) <= reauthentication
    }
}

/// Exponential backoff for failed sign-ins, counted per account and per network.
public struct LoginThrottlePolicy: Sendable, Equatable {
    /// Failures allowed before the first lock.
    public var freeAttempts: Int
    public var firstLock: TimeInterval
    public var longestLock: TimeInterval

    public static let standard = LoginThrottlePolicy(freeAttempts: 5, firstLock: 60, longestLock: 3600)

    public init(freeAttempts: Int, firstLock: TimeInterval, longestLock: TimeInterval) {
        self.freeAttempts = freeAttempts
        self.firstLock = firstLock
        self.longestLock = longestLock
    }

    /// After `failures` consecutive failures, how long further attempts are refused (0: not locked).
    public func lock(afterFailures failures: Int) -> TimeInterval {
        guard failures >= freeAttempts else { return 0 }
        let doublings = Double(min(failures - freeAttempts, 20))
        return min(firstLock * pow(2, doublings), longestLock)
    }
}

/// The network part of an IP address, as Pictor stores and throttles it: IPv4 /24, IPv6 /48.
public enum IPPrefix {
    public static func truncate(_ address: String) -> String {
        // An IPv4 client of a dual-stack listener arrives as `::ffff:a.b.c.d`: its own /24, not
        // one /48 shared by every IPv4 client.
        if address.lowercased().hasPrefix("::ffff:"), address.dropFirst(7).split(separator: ".").count == 4 {
            return truncate(String(address.dropFirst(7)))
        }
        if address.contains(":") {
            let groups = address.split(separator: ":", omittingEmptySubsequences: false)
            if address.contains("::") {
                // Expand enough to keep the first three groups.
                let expanded = expand(address)
                return expanded.prefix(3).joined(separator: ":") + "::/48"
            }
            return groups.prefix(3).joined(separator: ":") + "::/48"
        }
        let octets = address.split(separator: ".")
        guard octets.count == 4 else { return "unknown" }
        return octets.prefix(3).joined(separator: ".") + ".0/24"
    }

    private static func expand(_ address: String) -> [String] {
        let halves = address.components(separatedBy: "::")
        let head = halves[0].isEmpty ? [] : halves[0].split(separator: ":").map(String.init)
        let tail = halves.count > 1 && !halves[1].isEmpty ? halves[1].split(separator: ":").map(String.init) : []
        return head + Array(repeating: "0", count: max(8 - head.count - tail.count, 0)) + tail
    }
}
