@testable import App
import Synchronization
import Testing

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
            wake.wakeOne()  // nobody waiting: nothing happens
        }
    }
}
