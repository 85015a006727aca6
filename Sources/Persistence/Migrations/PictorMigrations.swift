import FluentKit

/// Every migration, in order. Append only: a migration that has shipped is never
/// edited or removed; a change to the schema is a new migration at the end.
/// Each migration pins its `name`, so renaming a type cannot re-run it.
public enum PictorMigrations {
    /// Each in a transaction of its own (`TransactionalMigration`).
    public static var all: [any Migration] {
        list.map(TransactionalMigration.init)
    }

    static var list: [any Migration] {
        [
            M001CreateJobs(),
            M002CreateMailOutbox(),
            M003CreateAccounts(),
            M004AddTwoFactor(),
            M005CreateAPIKeys(),
            M006AddCodeTarget(),
            M007CreateGenerations(),
            M008AddModelUsed(),
            M009CreateDisclosures(),
            M010AddGalleryColumns(),
            M011CreateDownloads(),
            M012CreateShareLinks(),
            M013AddReferenceGeneration(),
            M014AddPendingSignIn(),
            M015CreateLedger(),
            M016CreateOrders(),
            M017CreatePrivacyRequests(),
        ]
    }
}
