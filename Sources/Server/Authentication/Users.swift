import Crypto
import Foundation
import JSONCore
import OpenEHR
import HummingbirdBcrypt
import Synchronization

/// A user: one of `SOCLE_USERS` (HTTP Basic), or the subject of a bearer token.
public struct User: Sendable, Equatable {
    /// What a user may do is the union of their roles' permissions (`AccessPolicy`).
    public enum Role: String, Sendable, CaseIterable, Comparable {
        /// `/admin`: erasure, templates, the change sequence, the access trace. No clinical content.
        case admin
        /// Reads and writes clinical content, runs queries.
        case clinician
        /// Reads and queries clinical content; writes nothing.
        case researcher
        /// A system feeding or reading the record (an interface engine): reads and writes clinical content.
        case integration
        /// A patient: reads their own record only (a token with a patient context).
        case patient

        /// A role by its name in `SOCLE_USERS` or a token's roles claim (`user` and `administrator` are accepted too).
        public init?(named name: String) {
            switch name.lowercased() {
            case "administrator": self = .admin
            case "user": self = .clinician
            default: self.init(rawValue: name.lowercased())
            }
        }

        public static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }

        /// `admin+clinician`: the roles named, or nil when one is not a role.
        public static func list(_ text: String) -> Set<Role>? {
            let named = text.split(separator: "+").map { Role(named: String($0)) }
            guard !named.isEmpty, named.allSatisfy({ $0 != nil }) else { return nil }
            return Set(named.compactMap { $0 })
        }
    }

    public var name: String
    /// A bcrypt hash (`$2a$`, `$2b$`, `$2y$`) or the password itself.
    public var password: String
    public var roles: Set<Role>
    /// Set when the user came with a bearer token: what else it said.
    public var token: TokenIdentity?

    public init(name: String, password: String, roles: Set<Role>, token: TokenIdentity? = nil) {
        self.name = name
        self.password = password
        self.roles = roles
        self.token = token
    }

    public init(name: String, password: String, role: Role, token: TokenIdentity? = nil) {
        self.init(name: name, password: password, roles: [role], token: token)
    }

    /// The roles as the trace writes them: `admin+clinician`.
    public var roleNames: String { roles.isEmpty ? "none" : roles.sorted().map(\.rawValue).joined(separator: "+") }

    var isHashed: Bool { password.hasPrefix("$2a$") || password.hasPrefix("$2b$") || password.hasPrefix("$2y$") }

    /// Parses `name:password[:role[+role…]],…`. A password may itself contain
    /// `:`; the last part is taken as the roles only when each names one. No
    /// roles: clinician.
    public static func parseList(_ text: String) throws(ConfigurationError) -> [User] {
        var users: [User] = []
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            var parts = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 2, !parts[0].isEmpty else {
                throw ConfigurationError("SOCLE_USERS entry '\(parts.first ?? "")…' is not name:password[:role]")
            }
            var roles: Set<Role> = [.clinician]
            if parts.count >= 3, let named = Role.list(parts[parts.count - 1]) {
                roles = named
                parts.removeLast()
            }
            let password = parts[1...].joined(separator: ":")
            guard !password.isEmpty else { throw ConfigurationError("SOCLE_USERS entry for '\(parts[0])' has an empty password") }
            guard !users.contains(where: { $0.name == parts[0] }) else {
                throw ConfigurationError("SOCLE_USERS names '\(parts[0])' twice")
            }
            users.append(User(name: parts[0], password: password, roles: roles))
        }
        return users
    }
}

/// Checks HTTP Basic credentials. bcrypt is slow by design (tens of
/// milliseconds), so a successful check is remembered as a SHA-256 digest
/// of the credentials: the password itself is never kept.
public final class UserDirectory: Sendable {
    let users: [String: User]
    let verified = Mutex<Set<Data>>([])

    public init(_ users: [User]) {
        self.users = Dictionary(users.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func authenticate(name: String, password: String) -> User? {
        guard let user = users[name] else { return nil }
        guard user.isHashed else {
            return constantTimeEqual(Array(password.utf8), Array(user.password.utf8)) ? user : nil
        }
        let digest = Data(SHA256.hash(data: Data((name + "\u{0}" + password).utf8)))
        if verified.withLock({ $0.contains(digest) }) { return user }
        guard Bcrypt.verify(password, hash: user.password) else { return nil }
        verified.withLock { _ = $0.insert(digest) }
        return user
    }

    func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}

/// What a bearer token tells of its user beyond the name (its `sub`) and role.
public struct TokenIdentity: Sendable, Equatable {
    /// The OAuth client the token was issued to (`azp`, or `client_id`).
    public var clientID: String?
    /// The scopes granted (`scope`, space-separated, or `scp`).
    public var scopes: [String]
    /// The patient the token is limited to (SMART `patient` claim: a FHIR Patient id).
    public var patient: String?
    /// The EHR the token is limited to (SMART on openEHR `ehrId` claim).
    public var ehrID: String?
    /// The professional's name for the record (`given_name family_name`).
    public var displayName: String?
    /// The professional's national identifier (Pro Santé Connect `SubjectNameID`).
    public var nationalID: String?
    /// The professions (Pro Santé Connect `SubjectRefPro.exercices[].codeProfession`, TRE_G15).
    public var professions: [String] = []
    /// How strongly the user authenticated (`acr`: `eidas1` for a CPS card or e-CPS at Pro Santé Connect).
    public var acr: String?

    /// The issuer of French health professionals' national identifiers
    /// (identifiant national PS, which `SubjectNameID` carries).
    public static let nationalIDIssuer = "1.2.250.1.71.4.2.1"

    public init(clientID: String? = nil, scopes: [String] = [], patient: String? = nil, ehrID: String? = nil) {
        self.clientID = clientID
        self.scopes = scopes
        self.patient = patient
        self.ehrID = ehrID
    }

    /// Whether the token is limited to one patient's record.
    public var hasPatientContext: Bool { patient != nil || ehrID != nil }

    /// What the token's claims say, Pro Santé Connect's among them.
    init(claims: JSON) {
        clientID = claims["azp"]?.stringValue ?? claims["client_id"]?.stringValue
        scopes = claims["scope"]?.stringValue.map { $0.split(separator: " ").map(String.init) } ?? claims["scp"]?.arrayValue?.compactMap(\.stringValue) ?? []
        patient = claims["patient"]?.stringValue
        ehrID = claims["ehrId"]?.stringValue
        let names = [claims["given_name"]?.stringValue, claims["family_name"]?.stringValue].compactMap { $0 }.filter { !$0.isEmpty }
        displayName = names.isEmpty ? claims["name"]?.stringValue : names.joined(separator: " ")
        nationalID = claims["SubjectNameID"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        professions = claims["SubjectRefPro"]?["exercices"]?.arrayValue?.compactMap { $0["codeProfession"]?.stringValue } ?? []
        acr = claims["acr"]?.stringValue
    }
}

extension User {
    /// Who commits what this user writes: a PARTY_IDENTIFIED by name, and
    /// for a professional with a national identifier, that identifier with
    /// its issuer (as a DV_IDENTIFIER and as the external reference).
    public var committer: PartyProxy {
        guard let token, let nationalID = token.nationalID else { return .identified(name: name) }
        let issuer = TokenIdentity.nationalIDIssuer
        // An identifier starting with 8 is an RPPS number with its prefix; 0, an ADELI one.
        let type = nationalID.hasPrefix("8") ? "RPPS" : nationalID.hasPrefix("0") ? "ADELI" : "IDNPS"
        return .identified(
            name: token.displayName ?? name,
            externalRef: PartyReference(id: ObjectID(rmType: "GENERIC_ID", value: nationalID, scheme: issuer), namespace: "professionals", type: "PERSON"),
            identifiers: [PartyProxy.Identifier(issuer: issuer, assigner: issuer, id: nationalID, type: type)])
    }
}
