import Foundation
import Persistence

/// Tells this process about changes to generations made by other Pictor processes. On
/// PostgreSQL every change announces itself on `GenerationStore.changesChannel` (in the
/// statement that makes it, delivered at commit); each server process listens there (through
/// `DatabaseNotifications`) and wakes its own followers. On SQLite there is one process and
/// `GenerationEvents.changed` is enough.
enum GenerationNotifications {
    static func subscription(for events: GenerationEvents) -> DatabaseNotifications.Subscription {
        DatabaseNotifications.Subscription(channel: GenerationStore.changesChannel) { payload in
            if let id = UUID(uuidString: payload) { events.changed(id) }
        }
    }
}
