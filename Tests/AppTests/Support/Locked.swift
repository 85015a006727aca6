import Synchronization

/// A value shared between a test and the tasks it starts.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    var value: Value { mutex.withLock { $0 } }

    @discardableResult
    func update<R: Sendable>(_ change: (inout Value) -> R) -> R {
        mutex.withLock { change(&$0) }
    }
}
