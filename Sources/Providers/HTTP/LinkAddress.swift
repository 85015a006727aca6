import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where a link a provider returned may lead. A model's output names the address, so it is
/// checked like any outside input: the host is resolved here, every address it resolves to must
/// be public (no loopback, private, link-local — the cloud metadata service —, carrier-grade NAT,
/// unique-local, multicast or reserved range), and the fetch then connects to the address that
/// was checked (a second lookup could answer differently: DNS rebinding). A link to the very host
/// the operator configured for the provider is allowed wherever it is (a self-hosted server).
enum LinkAddress {
    /// The addresses `host` resolves to, as text (numeric hosts resolve to themselves).
    static func resolve(_ host: String) async -> [String] {
        await withCheckedContinuation { continuation in
            // getaddrinfo blocks: on a thread of its own, not one that runs Swift tasks.
            Thread.detachNewThread { continuation.resume(returning: lookup(host)) }
        }
    }

    private static func lookup(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(current.pointee.ai_addr, current.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 {
                let address = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !addresses.contains(address) { addresses.append(address) }
            }
            entry = current.pointee.ai_next
        }
        return addresses
    }

    /// True for an address on the public internet; false for anything private, local or reserved
    /// (and for text that is not an address).
    static func isPublic(_ address: String) -> Bool {
        var ipv4 = in_addr()
        if inet_pton(AF_INET, address, &ipv4) == 1 { return isPublic(v4: UInt32(bigEndian: ipv4.s_addr)) }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address.split(separator: "%").first.map(String.init) ?? address, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        func embedded(at offset: Int) -> UInt32 { bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF { return isPublic(v4: embedded(at: 12)) }  // ::ffff:a.b.c.d
        if bytes[0..<12] == [0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0][...] { return isPublic(v4: embedded(at: 12)) }  // NAT64
        // Otherwise only global unicast (2000::/3), less the ranges that carry an IPv4 address or
        // are reserved: 6to4 (2002::/16), Teredo (2001::/32), documentation (2001:db8::/32).
        guard bytes[0] & 0xE0 == 0x20 else { return false }
        if bytes[0] == 0x20, bytes[1] == 0x02 { return false }
        if bytes[0] == 0x20, bytes[1] == 0x01, bytes[2] == 0x00, bytes[3] == 0x00 { return false }
        if bytes[0] == 0x20, bytes[1] == 0x01, bytes[2] == 0x0D, bytes[3] == 0xB8 { return false }
        return true
    }

    private static func isPublic(v4 a: UInt32) -> Bool {
        func within(_ base: UInt32, _ bits: UInt32) -> Bool { a >> (32 - bits) == base >> (32 - bits) }
        let refused: [(UInt32, UInt32)] = [
            (0x0000_0000, 8), (0x0A00_0000, 8), (0x6440_0000, 10), (0x7F00_0000, 8), (0xA9FE_0000, 16), (0xAC10_0000, 12),
            (0xC000_0000, 24), (0xC000_0200, 24), (0xC0A8_0000, 16), (0xC612_0000, 15), (0xC633_6400, 24), (0xCB00_7100, 24),
            (0xE000_0000, 4), (0xF000_0000, 4),
        ]
        return !refused.contains { within($0.0, $0.1) }
    }
}
