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
