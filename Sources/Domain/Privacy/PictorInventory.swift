extension DataInventory {
    /// Pictor's inventory. Add a `TablePolicy` here in the same change that adds a table
    /// or a column; `InventoryMatchesSchemaTests` fails until you do. A table with personal
    /// data names its `owner` (the column with the person's id) and any `blobKeyColumns`, so
    /// that `PersonDataMap` finds its rows and blobs; `PersonDataMapTests` seeds every such table.
    public static let pictor = DataInventory(tables: [
        TablePolicy(
            table: "users",
            purpose: "Your account: how you sign in, your role, and which Terms and Privacy Policy you accepted.",
            owner: "id",
            columns: [
                "id": .account("user.unique_id"),
                "email": .account("user.contact.email"),
                "email_verified_at": .account("user.account"),
                "password_hash": .account("user.authorization.credentials", exported: false, use: .security),
                "role": .account("user.account"),
                "status": .account("user.account"),
                "terms_version": .account("user.account", use: .legalObligation),
                "privacy_version": .account("user.account", use: .legalObligation),
                "terms_accepted_at": .account("user.account", use: .legalObligation),
                "created_at": .account("user.account"),
                "updated_at": .account("user.account"),
                "totp_secret": .account("user.authorization.credentials", exported: false, use: .security),
                "totp_enabled_at": .account("user.account.settings", use: .security),
                "totp_last_step": .account("user.authorization.credentials", exported: false, use: .security),
                "pending_sign_in": .account("user.authorization.credentials", exported: false, use: .security),
            ]
        ),
        TablePolicy(
            table: "api_keys",
            purpose: "Your API keys: name, scopes and when each was last used (the key itself is stored hashed).",
            owner: "user_id",
            columns: [
                "id": .account("user.unique_id"),
                "user_id": .account("user.unique_id"),
                "name": .account("user.account.settings"),
                "prefix": .account("user.account.settings"),
                "key_hash": .account("user.authorization.credentials", exported: false, use: .security),
                "scopes": .account("user.account.settings"),
                "created_at": .account("user.account.settings"),
                "last_used_at": .account("user.behavior"),
                "revoked_at": .account("user.account.settings"),
            ]
        ),
        TablePolicy(
            table: "recovery_codes",
            purpose: "Single-use codes (stored hashed) that sign you in if you lose your authenticator.",
            owner: "user_id",
            columns: Dictionary(
                uniqueKeysWithValues: ["id", "user_id", "code_hash", "used_at", "created_at"].map {
                    ($0, ColumnPolicy.account("user.authorization.credentials", exported: false, use: .security))
                })
        ),
        TablePolicy(
            table: "sessions",
            purpose: "Your signed-in devices, so you can see and end them; deleted 30 days after they end.",
            owner: "user_id",
            columns: [
                "id": .shortLived("user.unique_id", days: 30, exported: true, use: .security),
                "user_id": .shortLived("user.unique_id", days: 30, exported: true, use: .security),
                "token_hash": .shortLived("user.authorization.credentials", days: 30, exported: false, use: .security),
                "csrf_token": .shortLived("user.authorization.credentials", days: 30, exported: false, use: .security),
                "created_at": .shortLived("user.behavior", days: 30, exported: true, use: .security),
                "last_seen_at": .shortLived("user.behavior", days: 30, exported: true, use: .security),
                "authenticated_at": .shortLived("user.behavior", days: 30, exported: true, use: .security),
                "remember": .shortLived("user.account.settings", days: 30, exported: true, use: .security),
                "device": .shortLived("user.device", days: 30, exported: true, use: .security),
                "ip_prefix": .shortLived("user.device.ip_address", days: 30, exported: true, use: .security),
                "revoked_at": .shortLived("user.behavior", days: 30, exported: true, use: .security),
            ]
        ),
        TablePolicy(
            table: "one_time_codes",
            purpose: "Email confirmation and password reset codes (stored hashed), deleted a day after they expire.",
            owner: "user_id",
            columns: Dictionary(
                uniqueKeysWithValues: [
                    "id", "user_id", "purpose", "code_hash", "expires_at", "used_at", "attempts", "created_at", "target",
                ].map { ($0, ColumnPolicy.shortLived("user.authorization.credentials", days: 1, exported: false, use: .security)) })
        ),
        TablePolicy(
            table: "login_throttles",
            purpose:
                "Counts of sign-in and code attempts per account (hashed email) and per network, and of sign-ups per network, with their locks: to stop password guessing and mass sign-ups.",
            // The key can hold an account's id ("codes:<purpose>:<id>") but is no owner column: a
            // data map cannot select by it, and a count lives a day (erasure leaves it to expire).
            ownerlessBecause:
                "Its rows are counts keyed by text (a network, a keyed hash of an email address, a code's purpose and account), with no column that holds an account's id; each is kept a day.",
            columns: Dictionary(
                uniqueKeysWithValues: ["key", "failures", "locked_until", "updated_at"].map {
                    ($0, ColumnPolicy.shortLived("user.device.ip_address", days: 1, exported: false, use: .security))
                })
        ),
        TablePolicy(
            table: "audit_log",
            purpose: "Security events and every admin action, kept one year to investigate abuse.",
            owner: "actor_user_id",
            columns: Dictionary(
                uniqueKeysWithValues: [
                    "id", "occurred_at", "actor_user_id", "action", "target_type", "target_id", "ip_prefix", "detail",
                ].map {
                    (
                        $0,
                        ColumnPolicy(
                            category: $0 == "ip_prefix" ? "user.device.ip_address" : "user.behavior", use: .security,
                            retention: .days(365), exported: true,
                            erasure: .keep(exemption: "security records are kept one year to investigate fraud and abuse"))
                    )
                })
        ),
        TablePolicy(
            table: "jobs",
            purpose: "The durable job queue. Payloads carry ids of other rows, never personal data itself.",
            columns: Dictionary(
                uniqueKeysWithValues: [
                    "id", "kind", "payload", "state", "run_at", "attempts", "max_attempts", "lease_owner",
                    "lease_expires_at", "last_error", "created_at", "updated_at", "finished_at",
                ].map { ($0, ColumnPolicy.operationalLog(days: 30)) })
        ),
        TablePolicy(
            table: "mail_outbox",
            purpose:
                "Service emails (account, security, payment, policy) waiting to be sent, kept 30 days; their subject and text stored encrypted with the service's key.",
            owner: "user_id",
            columns: [
                "id": .operationalLog(days: 30),
                "user_id": ColumnPolicy(
                    category: "user.unique_id", use: .essentialService,
                    retention: .days(30), exported: false, erasure: .deleteRow),
                "recipient": ColumnPolicy(
                    category: "user.contact.email", use: .essentialService,
                    retention: .days(30), exported: true, erasure: .deleteRow),
                "subject": ColumnPolicy(
                    category: "user.content.private", use: .essentialService,
                    retention: .days(30), exported: true, erasure: .deleteRow),
                "body_text": ColumnPolicy(
                    category: "user.content.private", use: .essentialService,
                    retention: .days(30), exported: true, erasure: .deleteRow),
                "body_html": ColumnPolicy(
                    category: "user.content.private", use: .essentialService,
                    retention: .days(30), exported: true, erasure: .deleteRow),
                "category": .operationalLog(days: 30),
                "created_at": .operationalLog(days: 30),
                "sent_at": .operationalLog(days: 30),
            ]
        ),
        TablePolicy(
            table: "content_keys",
            purpose:
                "Your own encryption key (itself encrypted): your prompts and images are encrypted with it, and erasing it makes every copy unreadable.",
            owner: "id",
            columns: [
                "id": .account("user.unique_id", exported: false, use: .security),
                "sealed_key": .account("user.authorization.credentials", exported: false, use: .security),
                "created_at": .account("user.account", exported: false, use: .security),
            ]
        ),
        TablePolicy(
            table: "generations",
            purpose: "Your image requests (prompt encrypted with your key), their settings, status and the credits they cost.",
            owner: "user_id",
            columns: [
                "id": .account("user.unique_id"),
                "user_id": .account("user.unique_id"),
                "model": .account("user.content.private"),
                "prompt_sealed": .account("user.content.private"),
                "negative_prompt_sealed": .account("user.content.private"),
                "width": .account("user.content.private"),
                "height": .account("user.content.private"),
                "count": .account("user.content.private"),
                "seed": .account("user.content.private"),
                "style": .account("user.content.private"),
                "reference_ids": .account("user.content.private"),
                "state": .account("user.behavior"),
                "reason": .account("user.behavior"),
                "progress": .account("user.behavior", exported: false),
                "price_per_image": .account("user.financial"),
                "credits_held": .account("user.financial"),
                "credits_charged": .account("user.financial"),
                "idempotency_key": .account("user.behavior", exported: false),
                "request_hash": .account("user.behavior", exported: false),
                "job_id": .account("user.unique_id", exported: false),
                "created_at": .account("user.behavior"),
                "started_at": .account("user.behavior"),
                "finished_at": .account("user.behavior"),
                "updated_at": .account("user.behavior", exported: false),
                "model_used": .account("user.content.private"),
                // Keyed hashes of the prompt's words for search (also indexed by SQLite FTS5 /
                // a PostgreSQL GIN index): derived from the prompt, useless without the person's key.
                "search_terms": .account("user.content.private", exported: false),
                "favourited_at": .account("user.behavior"),
                "deleted_at": .account("user.behavior", exported: false),
            ]
        ),
        TablePolicy(
            table: "generation_images",
            purpose: "The images made for you (stored encrypted with your key) and their sizes and checksums.",
            owner: "user_id",
            blobKeyColumns: ["blob_key", "thumbnail_key"],
            columns: Dictionary(
                uniqueKeysWithValues: [
                    "id", "generation_id", "user_id", "position", "blob_key", "thumbnail_key", "format", "width", "height",
                    "bytes", "thumbnail_bytes", "sha256", "digital_source_type", "created_at",
                ].map { ($0, ColumnPolicy.account("user.content.private")) })
        ),
        TablePolicy(
            table: "reference_images",
            purpose:
                "Reference images you uploaded (metadata removed, stored encrypted with your key) until you delete them; those uploaded with a generation go with it, or with the last of its variations that used them.",
            owner: "user_id",
            blobKeyColumns: ["blob_key"],
            columns: Dictionary(
                uniqueKeysWithValues: [
                    "id", "user_id", "blob_key", "format", "width", "height", "bytes", "sha256", "created_at", "generation_id",
                ].map { ($0, ColumnPolicy.account("user.content.private")) })
        ),
        TablePolicy(
            table: "disclosures",
            purpose: "Each time your data went to an outside processor (an image provider): who, why, what, when.",
            owner: "user_id",
            columns: Dictionary(
                uniqueKeysWithValues: [
                    "id", "user_id", "generation_id", "processor", "purpose", "categories", "created_at",
                ].map { ($0, ColumnPolicy.account("user.behavior", use: .legalObligation)) })
        ),
        TablePolicy(
            table: "downloads",
            purpose: "Your download activity: which of your images you downloaded, in which format, when. Kept for a year.",
            owner: "user_id",
            columns: Dictionary(
                uniqueKeysWithValues: [
                    "id", "user_id", "image_id", "generation_id", "format", "created_at",
                ].map { ($0, ColumnPolicy.shortLived("user.behavior", days: 365, exported: true)) })
        ),
        TablePolicy(
            table: "share_links",
            purpose:
                "Links you made to share a generation: when, until when, whether they show the prompt, and whether you revoked them (the link itself is stored only as a hash).",
            owner: "user_id",
            columns: [
                "id": .account("user.unique_id"),
                "user_id": .account("user.unique_id"),
                "generation_id": .account("user.unique_id"),
                "token_hash": .account("user.authorization.credentials", exported: false, use: .security),
                "shows_prompt": .account("user.account.settings"),
                "created_at": .account("user.behavior"),
                "expires_at": .account("user.account.settings"),
                "revoked_at": .account("user.behavior"),
            ]
        ),
        TablePolicy(
            table: "wallets",
            purpose: "Your credit balance: what you can spend and what is held for generations in progress.",
            owner: "id",
            columns: Dictionary(
                uniqueKeysWithValues: ["id", "available", "held", "updated_at"].map {
                    ($0, ColumnPolicy.account("user.financial", use: "essential.service.payment_processing"))
                })
        ),
        TablePolicy(
            table: "credit_lots",
            purpose: "Each purchase or grant of credits: how many, what is left, whether they were free and until when.",
            owner: "user_id",
            columns: Dictionary(
                uniqueKeysWithValues: [
                    "id", "user_id", "source", "granted", "remaining", "frozen", "expires_at", "order_id", "reason", "created_at",
                ].map { ($0, ColumnPolicy.account("user.financial", use: "essential.service.payment_processing")) })
        ),
        TablePolicy(
            table: "credit_hold_parts",
            purpose: "Which of your credits are held for which generation until it ends.",
            owner: "user_id",
            columns: Dictionary(
                uniqueKeysWithValues: [
                    "id", "user_id", "generation_id", "lot_id", "position", "amount", "settled_at",
                ].map { ($0, ColumnPolicy.account("user.financial", use: "essential.service.payment_processing")) })
        ),
        TablePolicy(
            table: "ledger_entries",
            purpose:
                "Every movement of your credits (purchases, grants, holds, charges, refunds, expiry, corrections): kept as payment records for the tax period, without your account once it is erased.",
            owner: "user_id",
            columns: Dictionary(
                uniqueKeysWithValues: [
                    "id", "user_id", "kind", "available_delta", "held_delta", "generation_id", "order_id", "lot_id", "reason", "created_at",
                ].map { ($0, $0 == "user_id" ? ColumnPolicy.paymentRecordOwner : ColumnPolicy.paymentRecord("user.financial")) })
        ),
        TablePolicy(
            table: "orders",
            purpose:
                "Your purchases of credits: the pack, the price, the state, the payment processor's references (never your card), what was refunded and any dispute. Kept as payment records for the tax period; once your account is erased, without it and without the network and card fingerprint.",
            owner: "user_id",
            columns: Dictionary(
                uniqueKeysWithValues: [
                    "id", "pack_id", "credits", "amount_minor", "currency", "state", "provider", "checkout_reference", "payment_reference",
                    "refunded_minor", "risk_level", "fraud_flags", "lot_id", "dispute_reference", "dispute_status", "created_at", "paid_at",
                    "updated_at",
                ].map { ($0, ColumnPolicy.paymentRecord("user.financial")) }
                    + [
                        ("user_id", ColumnPolicy.paymentRecordOwner),
                        // Fraud signals: velocity per card and per network. Minimised when the account is erased.
                        (
                            "card_fingerprint",
                            ColumnPolicy(
                                category: "user.financial", use: .security, retention: .days(DataInventory.paymentRecordsDays), exported: true,
                                erasure: .setNull)
                        ),
                        (
                            "network",
                            ColumnPolicy(
                                category: "user.device.ip_address", use: .security, retention: .days(DataInventory.paymentRecordsDays),
                                exported: true, erasure: .setNull)
                        ),
                    ])
        ),
        TablePolicy(
            table: "refund_requests",
            purpose:
                "Refunds you asked for, with your reason and what staff decided (and why). Kept as payment records for the tax period, without your account once it is erased.",
            owner: "user_id",
            columns: Dictionary(
                uniqueKeysWithValues: [
                    "id", "order_id", "state", "decided_by", "decision_note", "credits_taken", "amount_refunded_minor", "created_at",
                    "decided_at",
                ].map { ($0, ColumnPolicy.paymentRecord("user.financial")) }
                    + [
                        ("user_id", ColumnPolicy.paymentRecordOwner),
                        ("reason", ColumnPolicy.paymentRecord("user.content.self_description")),
                    ])
        ),
        TablePolicy(
            table: "payment_events",
            purpose: "Which payment processor events were applied, by their id, so that a repeated delivery changes nothing.",
            columns: Dictionary(
                uniqueKeysWithValues: ["id", "provider", "event_id", "type", "order_id", "received_at"].map {
                    ($0, ColumnPolicy.operationalLog(days: DataInventory.paymentRecordsDays))
                })
        ),
        TablePolicy(
            table: "privacy_requests",
            purpose:
                "The privacy requests you made (a copy, correction, deletion, restriction, opt-out, appeal): what, when, how it was answered and why. Kept 24 months as the record the law asks for and used for nothing else; without your account or address once it is erased.",
            owner: "user_id",
            columns: Dictionary(
                uniqueKeysWithValues: [
                    "id", "kind", "channel", "jurisdiction", "state", "detail", "received_on", "confirm_by", "due_by", "extended_due_by",
                    "extension_reason", "outcome", "denial_basis", "appeal_of", "decided_by", "created_at", "updated_at",
                ].map {
                    (
                        $0,
                        ColumnPolicy(
                            category: "user.privacy_preferences", use: .legalObligation, retention: .days(DataInventory.requestRecordsDays),
                            exported: true, erasure: .keep(exemption: "records of privacy requests kept 24 months"))
                    )
                }
                    + ["user_id", "email"].map {
                        (
                            $0,
                            ColumnPolicy(
                                category: $0 == "email" ? "user.contact.email" : "user.unique_id", use: .legalObligation,
                                retention: .days(DataInventory.requestRecordsDays), exported: true, erasure: .setNull)
                        )
                    })
        ),
        TablePolicy(
            table: "processing_restrictions",
            purpose:
                "The uses of your data you objected to or restricted (review of your content, model improvement, sale or sharing), until you lift them.",
            owner: "user_id",
            columns: Dictionary(
                uniqueKeysWithValues: ["id", "user_id", "kind", "request_id", "created_at"].map {
                    ($0, ColumnPolicy.account("user.privacy_preferences"))
                })
        ),
        TablePolicy(
            table: "_fluent_migrations",
            purpose: "Which schema migrations have run (Fluent's own bookkeeping).",
            columns: [
                "id": .operational,
                "name": .operational,
                "batch": .operational,
                "created_at": .operational,
                "updated_at": .operational,
            ]
        ),
    ])
}
