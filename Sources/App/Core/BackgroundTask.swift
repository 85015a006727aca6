import Synchronization

/// Work a lifecycle handler runs in the background from boot to shutdown: `stop()` cancels it
/// and waits for it to end.
final class BackgroundTask: Sendable {
    private let task = Mutex<Task<Void, Never>?>(nil)

    func start(_ operation: @escaping @Sendable () async -> Void) {
        task.withLock { $0 = Task { await operation() } }
    }

    func stop() async {
        guard let running = task.withLock({ $0 }) else { return }
        running.cancel()
        await running.value
    }
}
