import NIOCore
import NIOPosix

/// Where CPU-heavy image work runs: one thread per core, apart from the threads that run
/// Swift tasks and network I/O (with `TaskThreads.runOnEventLoops` those are the event loops).
/// Rendering, encoding and thumbnailing an output take 10–100 ms; run on a task thread, they
/// would hold up every request and database answer waiting for that thread meanwhile. Jobs
/// beyond one per core wait their turn here, so any number of job workers can wait on
/// providers, storage or the database while the cores stay busy with pictures.
public enum ImageWork {
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: System.coreCount)
        pool.start()
        return pool
    }()

    /// Runs `body` on the image threads and returns its result.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }
}
