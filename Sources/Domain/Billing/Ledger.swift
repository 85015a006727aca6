import Foundation

/// What a ledger entry records. Entries are never changed or deleted: a correction is another
/// entry. Each moves credits between a person's `available` and `held` balances (or in and out).
public enum LedgerEntryKind: String, Sendable, Codable, CaseIterable {
    /// Bought credits arrive (available +).
    case purchase
    /// Free credits given: the sign-up grant, a promotion, a staff grant (available +).
    case grant
    /// Reserved for a generation at submission (available −, held +).
    case hold
    /// What a generation delivered is spent (held −).
    case capture
    /// The rest of a hold comes back (held −, available +).
    case release
    /// Credits taken back with a refund (available −).
    case refund
    /// Credits frozen or given back around a dispute (available − or +).
    case dispute
    /// Free credits whose grant ran out (available −).
    case expiry
    /// A staff correction, with its reason shown to the person (available + or −).
    case adjustment
}

/// Where credits came from: free credits are spent before paid ones.
public enum CreditSource: String, Sendable, Codable, CaseIterable {
    case free, paid
}

/// A batch of credits as it stands: what is left of one purchase or grant.
public struct CreditLot: Sendable, Equatable {
    public let id: UUID
    public let source: CreditSource
    public let remaining: Int
    /// Free grants may run out; paid credits do not.
    public let expiresAt: Date?
    public let createdAt: Date

    public init(id: UUID, source: CreditSource, remaining: Int, expiresAt: Date?, createdAt: Date) {
        self.id = id
        self.source = source
        self.remaining = remaining
        self.expiresAt = expiresAt
        self.createdAt = createdAt
    }

    public func isLive(at now: Date) -> Bool {
        remaining > 0 && (expiresAt.map { $0 > now } ?? true)
    }
}

/// Which lots a spend of credits draws from: free before paid, and among those the one that
/// runs out first, then the oldest. So a person never loses free credits to expiry while paid
/// ones were spent, and a refund of a purchase finds its credits unspent as long as possible.
public enum CreditAllocation {
    /// The parts of `amount` taken from each lot, in order; nil when the live lots hold less
    /// (or `amount` is not positive). Pure: the store applies it under the wallet's lock.
    public static func allocate(_ amount: Int, from lots: [CreditLot], at now: Date) -> [(lot: UUID, amount: Int)]? {
        guard amount > 0 else { return nil }
        let ordered = lots.filter { $0.isLive(at: now) }.sorted { a, b in
            if a.source != b.source { return a.source == .free }
            switch (a.expiresAt, b.expiresAt) {
            case (let x?, let y?) where x != y: return x < y
            case (.some, nil): return true
            case (nil, .some): return false
            default: return a.createdAt != b.createdAt ? a.createdAt < b.createdAt : a.id.uuidString < b.id.uuidString
            }
        }
        var left = amount
        var parts: [(lot: UUID, amount: Int)] = []
        for lot in ordered where left > 0 {
            let taken = min(lot.remaining, left)
            parts.append((lot.id, taken))
            left -= taken
        }
        return left == 0 ? parts : nil
    }
}
