import HTTPTypes
import Hummingbird
import OpenEHR
import Services

/// The committal headers of ITS-REST 1.0.3 §HTTP headers, in both forms:
/// `openEHR-AUDIT_DETAILS.committer: name="…", external_ref.id="…", …`,
/// `openEHR-AUDIT_DETAILS.change_type: code_string="251"`,
/// `openEHR-AUDIT_DETAILS.description: value="…"`, and the single header
/// `openEHR-AUDIT_DETAILS: committer.name="…", change_type.code_string="…"`;
/// and their ITS-REST 1.1 names (§openehr-version and openehr-audit-details):
/// `openehr-audit-details`, sent once or several times, which may also name
/// `system_id`, and `openehr-version: lifecycle_state.code_string="553"`.
/// What they name is merged with the defaults: the signed-in user commits.
enum AuditHeaders {
    static func committal(_ request: Request, user: User?) throws -> Committal {
        let attributes = try self.attributes(request)
        var committal = Committal(committer: user?.committer ?? .identified(name: "anonymous"), description: attributes["description.value"])
        // A professional identified by their national identifier commits as themselves.
        if let name = attributes["committer.name"], user?.token?.nationalID == nil {
            committal.committer.name = name
            if let id = attributes["committer.external_ref.id"] {
                let namespace = attributes["committer.external_ref.namespace"] ?? "local"
                let objectID =
                    UUIDText.isValid(id)
                    ? ObjectID(rmType: "HIER_OBJECT_ID", value: id)
                    : ObjectID(rmType: "GENERIC_ID", value: id, scheme: attributes["committer.external_ref.id.scheme"] ?? "local")
                committal.committer.externalRef = PartyReference(
                    id: objectID, namespace: namespace, type: attributes["committer.external_ref.type"] ?? "PERSON")
            }
        }
        if let code = attributes["change_type.code_string"] {
            guard let type = AuditChangeType(rawValue: code) else {
                throw HTTPRequestError(
                    status: .badRequest,
                    message: "change_type code_string '\(code)' is not in the openEHR 'audit change type' group (249, 250, 251, 252, 253, 523, 666, 816, 817)")
            }
            committal.changeType = type
        }
        committal.systemID = attributes["system_id"]
        committal.lifecycleState = try lifecycleState(request)
        (committal.objectTags, committal.versionTags) = try ItemTagHeaders.read(request)
        return committal
    }

    /// Every attribute the audit headers name, by its path (`committer.name`).
    static func attributes(_ request: Request) throws -> [String: String] {
        var attributes: [String: String] = [:]
        for (name, prefix) in [(HTTPField.Name.auditCommitter, "committer."), (.auditChangeType, "change_type."), (.auditDescription, "description.")] {
            if let value = request.headers[name] {
                for (key, value) in try pairs(value, header: name.rawName) { attributes[prefix + key] = value }
            }
        }
        for name in [HTTPField.Name.auditDetails, .auditDetails11] {
            for value in request.headers[values: name] {
                for (key, value) in try pairs(value, header: name.rawName) { attributes[key] = value }
            }
        }
        return attributes
    }

    /// `openehr-version: lifecycle_state.code_string="…"`: complete by
    /// default; deleted only through DELETE.
    static func lifecycleState(_ request: Request) throws -> VersionLifecycleState {
        var code: String?
        for name in [HTTPField.Name.version11, .legacyVersion] {
            for value in request.headers[values: name] {
                for (key, value) in try pairs(value, header: name.rawName) where key == "lifecycle_state.code_string" { code = value }
            }
        }
        guard let code else { return .complete }
        guard let state = VersionLifecycleState(rawValue: code) else {
            throw HTTPRequestError(
                status: .badRequest, message: "lifecycle_state code_string '\(code)' is not in the openEHR 'version lifecycle state' group (532, 553, 523, 800, 801)")
        }
        if state == .deleted, request.method != .delete {
            throw HTTPRequestError(status: .badRequest, message: "lifecycle_state 523 (deleted) is committed by DELETE, not \(request.method)")
        }
        return state
    }

    /// Parses `key="value", key2="value2"`; quotes may be escaped with `\`.
    static func pairs(_ text: String, header: String) throws -> [(String, String)] {
        var result: [(String, String)] = []
        var characters = Substring(text)
        func fail() -> HTTPRequestError {
            HTTPRequestError(status: .badRequest, message: "header \(header) is not a list of key=\"value\" pairs")
        }
        while true {
            characters = characters.drop { $0 == " " || $0 == "\t" }
            if characters.isEmpty { break }
            guard let equals = characters.firstIndex(of: "=") else { throw fail() }
            let key = characters[..<equals].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else { throw fail() }
            characters = characters[characters.index(after: equals)...].drop { $0 == " " }
            var value = ""
            if characters.first == "\"" {
                characters = characters.dropFirst()
                var closed = false
                while let character = characters.first {
                    characters = characters.dropFirst()
                    if character == "\\", let next = characters.first {
                        value.append(next)
                        characters = characters.dropFirst()
                    } else if character == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(character)
                    }
                }
                guard closed else { throw fail() }
            } else {
                let end = characters.firstIndex(of: ",") ?? characters.endIndex
                value = characters[..<end].trimmingCharacters(in: .whitespaces)
                characters = characters[end...]
            }
            result.append((key, value))
            characters = characters.drop { $0 == " " }
            if characters.first == "," { characters = characters.dropFirst() } else if !characters.isEmpty { throw fail() }
        }
        return result
    }
}
