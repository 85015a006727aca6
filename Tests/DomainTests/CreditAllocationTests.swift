import Domain
import Foundation
import Testing

/// Spending draws free credits first, the soonest to run out first, and never from a lot that
/// ran out or is empty.
@Suite struct CreditAllocationTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func lot(_ source: CreditSource, _ remaining: Int, expiresIn days: Double? = nil, age: Double = 0) -> CreditLot {
        CreditLot(
            id: UUID(), source: source, remaining: remaining, expiresAt: days.map { now.addingTimeInterval($0 * 86_400) },
            createdAt: now.addingTimeInterval(-age))
    }

    @Test func freeBeforePaidAndSoonestExpiryFirst() throws {
        let paid = lot(.paid, 100, age: 50)
        let lateFree = lot(.free, 5, expiresIn: 30)
        let soonFree = lot(.free, 3, expiresIn: 2)
        let parts = try #require(CreditAllocation.allocate(10, from: [paid, lateFree, soonFree], at: now))
        #expect(parts.map(\.lot) == [soonFree.id, lateFree.id, paid.id])
        #expect(parts.map(\.amount) == [3, 5, 2])
    }

    @Test func expiredAndEmptyLotsAreNotDrawnFrom() throws {
        let expired = lot(.free, 50, expiresIn: -1)
        let empty = lot(.free, 0, expiresIn: 10)
        let paid = lot(.paid, 4)
        #expect(CreditAllocation.allocate(5, from: [expired, empty, paid], at: now) == nil, "4 live credits cannot cover 5")
        let parts = try #require(CreditAllocation.allocate(4, from: [expired, empty, paid], at: now))
        #expect(parts.map(\.lot) == [paid.id] && parts.map(\.amount) == [4])
    }

    @Test func olderPaidLotsFirstAndNothingForNoAmount() throws {
        let older = lot(.paid, 2, age: 100)
        let newer = lot(.paid, 2, age: 10)
        let parts = try #require(CreditAllocation.allocate(3, from: [newer, older], at: now))
        #expect(parts.map(\.lot) == [older.id, newer.id] && parts.map(\.amount) == [2, 1])
        #expect(CreditAllocation.allocate(0, from: [older], at: now) == nil)
        #expect(CreditAllocation.allocate(-1, from: [older], at: now) == nil)
    }
}
