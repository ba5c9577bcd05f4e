import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The proxies whose `Forwarded` (RFC 7239) and `X-Forwarded-Proto`,
/// `-Host`, `-Port` headers Socle believes (`SOCLE_TRUSTED_PROXIES`): IPv4
/// or IPv6 addresses, or networks in CIDR notation. From anyone else those
/// headers are ignored, so a client cannot make Socle write URLs to a host
/// of its choosing.
public struct TrustedProxies: Sendable, Equatable {
    struct Network: Sendable, Equatable {
        var address: [UInt8]
        var prefixLength: Int
    }

    let networks: [Network]

    public static let none = TrustedProxies(networks: [])

    init(networks: [Network]) { self.networks = networks }

    /// `10.0.0.0/8,192.168.1.7,::1`; throws naming the first entry it cannot read.
    public init(_ list: String) throws(ConfigurationError) {
        var networks: [Network] = []
        for entry in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            let parts = entry.split(separator: "/", maxSplits: 1)
            guard let address = Self.bytes(String(parts[0])) else {
                throw ConfigurationError("SOCLE_TRUSTED_PROXIES: '\(entry)' is not an IP address or a network (10.0.0.0/8)")
            }
            let length = parts.count == 2 ? Int(parts[1]) : address.count * 8
            guard let length, (0...address.count * 8).contains(length) else {
                throw ConfigurationError("SOCLE_TRUSTED_PROXIES: '\(entry)' has no valid prefix length")
            }
            networks.append(Network(address: address, prefixLength: length))
        }
        self.networks = networks
    }

    /// The address's bytes (4 for IPv4, 16 for IPv6).
    static func bytes(_ text: String) -> [UInt8]? {
        guard let address = try? SocketAddress(ipAddress: text, port: 0) else { return nil }
        switch address {
        case .v4(let v4): return withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
        case .v6(let v6): return withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        default: return nil
        }
    }

    public func trusts(_ address: SocketAddress?) -> Bool {
        guard let text = address?.ipAddress, let bytes = Self.bytes(text) else { return false }
        return networks.contains { network in
            guard network.address.count == bytes.count else { return false }
            var remaining = network.prefixLength
            for (a, b) in zip(network.address, bytes) where remaining > 0 {
                let bits = min(8, remaining)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if a & mask != b & mask { return false }
                remaining -= bits
            }
            return true
        }
    }
}

/// Sets the request's public origin (scheme, host and port the client
/// addressed, through a trusted proxy's forwarding headers when there is
/// one) and API prefix (`/rest` when the client called the paths EHRbase's
/// clients call), from which every absolute URL Socle writes is made.
struct PublicURLMiddleware: RouterMiddleware {
    typealias Context = SocleRequestContext
    let trusted: TrustedProxies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.origin = origin(request, context)
        context.apiPrefix = request.uri.path.hasPrefix("/rest/") || request.uri.path == "/rest" ? "/rest" : ""
        return try await next(request, context)
    }

    func origin(_ request: Request, _ context: Context) -> String {
        var scheme = "http"
        var host = request.head.authority ?? ""
        if trusted.trusts(context.remoteAddress) {
            if let forwarded = request.headers[.forwarded], let first = forwarded.split(separator: ",").first {
                for pair in first.split(separator: ";") {
                    let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    guard parts.count == 2 else { continue }
                    let value = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                    switch parts[0].lowercased() {
                    case "proto": scheme = value
                    case "host": host = value
                    default: break
                    }
                }
            } else {
                if let proto = request.headers[.xForwardedProto]?.split(separator: ",").first { scheme = proto.trimmingCharacters(in: .whitespaces) }
                if let forwardedHost = request.headers[.xForwardedHost]?.split(separator: ",").first {
                    host = forwardedHost.trimmingCharacters(in: .whitespaces)
                }
                if let port = request.headers[.xForwardedPort]?.split(separator: ",").first.map({ $0.trimmingCharacters(in: .whitespaces) }),
                    Int(port) != nil
                {
                    host = Self.hostWithoutPort(host) + (port == (scheme == "https" ? "443" : "80") ? "" : ":" + port)
                }
            }
        }
        guard ["http", "https"].contains(scheme.lowercased()), !host.isEmpty, !host.contains(where: { " /\\?#@".contains($0) }) else { return "" }
        return scheme.lowercased() + "://" + host
    }

    static func hostWithoutPort(_ host: String) -> String {
        if host.hasPrefix("["), let end = host.firstIndex(of: "]") { return String(host[...end]) }
        if let colon = host.lastIndex(of: ":") { return String(host[..<colon]) }
        return host
    }
}

extension HTTPField.Name {
    static let forwarded = HTTPField.Name("Forwarded")!
    static let xForwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let xForwardedHost = HTTPField.Name("X-Forwarded-Host")!
    static let xForwardedPort = HTTPField.Name("X-Forwarded-Port")!
}

extension SocleRequestContext {
    /// `https://host/rest/openehr/v1`: what the openEHR API's absolute URLs start with.
    var openEHRBase: String { origin + apiPrefix + "/openehr/v1" }
}
