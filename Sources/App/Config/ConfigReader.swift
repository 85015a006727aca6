import Domain
import Foundation
import Payments

/// Reads typed values out of a string dictionary; every failure names its variable.
struct ConfigReader {
    let values: [String: String]

    /// A value with surrounding blanks removed; an empty value counts as unset.
    func optionalString(_ name: String) -> String? {
        guard let raw = values[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
        return raw
    }

    func string(_ name: String, default fallback: String) -> String {
        optionalString(name) ?? fallback
    }

    func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let raw = optionalString(name) else { return fallback }
        guard let value = Int(raw.replacingOccurrences(of: "_", with: "")), range.contains(value) else {
            throw ConfigError(
                variable: name,
                problem: "'\(raw)' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func boolean(_ name: String, default fallback: Bool) throws(ConfigError) -> Bool {
        guard let raw = optionalString(name) else { return fallback }
        switch raw.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigError(variable: name, problem: "'\(raw)' is not true or false")
        }
    }

    func choice<T: RawRepresentable & CaseIterable>(
        _ name: String, default fallback: T
    ) throws(ConfigError) -> T where T.RawValue == String {
        guard let raw = optionalString(name) else { return fallback }
        guard let value = T(rawValue: raw.lowercased()) else {
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigError(variable: name, problem: "'\(raw)' is not one of: \(allowed)")
        }
        return value
    }

    func url(_ name: String, default fallback: String) throws(ConfigError) -> URL {
        let raw = optionalString(name) ?? fallback
        guard let url = URL(string: raw), let scheme = url.scheme, ["http", "https"].contains(scheme),
            url.host?.isEmpty == false
        else {
            throw ConfigError(variable: name, problem: "'\(raw)' is not an http:// or https:// URL")
        }
        return url
    }

    func database(_ name: String, defaultSQLitePath: String) throws(ConfigError) -> DatabaseSetting {
        guard let raw = optionalString(name) else { return .sqlite(path: defaultSQLitePath) }
        if raw.hasPrefix("postgres://") || raw.hasPrefix("postgresql://") {
            guard let parts = URLComponents(string: raw), parts.host?.isEmpty == false else {
                throw ConfigError(variable: name, problem: "the PostgreSQL URL has no host (postgres://user:password@host:5432/database)")
            }
            guard parts.path.count > 1 else {
                throw ConfigError(variable: name, problem: "the PostgreSQL URL names no database (…@host:5432/database)")
            }
            guard parts.user?.isEmpty == false else {
                throw ConfigError(variable: name, problem: "the PostgreSQL URL names no user (postgres://user:password@host:5432/database)")
            }
            return .postgres(url: raw)
        }
        if raw.hasPrefix("sqlite://") {
            let path = String(raw.dropFirst("sqlite://".count))
            guard !path.isEmpty else {
                throw ConfigError(variable: name, problem: "the SQLite URL has no file path (sqlite://./data/pictor.sqlite)")
            }
            return .sqlite(path: path)
        }
        throw ConfigError(
            variable: name,
            problem: "must start with postgres://, postgresql:// or sqlite:// (got a value starting '\(raw.prefix(10))')")
    }

    /// A Standard Webhooks signing secret: `whsec_` and base64 (Replicate's). A wrong one would
    /// refuse every delivery as badly signed, which reads like an attack rather than a typo.
    func webhookSecret(_ name: String) throws(ConfigError) -> String? {
        guard let raw = optionalString(name) else { return nil }
        let encoded = raw.hasPrefix("whsec_") ? String(raw.dropFirst(6)) : raw
        guard let key = Data(base64Encoded: encoded), !key.isEmpty else {
            throw ConfigError(variable: name, problem: "must be the signing secret Replicate shows, `whsec_` followed by base64")
        }
        return raw
    }

    /// A key of at least 32 bytes, given as base64 or hex.
    func secretKey(_ name: String) throws(ConfigError) -> Data? {
        guard let raw = optionalString(name) else { return nil }
        let bytes = Data(base64Encoded: raw) ?? Self.hexBytes(raw)
        guard let bytes, bytes.count >= 32 else {
            throw ConfigError(variable: name, problem: "must be at least 32 random bytes, as base64 or hex (e.g. `openssl rand -base64 32`)")
        }
        return bytes
    }

    private static func hexBytes(_ text: String) -> Data? {
        guard text.count % 2 == 0 else { return nil }
        var bytes = Data()
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    /// The models file named by `name`, parsed, with keys taken from this environment.
    func models(_ name: String) throws(ConfigError) -> [ModelDefinition]? {
        guard let (path, text) = try file(name) else { return nil }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        return try ModelsFile.parse(text, environment: values) { name in
            let file = name.hasPrefix("/") ? URL(fileURLWithPath: name) : directory.appendingPathComponent(name)
            return try String(contentsOf: file, encoding: .utf8)
        }
    }

    /// The packs file named by `name`, parsed.
    func packs(_ name: String) throws(ConfigError) -> [CreditPack]? {
        guard let (_, text) = try file(name) else { return nil }
        return try PacksFile.parse(text)
    }

    /// The path `name` holds and the text of that file; nil when `name` is unset.
    private func file(_ name: String) throws(ConfigError) -> (path: String, text: String)? {
        guard let path = optionalString(name) else { return nil }
        do {
            return (path, try String(contentsOfFile: path, encoding: .utf8))
        } catch {
            throw ConfigError(variable: name, problem: "cannot read \(path)")
        }
    }

    /// PAYMENT_PROVIDER: `offline` (the default) or `stripe`, which needs its two secrets.
    func stripe() throws(ConfigError) -> StripePaymentProvider.Settings? {
        switch string("PAYMENT_PROVIDER", default: "offline") {
        case "offline":
            return nil
        case "stripe":
            guard let key = optionalString("STRIPE_SECRET_KEY"), key.hasPrefix("sk_") || key.hasPrefix("rk_") else {
                throw ConfigError(
                    variable: "STRIPE_SECRET_KEY", problem: "must be your Stripe secret key (sk_live_…, sk_test_… or a restricted rk_…)")
            }
            guard let secret = optionalString("STRIPE_WEBHOOK_SECRET"), secret.hasPrefix("whsec_") else {
                throw ConfigError(variable: "STRIPE_WEBHOOK_SECRET", problem: "must be the webhook endpoint's signing secret, whsec_…")
            }
            let base = try url("STRIPE_API_BASE", default: "https://api.stripe.com")
            return StripePaymentProvider.Settings(secretKey: key, webhookSecret: secret, apiBase: base)
        default:
            throw ConfigError(variable: "PAYMENT_PROVIDER", problem: "must be offline or stripe")
        }
    }
}
