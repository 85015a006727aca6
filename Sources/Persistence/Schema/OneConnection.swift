import FluentKit
import NIOCore

/// Gives every database handle the connection pool of one event loop, so a process holds
/// one SQLite connection instead of one per event loop.
///
/// SQLite lets one connection write at a time. With two connections, the one waiting for the
/// write lock sleeps in SQLite's busy handler (1, 2, 5 … ms) while the lock may already be free,
/// and each connection's page cache is thrown away whenever the other one writes. With one
/// connection, statements queue for it in the pool (no sleeping) and its cache stays warm.
/// Other processes (`pictor worker`) still meet the busy timeout, as they should.
public struct OneConnection: DatabaseConfiguration {
    private var base: any DatabaseConfiguration
    private let eventLoop: any EventLoop

    public init(_ base: any DatabaseConfiguration, on eventLoop: any EventLoop) {
        self.base = base
        self.eventLoop = eventLoop
    }

    public var middleware: [any AnyModelMiddleware] {
        get { base.middleware }
        set { base.middleware = newValue }
    }

    public func makeDriver(for databases: Databases) -> any DatabaseDriver {
        Driver(base: base.makeDriver(for: databases), eventLoop: eventLoop)
    }

    private struct Driver: DatabaseDriver {
        let base: any DatabaseDriver
        let eventLoop: any EventLoop

        func makeDatabase(with context: DatabaseContext) -> any Database {
            base.makeDatabase(with: DatabaseContext(
                configuration: context.configuration, logger: context.logger, eventLoop: eventLoop,
                history: context.history, pageSizeLimit: context.pageSizeLimit, shouldTrace: context.shouldTrace))
        }

        func shutdown() { base.shutdown() }
        func shutdownAsync() async { await base.shutdownAsync() }
    }
}
