import Domain
import FluentKit
import Foundation
import SQLKit

/// A person's credits as stored and every movement of them. Each function runs in the caller's
/// transaction (`on db`), so a hold commits with its generation and a settlement with its end.
/// The wallet row is changed first and conditionally: on PostgreSQL that locks it, so one
/// person's holds run one after the other; SQLite has one writer. The CHECK on `wallets` refuses
/// a balance below zero whatever the code does.
public enum LedgerStore {
    public struct Balance: Sendable, Equatable {
        public let available: Int
        public let held: Int

        public init(available: Int, held: Int) {
            self.available = available
            self.held = held
        }
    }

    /// The stored rows disagree with each other (a bug, never a person's mistake): the
    /// transaction is rolled back.
    public struct Inconsistency: Error, CustomStringConvertible {
        public let description: String
    }

    public static func balance(of userID: UUID, on db: any Database) async throws -> Balance {
        guard let row = try await sqlDatabase(db).raw("SELECT available, held FROM wallets WHERE id = \(bind: userID)").first() else {
            return Balance(available: 0, held: 0)
        }
        return Balance(
            available: Int(try row.decode(column: "available", as: Int64.self)), held: Int(try row.decode(column: "held", as: Int64.self)))
    }

    /// Adds a lot of `amount` credits (`.purchase` or `.grant`) and its entry; the wallet is made on
    /// first use. Returns the lot's id.
    @discardableResult
    public static func add(
        _ amount: Int, to userID: UUID, source: CreditSource, kind: LedgerEntryKind, expiresAt: Date?, orderID: UUID?, reason: String?,
        now: Date, on db: any Database
    ) async throws -> UUID {
        guard amount > 0 else { throw Inconsistency(description: "a lot of \(amount) credits") }
        let lotID = UUID()
        let credits = Int64(amount)
        let sql = try sqlDatabase(db)
        try await sql.raw(
            """
            INSERT INTO credit_lots (id, user_id, source, granted, remaining, expires_at, order_id, reason, created_at)
            VALUES (\(bind: lotID), \(bind: userID), \(bind: source.rawValue), \(bind: credits), \(bind: credits), \(bind: expiresAt),
                    \(bind: orderID), \(bind: reason), \(bind: now))
            """
        ).run()
        try await sql.raw(
            """
            INSERT INTO wallets (id, available, held, updated_at) VALUES (\(bind: userID), \(bind: credits), 0, \(bind: now))
            ON CONFLICT (id) DO UPDATE SET available = wallets.available + excluded.available, updated_at = excluded.updated_at
            """
        ).run()
        try await record(kind, of: userID, available: credits, held: 0, lot: lotID, order: orderID, reason: reason, now: now, on: db)
        return lotID
    }

    /// Ends the person's free lots whose time ran out: what was left of each leaves the wallet,
    /// with an `expiry` entry. A lot two transactions find at once is ended by one of them.
    public static func expire(for userID: UUID, now: Date, on db: any Database) async throws {
        let sql = try sqlDatabase(db)
        let due = try await sql.raw(
            """
            SELECT id, remaining FROM credit_lots
            WHERE user_id = \(bind: userID) AND remaining > 0 AND expires_at IS NOT NULL AND expires_at <= \(bind: now)
            """
        ).all()
        // The wallet is locked before any lot changes (the order every change of credits takes);
        // when nothing is due, as almost always, nothing is locked here.
        if !due.isEmpty { try await lockWallet(of: userID, on: db) }
        for row in due {
            let lot = try row.decode(column: "id", as: UUID.self)
            let remaining = try row.decode(column: "remaining", as: Int64.self)
            guard
                try await sql.raw(
                    "UPDATE credit_lots SET remaining = 0 WHERE id = \(bind: lot) AND remaining = \(bind: remaining) RETURNING id"
                ).first() != nil
            else { continue }
            try await moveAvailable(of: userID, by: -remaining, now: now, on: db)
            try await record(.expiry, of: userID, available: -remaining, held: 0, lot: lot, now: now, on: db)
        }
    }

    /// Reserves `amount` for a generation, drawn from the person's lots (free first, the soonest
    /// to expire first): false when what is available cannot cover it (the caller's transaction
    /// then rolls back whatever ran before). Nothing is held for a free generation.
    ///
    /// The lots are read once, before the wallet's lock (one statement fewer on the submit path,
    /// which the benchmark pays for); a lot another transaction of the same person drew from in
    /// between fails its guarded update, and then the parts taken are put back and the lots read
    /// again under the lock, where they cannot change (every draw takes the wallet's lock first).
    public static func hold(_ amount: Int, for generationID: UUID, of userID: UUID, now: Date, on db: any Database) async throws -> Bool {
        guard amount > 0 else { return true }
        var live = try await lots(of: userID, on: db)
        if live.contains(where: { $0.expiresAt.map { $0 <= now } ?? false }) {
            try await expire(for: userID, now: now, on: db)  // locks the wallet first
            live = try await lots(of: userID, on: db)
        }
        let credits = Int64(amount)
        let sql = try sqlDatabase(db)
        guard
            try await sql.raw(
                """
                UPDATE wallets SET available = available - \(bind: credits), held = held + \(bind: credits), updated_at = \(bind: now)
                WHERE id = \(bind: userID) AND available >= \(bind: credits) RETURNING id
                """
            ).first() != nil
        else { return false }
        var drawn = try await draw(amount, from: live, now: now, on: db)
        if drawn == nil { drawn = try await draw(amount, from: try await lots(of: userID, on: db), now: now, on: db) }
        guard let parts = drawn else {
            throw Inconsistency(description: "the wallet of \(userID) covers \(amount) credits but its lots do not")
        }
        for (position, part) in parts.enumerated() {
            try await sql.raw(
                """
                INSERT INTO credit_hold_parts (id, user_id, generation_id, lot_id, position, amount, settled_at)
                VALUES (\(bind: UUID()), \(bind: userID), \(bind: generationID), \(bind: part.lot), \(bind: position), \(bind: Int64(part.amount)), NULL)
                """
            ).run()
        }
        try await record(.hold, of: userID, available: -credits, held: credits, generation: generationID, now: now, on: db)
        return true
    }

    /// Takes `amount` from `lots` in allocation order, each lot's update guarded by what it
    /// holds. Nil (with every part taken put back) when the lots cannot cover it or one no
    /// longer holds what was read.
    private static func draw(_ amount: Int, from lots: [CreditLot], now: Date, on db: any Database) async throws -> [(lot: UUID, amount: Int)]? {
        guard let parts = CreditAllocation.allocate(amount, from: lots, at: now) else { return nil }
        let sql = try sqlDatabase(db)
        var taken: [(lot: UUID, amount: Int)] = []
        for part in parts {
            let drawn =
                try await sql.raw(
                    """
                    UPDATE credit_lots SET remaining = remaining - \(bind: Int64(part.amount))
                    WHERE id = \(bind: part.lot) AND remaining >= \(bind: Int64(part.amount)) RETURNING id
                    """
                ).first() != nil
            guard drawn else {
                for back in taken {
                    try await sql.raw("UPDATE credit_lots SET remaining = remaining + \(bind: Int64(back.amount)) WHERE id = \(bind: back.lot)").run()
                }
                return nil
            }
            taken.append(part)
        }
        return parts
    }

    /// Spends `captured` of the generation's hold (in the order it was drawn) and gives the rest
    /// back to the lots it came from. Once: the parts are claimed in one statement, and a second
    /// call finds none and changes nothing. What comes back to a lot whose order is disputed is
    /// frozen with the rest of it, and to one whose dispute was lost, it is gone: a chargeback's
    /// credits never become spendable again. Returns what was held (0 when there was nothing to settle).
    @discardableResult
    public static func settle(generation generationID: UUID, of userID: UUID, captured: Int, now: Date, on db: any Database) async throws -> Int {
        let sql = try sqlDatabase(db)
        let claimed = try await sql.raw(
            """
            UPDATE credit_hold_parts SET settled_at = \(bind: now)
            WHERE generation_id = \(bind: generationID) AND user_id = \(bind: userID) AND settled_at IS NULL
            RETURNING lot_id, position, amount
            """
        ).all().map { row in
            (
                lot: try row.decode(column: "lot_id", as: UUID.self), position: try row.decode(column: "position", as: Int.self),
                amount: try row.decode(column: "amount", as: Int64.self)
            )
        }.sorted { $0.position < $1.position }
        guard !claimed.isEmpty else { return 0 }
        let held = claimed.reduce(Int64(0)) { $0 + $1.amount }
        var toCapture = min(max(Int64(captured), 0), held)
        let spent = toCapture
        // Credits go back to lots only when not all were delivered: then the wallet is locked
        // first (parts, then wallet, then lots: the order holds and refunds take too).
        if spent < held { try await lockWallet(of: userID, on: db) }
        var withheld: [(lot: UUID, amount: Int64, lost: Bool)] = []
        for part in claimed {
            let kept = min(part.amount, toCapture)
            toCapture -= kept
            let back = part.amount - kept
            guard back > 0 else { continue }
            switch try await dispute(ofLot: part.lot, on: db) {
            case .open:
                try await sql.raw("UPDATE credit_lots SET frozen = frozen + \(bind: back) WHERE id = \(bind: part.lot)").run()
                withheld.append((part.lot, back, false))
            case .lost:
                withheld.append((part.lot, back, true))
            case .none:
                try await sql.raw("UPDATE credit_lots SET remaining = remaining + \(bind: back) WHERE id = \(bind: part.lot)").run()
            }
        }
        let released = held - spent
        let kept = withheld.reduce(Int64(0)) { $0 + $1.amount }
        try await sql.raw(
            """
            UPDATE wallets SET held = held - \(bind: held), available = available + \(bind: released - kept), updated_at = \(bind: now)
            WHERE id = \(bind: userID)
            """
        ).run()
        if spent > 0 {
            try await record(.capture, of: userID, available: 0, held: -spent, generation: generationID, now: now, on: db)
        }
        if released > 0 {
            try await record(.release, of: userID, available: released, held: -released, generation: generationID, now: now, on: db)
        }
        for part in withheld {
            try await record(
                .dispute, of: userID, available: -part.amount, held: 0, generation: generationID, lot: part.lot,
                reason: part.lost ? "The payment for these credits was returned to your bank" : "Frozen while your bank disputes this payment",
                now: now, on: db)
        }
        return Int(held)
    }

    enum LotDispute { case none, open, lost }

    /// Whether the order that bought the lot is disputed now, or lost its dispute.
    static func dispute(ofLot lot: UUID, on db: any Database) async throws -> LotDispute {
        let row = try await sqlDatabase(db).raw(
            "SELECT o.dispute_status AS status FROM credit_lots l JOIN orders o ON o.id = l.order_id WHERE l.id = \(bind: lot)"
        ).first()
        switch try row?.decode(column: "status", as: String?.self) {
        case "open": return .open
        case "lost": return .lost
        default: return .none
        }
    }

    /// Locks the person's wallet row for the rest of the transaction (PostgreSQL; SQLite has one
    /// writer). Every change of a person's credits takes it first, so two of them never wait
    /// for each other's rows in opposite orders, and a lot read under it stays as read.
    static func lockWallet(of userID: UUID, on db: any Database) async throws {
        try await sqlDatabase(db).raw("UPDATE wallets SET updated_at = updated_at WHERE id = \(bind: userID)").run()
    }

    /// Adds `delta` (negative: takes) to the person's available credits; the CHECK refuses below zero.
    private static func moveAvailable(of userID: UUID, by delta: Int64, now: Date, on db: any Database) async throws {
        try await sqlDatabase(db).raw(
            "UPDATE wallets SET available = available + \(bind: delta), updated_at = \(bind: now) WHERE id = \(bind: userID)"
        ).run()
    }

    /// The lot's credits still unspent (not held, not frozen): what a refund could take back.
    public static func unused(inLot lot: UUID, on db: any Database) async throws -> Int {
        Int(try await CreditLotModel.find(lot, on: db)?.remaining ?? 0)
    }

    /// Takes up to `credits` back out of one lot (a refund of the order that bought it):
    /// never more than the lot still has, so no balance goes below zero. Returns how many.
    @discardableResult
    public static func takeBack(
        upTo credits: Int, fromLot lot: UUID, of userID: UUID, kind: LedgerEntryKind, order: UUID?, reason: String?, now: Date,
        on db: any Database
    ) async throws -> Int {
        let sql = try sqlDatabase(db)
        try await lockWallet(of: userID, on: db)
        let taken = min(Int64(max(credits, 0)), Int64(try await unused(inLot: lot, on: db)))
        guard taken > 0 else { return 0 }
        guard
            try await sql.raw(
                "UPDATE credit_lots SET remaining = remaining - \(bind: taken) WHERE id = \(bind: lot) AND remaining >= \(bind: taken) RETURNING id"
            ).first() != nil
        else { throw Inconsistency(description: "lot \(lot) changed while the wallet was locked") }
        try await moveAvailable(of: userID, by: -taken, now: now, on: db)
        try await record(kind, of: userID, available: -taken, held: 0, lot: lot, order: order, reason: reason, now: now, on: db)
        return Int(taken)
    }

    /// Gives credits taken back with a refund that then did not happen back to their lot.
    public static func giveBack(
        _ credits: Int, toLot lot: UUID, of userID: UUID, order: UUID?, reason: String, now: Date, on db: any Database
    ) async throws {
        guard credits > 0 else { return }
        let sql = try sqlDatabase(db)
        try await lockWallet(of: userID, on: db)
        try await sql.raw("UPDATE credit_lots SET remaining = remaining + \(bind: Int64(credits)) WHERE id = \(bind: lot)").run()
        try await moveAvailable(of: userID, by: Int64(credits), now: now, on: db)
        try await record(.refund, of: userID, available: Int64(credits), held: 0, lot: lot, order: order, reason: reason, now: now, on: db)
    }

    /// A dispute opened: the lot's unspent credits are frozen (out of the wallet until it closes;
    /// credits held for a generation join them when it ends). Returns how many.
    @discardableResult
    public static func freeze(lot: UUID, of userID: UUID, order: UUID, now: Date, on db: any Database) async throws -> Int {
        let sql = try sqlDatabase(db)
        try await lockWallet(of: userID, on: db)
        let remaining = Int64(try await unused(inLot: lot, on: db))
        guard remaining > 0 else { return 0 }
        try await sql.raw("UPDATE credit_lots SET frozen = frozen + remaining, remaining = 0 WHERE id = \(bind: lot)").run()
        try await moveAvailable(of: userID, by: -remaining, now: now, on: db)
        try await record(
            .dispute, of: userID, available: -remaining, held: 0, lot: lot, order: order, reason: "Frozen while your bank disputes this payment",
            now: now, on: db)
        return Int(remaining)
    }

    /// A dispute closed. Won: the frozen credits come back. Lost: they are gone (recorded with no
    /// change to the balance, which they had already left), and so is anything of the lot still
    /// spendable (a dispute whose opening was never applied). Returns how many changed hands.
    @discardableResult
    public static func unfreeze(lot: UUID, of userID: UUID, order: UUID, won: Bool, now: Date, on db: any Database) async throws -> Int {
        let sql = try sqlDatabase(db)
        try await lockWallet(of: userID, on: db)
        guard let model = try await CreditLotModel.find(lot, on: db) else { return 0 }
        let frozen = model.frozen
        if won {
            guard frozen > 0 else { return 0 }
            try await sql.raw("UPDATE credit_lots SET frozen = 0, remaining = remaining + \(bind: frozen) WHERE id = \(bind: lot)").run()
            try await moveAvailable(of: userID, by: frozen, now: now, on: db)
            try await record(
                .dispute, of: userID, available: frozen, held: 0, lot: lot, order: order,
                reason: "The dispute was settled in your favour: the frozen credits are back", now: now, on: db)
            return Int(frozen)
        }
        if frozen > 0 {
            try await sql.raw("UPDATE credit_lots SET frozen = 0 WHERE id = \(bind: lot)").run()
            try await record(
                .dispute, of: userID, available: 0, held: 0, lot: lot, order: order,
                reason: "The dispute ended with the payment returned: \(frozen) frozen credits are gone", now: now, on: db)
        }
        let spendable = try await takeBack(
            upTo: Int(model.remaining), fromLot: lot, of: userID, kind: .dispute, order: order,
            reason: "The payment for these credits was returned to your bank", now: now, on: db)
        return Int(frozen) + spendable
    }

    /// A staff correction. More credits arrive as a free lot; fewer are taken from the person's
    /// available credits (free first, as spending does), never below zero. Returns the change made.
    public static func adjust(_ credits: Int, of userID: UUID, reason: String, now: Date, on db: any Database) async throws -> Int {
        if credits > 0 {
            try await add(credits, to: userID, source: .free, kind: .adjustment, expiresAt: nil, orderID: nil, reason: reason, now: now, on: db)
            return credits
        }
        try await lockWallet(of: userID, on: db)
        try await expire(for: userID, now: now, on: db)
        let sql = try sqlDatabase(db)
        let available = try await balance(of: userID, on: db).available
        let taken = min(available, credits == Int.min ? available : -credits)
        guard taken > 0 else { return 0 }
        guard
            try await sql.raw(
                """
                UPDATE wallets SET available = available - \(bind: Int64(taken)), updated_at = \(bind: now)
                WHERE id = \(bind: userID) AND available >= \(bind: Int64(taken)) RETURNING id
                """
            ).first() != nil,
            try await draw(taken, from: try await lots(of: userID, on: db), now: now, on: db) != nil
        else { throw Inconsistency(description: "the wallet of \(userID) changed while it was corrected") }
        try await record(.adjustment, of: userID, available: -Int64(taken), held: 0, reason: reason, now: now, on: db)
        return -taken
    }

    /// A person's ledger, newest first, with the balance after each entry (available + held):
    /// `limit` entries that come after the entry `after` (its time and id: a page's last).
    public static func entries(of userID: UUID, after: (at: Date, id: UUID)?, limit: Int, on db: any Database) async throws -> [(
        entry: LedgerEntryModel, balanceAfter: Int
    )] {
        var query = LedgerEntryModel.query(on: db).filter(\.$userID == userID)
        if let after {
            query = query.group(.or) { either in
                either.filter(\.$createdAt < after.at).group(.and) { $0.filter(\.$createdAt == after.at).filter(\.$id < after.id) }
            }
        }
        let page = try await query.sort(\.$createdAt, .descending).sort(\.$id, .descending).limit(limit).all()
        guard let newest = page.first else { return [] }
        // The balance after the newest entry on this page: everything up to and including it,
        // in the same order the page is sorted in (the database compares the ids).
        let row = try await sqlDatabase(db).raw(
            """
            SELECT CAST(COALESCE(SUM(available_delta + held_delta), 0) AS BIGINT) AS total FROM ledger_entries
            WHERE user_id = \(bind: userID)
              AND (created_at < \(bind: newest.createdAt.roundedToMillisecond)
                   OR (created_at = \(bind: newest.createdAt.roundedToMillisecond) AND id <= \(bind: newest.id)))
            """
        ).first()
        var running = Int(try row?.decode(column: "total", as: Int64.self) ?? 0)
        return page.map { entry in
            defer { running -= Int(entry.availableDelta + entry.heldDelta) }
            return (entry, running)
        }
    }

    /// Wallets whose cached balance is not the sum of their entries, or whose available credits
    /// are not what their lots hold: empty when the ledger is sound (the maintenance sweep and
    /// `/admin` ask).
    public static func mismatchedWallets(on db: any Database) async throws -> [UUID] {
        try await sqlDatabase(db).raw(
            """
            SELECT w.id AS id FROM wallets w
            LEFT JOIN (SELECT user_id, SUM(available_delta) AS a, SUM(held_delta) AS h FROM ledger_entries GROUP BY user_id) e
              ON e.user_id = w.id
            LEFT JOIN (SELECT user_id, SUM(remaining) AS r FROM credit_lots GROUP BY user_id) l ON l.user_id = w.id
            WHERE w.available <> COALESCE(e.a, 0) OR w.held <> COALESCE(e.h, 0) OR w.available <> COALESCE(l.r, 0)
            """
        ).all().map { try $0.decode(column: "id", as: UUID.self) }
    }

    /// The person's lots that still hold credits.
    public static func lots(of userID: UUID, on db: any Database) async throws -> [CreditLot] {
        try await sqlDatabase(db).raw(
            "SELECT id, source, remaining, expires_at, created_at FROM credit_lots WHERE user_id = \(bind: userID) AND remaining > 0"
        ).all().map { row in
            CreditLot(
                id: try row.decode(column: "id", as: UUID.self),
                source: CreditSource(rawValue: try row.decode(column: "source", as: String.self)) ?? .paid,
                remaining: Int(try row.decode(column: "remaining", as: Int64.self)),
                expiresAt: try row.decode(column: "expires_at", as: Date?.self), createdAt: try row.decode(column: "created_at", as: Date.self))
        }
    }

    private static func record(
        _ kind: LedgerEntryKind, of userID: UUID, available: Int64, held: Int64, generation: UUID? = nil, lot: UUID? = nil,
        order: UUID? = nil, reason: String? = nil, now: Date, on db: any Database
    ) async throws {
        try await sqlDatabase(db).raw(
            """
            INSERT INTO ledger_entries (id, user_id, kind, available_delta, held_delta, generation_id, order_id, lot_id, reason, created_at)
            VALUES (\(bind: UUID()), \(bind: userID), \(bind: kind.rawValue), \(bind: available), \(bind: held), \(bind: generation),
                    \(bind: order), \(bind: lot), \(bind: reason), \(bind: now.roundedToMillisecond))
            """
        ).run()
    }
}

extension LedgerStore {
    /// A hold no settlement claimed though its generation has ended (or is gone): what the
    /// generation row says it charged, 0 when there is no row.
    public struct StrandedHold: Sendable, Equatable {
        public let generation: UUID
        public let user: UUID
        public let charged: Int
    }

    /// Holds whose generation ended without settling them (a bug, or a process that died
    /// between the two on an engine without one transaction): the maintenance sweep settles them.
    public static func strandedHolds(limit: Int, on db: any Database) async throws -> [StrandedHold] {
        try await sqlDatabase(db).raw(
            """
            SELECT DISTINCT p.generation_id AS generation_id, p.user_id AS user_id, COALESCE(g.credits_charged, 0) AS charged
            FROM credit_hold_parts p LEFT JOIN generations g ON g.id = p.generation_id
            WHERE p.settled_at IS NULL
              AND (g.id IS NULL OR g.state NOT IN (\(unsafeRaw: GenerationState.queued.sql), \(unsafeRaw: GenerationState.running.sql)))
            LIMIT \(bind: limit)
            """
        ).all().map { row in
            StrandedHold(
                generation: try row.decode(column: "generation_id", as: UUID.self), user: try row.decode(column: "user_id", as: UUID.self),
                charged: Int(try row.decode(column: "charged", as: Int64.self)))
        }
    }
}
