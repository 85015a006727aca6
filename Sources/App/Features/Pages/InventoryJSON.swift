import Domain
import Vapor

/// `GET /privacy/inventory.json`: the data inventory as published data, for anyone (auditors,
/// researchers, the person): every table, its purpose and owner column, and for each column its
/// category, purpose, retention, whether it is exported, and what erasure does to it.
enum InventoryJSON {
    struct Column: Content {
        let name: String
        let category: String
        let use: String
        /// `while the account exists`, `N days`, or `operational record`.
        let retention: String
        let retentionDays: Int?
        let exported: Bool
        /// `delete row`, `set null`, `keyed hash`, `keep`, `not personal`.
        let erasure: String
        /// Why it is kept through an erasure (a legal exemption), when it is.
        let keptBecause: String?
    }

    struct Table: Content {
        let name: String
        let purpose: String
        let owner: String?
        let ownerlessBecause: String?
        let columns: [Column]
    }

    struct Inventory: Content {
        let tables: [Table]
    }

    @Sendable static func inventory(req: Request) async throws -> Response {
        let tables = DataInventory.pictor.tables.sorted { $0.table < $1.table }.map { table in
            Table(
                name: table.table, purpose: table.purpose, owner: table.owner, ownerlessBecause: table.ownerlessBecause,
                columns: table.columns.keys.sorted().map { name in
                    let policy = table.columns[name]!
                    let (erasure, kept): (String, String?) =
                        switch policy.erasure {
                        case .deleteRow: ("delete row", nil)
                        case .setNull: ("set null", nil)
                        case .keyedHash: ("keyed hash", nil)
                        case .keep(let exemption): ("keep", exemption)
                        case .notPersonal: ("not personal", nil)
                        }
                    let days: Int? = if case .days(let count) = policy.retention { count } else { nil }
                    return Column(
                        name: name, category: policy.category.rawValue, use: policy.use.rawValue,
                        retention: PagesController.describe(policy.retention), retentionDays: days, exported: policy.exported, erasure: erasure,
                        keptBecause: kept)
                })
        }
        let response = try await Inventory(tables: tables).encodeResponse(for: req)
        response.headers.replaceOrAdd(name: .cacheControl, value: "public, max-age=300")
        return response
    }
}
