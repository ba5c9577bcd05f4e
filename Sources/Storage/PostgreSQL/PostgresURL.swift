import Foundation
import NIOSSL
import PostgresNIO

/// `postgres://user:password@host:port/database[?sslmode=…&sslrootcert=…]`,
/// as `SOCLE_DATABASE_URL` takes it. The query parameters are libpq's.
public struct PostgresURL: Sendable, Equatable {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: SSLMode
    /// A PEM file of the certificate authorities to trust instead of the system's.
    public var sslRootCertificate: String?

    /// libpq's `sslmode` values, with libpq's meaning.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, else plain; the certificate is not checked.
        case prefer
        /// TLS or nothing; the certificate is not checked (unless `sslrootcert` is given, as libpq does).
        case require
        /// TLS with a certificate signed by a trusted authority; any host name.
        case verifyCA = "verify-ca"
        /// TLS with a trusted certificate issued for the host connected to.
        case verifyFull = "verify-full"
    }

    /// The reason a URL is refused, for the configuration error.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Nil when the text is not a `postgres://` URL at all; throws when it
    /// is one with a parameter Socle cannot honour.
    public init?(_ text: String) throws(Problem) {
        let scheme: Substring
        if text.hasPrefix("postgres://") { scheme = "postgres://" } else if text.hasPrefix("postgresql://") { scheme = "postgresql://" } else { return nil }
        var rest = text.dropFirst(scheme.count)
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let at = rest.lastIndex(of: "@"), let slash = rest[at...].firstIndex(of: "/") else { return nil }
        let credentials = rest[..<at]
        let hostPort = rest[rest.index(after: at)..<slash]
        let database = rest[rest.index(after: slash)...]
        guard !database.isEmpty, !hostPort.isEmpty else { return nil }
        if let colon = credentials.firstIndex(of: ":") {
            user = Self.decode(credentials[..<colon])
            password = Self.decode(credentials[credentials.index(after: colon)...])
        } else {
            user = Self.decode(credentials)
            password = nil
        }
        if let colon = hostPort.lastIndex(of: ":") {
            guard let port = Int(hostPort[hostPort.index(after: colon)...]) else { return nil }
            host = String(hostPort[..<colon])
            self.port = port
        } else {
            host = String(hostPort)
            port = 5432
        }
        self.database = Self.decode(database)
        guard !user.isEmpty else { return nil }
        sslMode = .prefer
        sslRootCertificate = nil
        for parameter in query.split(separator: "&") where !parameter.isEmpty {
            let parts = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            switch name {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw Problem(description: "sslmode=\(value) is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "sslrootcert":
                sslRootCertificate = value
            default:
                throw Problem(description: "the database URL parameter '\(name)' is not supported (sslmode and sslrootcert are)")
            }
        }
    }

    static func decode(_ text: Substring) -> String {
        String(text).removingPercentEncoding ?? String(text)
    }

    /// The TLS configuration `sslMode` asks for; nil for `disable`.
    func tlsConfiguration() -> TLSConfiguration? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let sslRootCertificate { configuration.trustRoots = .file(sslRootCertificate) }
        switch sslMode {
        case .disable: return nil
        case .prefer: configuration.certificateVerification = .none
        case .require: configuration.certificateVerification = sslRootCertificate == nil ? .none : .noHostnameVerification
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        case .verifyFull: configuration.certificateVerification = .fullVerification
        }
        return configuration
    }

    /// The TLS setting of the connection pool.
    func tls() -> PostgresClient.Configuration.TLS {
        guard let configuration = tlsConfiguration() else { return .disable }
        return sslMode == .prefer ? .prefer(configuration) : .require(configuration)
    }

    /// The TLS setting of a single connection (`PostgreSQLDatabase.checkConnection`).
    func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
        guard let configuration = tlsConfiguration() else { return .disable }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw StoreError(.unavailable, "the TLS settings of the database URL cannot be used: \(error)")
        }
        return sslMode == .prefer ? .prefer(context) : .require(context)
    }
}
