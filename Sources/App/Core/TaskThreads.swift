import NIOCore
import NIOPosix

/// Which threads run Swift tasks.
public enum TaskThreads {
    /// Makes NIO's event loops (one per core, the ones Vapor serves HTTP on) run Swift tasks
    /// too, instead of a second pool of as many threads. A task then resumes on the loop that
    /// answered it: a database answer or an HTTP body no longer travels to another thread, and
    /// the two kinds of threads stop competing for the same cores. (It is the step Vapor's own
    /// template offers; measured in docs/PERFORMANCE.md.)
    ///
    /// Call it first in `main`, once, before any task has run. What blocks a thread for long
    /// (image work, file I/O, SQLite, password hashing) runs on thread pools of its own.
    @discardableResult
    public static func runOnEventLoops() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
