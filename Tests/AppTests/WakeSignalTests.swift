import Synchronization
import Testing

@testable import App

@Suite struct WakeSignalTests {
    /// One new job wakes one idle worker; the others keep waiting (they used to race for it).
    @Test func wakeOneWakesExactlyOneWaiter() async throws {
        let wake = WakeSignal()
        let woken = Locked(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    await wake.wait(upTo: .seconds(120))
                    woken.update { $0 += 1 }
                }
            }
            #expect(try await eventually(within: 30) { wake.waiting == 3 })

            wake.wakeOne()
            #expect(wake.waiting == 2, "one waiter taken off at once")
            #expect(try await eventually(within: 30) { woken.value == 1 })
            wake.wakeOne()
            #expect(try await eventually(within: 30) { woken.value == 2 })
            #expect(wake.waiting == 1)

            wake.wakeAll()
            try await group.waitForAll()
            #expect(woken.value == 3 && wake.waiting == 0)
        }
    }

    /// A wake-up that finds nobody waiting (a worker between a claim that found nothing and its
    /// wait) is kept: the next wait returns at once, and only that one.
    @Test func aWakeUpWithNobodyWaitingIsKeptForTheNextWait() async throws {
        for wakeUp in [WakeSignal.wakeOne, WakeSignal.wakeAll] {
            let wake = WakeSignal()
            wakeUp(wake)()
            let started = ContinuousClock.now
            await wake.wait(upTo: .seconds(60))
            #expect(ContinuousClock.now - started < .seconds(30), "the kept wake-up ends the wait")
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await wake.wait(upTo: .seconds(120)) }
                #expect(try await eventually(within: 30) { wake.waiting == 1 }, "kept once, not for good")
                wake.wakeAll()
                try await group.waitForAll()
            }
        }
    }
}
