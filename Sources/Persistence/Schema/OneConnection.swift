import FluentKit
import NIOCore
import NIOPosix

/// One SQLite connection per process, with a thread and an event loop of its own.
///
/// SQLite lets one connection write at a time. With two connections, the one waiting for the
/// write lock sleeps in SQLite's busy handler (1, 2, 5 … ms) while the lock may already be free,
/// and each connection's page cache is thrown away whenever the other one writes. With one
/// connection, statements queue for it in the pool (no sleeping) and its cache stays warm.
/// Other processes (`pictor worker`) still meet the busy timeout, as they should.
///
/// Its statements run on one thread of their own, one after another as the connection needs
/// anyway, and their answers arrive on an event loop of their own. The connection is the one
/// thing every request and job waits for, so nothing else may queue in front of it: on a
/// shared pool, password hashing (250 ms) did; on a shared event loop, the Swift tasks that
/// resume there after each statement (tasks run on the event loops, see `TaskThreads`) did.
/// From this loop, tasks resume on the application's loops, spread over the cores.
public struct OneConnection: DatabaseConfiguration {
    private var base: any DatabaseConfiguration

    public init(_ base: any DatabaseConfiguration) {
        self.base = base
    }

    public var middleware: [any AnyModelMiddleware] {
        get { base.middleware }
        set { base.middleware = newValue }
    }

    public func makeDriver(for databases: Databases) -> any DatabaseDriver {
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        let driver = base.makeDriver(for: Databases(threadPool: thread, on: loop))
        return Driver(base: driver, loop: loop, thread: thread)
    }

    /// The wrapped driver, with the loop and the thread it owns.
    private struct Driver: DatabaseDriver {
        let base: any DatabaseDriver
        let loop: MultiThreadedEventLoopGroup
        let thread: NIOThreadPool

        func makeDatabase(with context: DatabaseContext) -> any Database {
            base.makeDatabase(
                with: DatabaseContext(
                    configuration: context.configuration, logger: context.logger, eventLoop: loop.next(),
                    history: context.history, pageSizeLimit: context.pageSizeLimit, shouldTrace: context.shouldTrace))
        }

        func shutdown() {
            base.shutdown()
            thread.shutdownGracefully { _ in }
            loop.shutdownGracefully { _ in }
        }

        func shutdownAsync() async {
            await base.shutdownAsync()
            try? await thread.shutdownGracefully()
            try? await loop.shutdownGracefully()
        }
    }
}
