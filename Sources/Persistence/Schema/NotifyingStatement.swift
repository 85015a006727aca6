import SQLKit

/// PostgreSQL only: `statement` (one that ends in `RETURNING …`) with a `pg_notify(channel,
/// payload)` for each row it returns, in one statement and one round trip. The notification is
/// delivered when the surrounding transaction commits, and not at all if no row was returned.
/// Its rows are the statement's, with one more column (`announced`).
func notifying(_ statement: SQLQueryString, channel: String, payload: String) -> SQLQueryString {
    """
    WITH changed AS (\(statement))
    SELECT changed.*, pg_notify(\(bind: channel), \(bind: payload)) AS announced FROM changed
    """
}

/// PostgreSQL only: `statement` (one that ends in `RETURNING …`), whose transaction, when the
/// statement changed a row, commits without waiting for its WAL to reach the disk
/// (`synchronous_commit = off` for that transaction alone: `set_config(…, true)` is `SET LOCAL`).
/// Its rows are the statement's, with one more column (`unflushed`).
///
/// A crash of the database server (not of Pictor) can lose such a commit if it came in the last
/// moments before the crash (at most three times `wal_writer_delay`, 600 ms by default); the
/// next durable commit of any transaction flushes it with its own. Only for writes whose loss is
/// harmless: see the callers.
func committingWithoutWaitingForDisk(_ statement: SQLQueryString) -> SQLQueryString {
    """
    WITH changed AS (\(statement))
    SELECT changed.*, set_config('synchronous_commit', 'off', true) AS unflushed FROM changed
    """
}
