import Hummingbird
import JSONCore
import Services

/// Who may do what, decided in one place for every surface (issue 16 §3):
/// the roles a request's user holds, the SMART scopes its token grants, and
/// the patient its token is limited to. A refusal is a 403 that says why.
enum AccessPolicy {
    /// The roles that may perform an operation.
    static func roles(for access: AccessKind) -> Set<User.Role> {
        if access.surface == "admin" { return [.admin] }
        // The access trace as AuditEvents: its keepers, and patients for their own record.
        // (Writes of AuditEvent reach no policy: `AccessKind` has none for them, and they are answered 405.)
        if access.fhirType == "AuditEvent" { return [.admin, .patient] }
        switch access.operation {
        case "read", "search", "query": return [.clinician, .researcher, .integration, .patient]
        default: return [.clinician, .integration]
        }
    }

    /// Refuses the request when no role of the user allows it, or when its
    /// token carries SMART scopes none of which grants it.
    static func require(_ user: User, _ access: AccessKind) throws {
        let allowed = roles(for: access)
        guard !user.roles.isDisjoint(with: allowed) else {
            let names = allowed.sorted().map(\.rawValue).joined(separator: ", ")
            throw ServiceError(.forbidden, "\(access.operation) on \(access.surface) needs one of the roles \(names); \(user.name) has \(user.roleNames)")
        }
        if user.roles == [.patient], user.token?.hasPatientContext != true {
            throw ServiceError(.forbidden, "the patient role reads a patient's own record: the token names no patient (patient or ehrId claim)")
        }
        // A batch or transaction is judged entry by entry, when its body is read (`requireEntries`).
        guard let token = user.token, access.surface != "admin", access.operation != "transaction" else { return }
        let needed = SMARTScope.needed(for: access)
        try requireScopes(token, resource: needed.resource, needed.interactions)
    }

    /// A token without resource scopes is held by its roles alone (an OpenID
    /// Connect login); one with resource scopes by those it grants (a
    /// `patient/` one only with a patient context, a narrowed one never).
    static func requireScopes(_ token: TokenIdentity, resource: String, _ interactions: Set<String>, entry: Int? = nil) throws {
        guard token.scopes.contains(where: SMARTScope.isResourceScope) else { return }
        let granted = token.scopes.compactMap(SMARTScope.init).contains { scope in
            (scope.compartment != "patient" || token.hasPatientContext) && scope.grants(resource: resource, interactions)
        }
        guard !granted else { return }
        let place = entry.map { "entry \($0): " } ?? ""
        throw ServiceError(.forbidden, "\(place)the token's scopes do not grant \(interactions.sorted().joined(separator: " or ")) on \(resource)")
    }

    /// A batch or transaction Bundle, entry by entry: each needs the scope
    /// its own request would (SMART App Launch 2.0 §Scopes: POST create, PUT
    /// and PATCH update, DELETE delete, GET read or search), and none may
    /// write an AuditEvent (the access trace is not written through FHIR).
    static func requireEntries(_ user: User?, of bundle: JSON) throws {
        for (index, item) in (bundle["entry"]?.arrayValue ?? []).enumerated() {
            // An entry that cannot be read is refused, naming what is wrong, when the bundle is processed (400).
            guard let entry = try? BundleEntry(item, index: index) else { continue }
            if entry.type == "AuditEvent", entry.method != .get {
                throw ServiceError(.forbidden, "entry \(index): AuditEvent is Socle's access trace: it is not written through FHIR")
            }
            guard let token = user?.token else { continue }
            let interaction = switch entry.method {
            case .post: "c"
            case .put, .patch: "u"
            case .delete: "d"
            case .get: entry.id == nil ? "s" : "r"
            }
            try requireScopes(token, resource: entry.type, [interaction], entry: index)
        }
    }

    /// Refuses a definition change (a template, a stored query) to users
    /// who may not change what clinical content is checked against.
    static func requireDefinitionWrite(_ user: User) throws {
        guard !user.roles.isDisjoint(with: [.admin, .clinician, .integration]) else {
            throw ServiceError(.forbidden, "changing definitions needs one of the roles admin, clinician, integration; \(user.name) has \(user.roleNames)")
        }
    }
}

/// A SMART App Launch 2.0 scope (`patient/Observation.rs`, `user/*.cruds`,
/// `system/*.rs`; v1 `read`, `write`, `*`), and its SMART on openEHR form
/// (`patient/composition-*.crud`, `user/aql-*.rs`). A scope with a query
/// (`?category=…`) narrows what it grants in ways not checked here, so it grants nothing.
struct SMARTScope: Equatable {
    var compartment: String
    var resource: String
    var interactions: Set<String>

    /// Whether a scope names a compartment (`patient/`, `user/`, `system/`): a resource scope, honoured or not.
    static func isResourceScope(_ text: String) -> Bool {
        ["patient/", "user/", "system/"].contains { text.hasPrefix($0) }
    }

    init?(_ text: String) {
        guard let slash = text.firstIndex(of: "/"), let dot = text.lastIndex(of: "."), slash < dot, !text.contains("?") else { return nil }
        compartment = String(text[..<slash])
        guard ["patient", "user", "system"].contains(compartment) else { return nil }
        resource = String(text[text.index(after: slash)..<dot])
        let permission = String(text[text.index(after: dot)...])
        switch permission {
        case "read": interactions = ["r", "s"]
        case "write": interactions = ["c", "u", "d"]
        case "*": interactions = ["c", "r", "u", "d", "s"]
        default:
            guard !permission.isEmpty, permission.allSatisfy({ "cruds".contains($0) }) else { return nil }
            interactions = Set(permission.map(String.init))
        }
    }

    /// Whether the scope grants one of `interactions` on a resource: a FHIR
    /// type, or `composition` / `aql` for the openEHR API (whose template
    /// or query name globs other than `*` are not matched yet: they grant nothing).
    func grants(resource needed: String, _ wanted: Set<String>) -> Bool {
        guard !interactions.isDisjoint(with: wanted) else { return false }
        switch needed {
        case "composition", "aql": return resource == needed + "-*"
        default: return resource == "*" || resource == needed
        }
    }

    /// What an access needs: the resource, and the interactions of which one suffices.
    static func needed(for access: AccessKind) -> (resource: String, interactions: Set<String>) {
        let resource = access.surface == "openehr" ? (access.operation == "query" ? "aql" : "composition") : access.fhirType ?? "*"
        switch access.operation {
        case "read": return (resource, ["r"])
        case "search": return (resource, ["s"])
        case "query": return (resource, ["r", "s"])
        case "create": return (resource, ["c"])
        case "update": return (resource, ["u"])
        default: return (resource, ["d"])
        }
    }
}
