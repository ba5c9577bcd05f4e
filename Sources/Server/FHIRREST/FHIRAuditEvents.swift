import Foundation
import Hummingbird
import JSONCore
import OpenEHR
import Services
import Storage

/// `GET /fhir/AuditEvent?patient=…&agent=…&date=…`: the access trace as
/// FHIR AuditEvents, shaped after IHE Basic Audit Log Patterns (BALP): a
/// RESTful operation (`type` rest, `subtype` the interaction), the user as
/// the requesting agent with their address, Socle as the source, the
/// patients and resources as entities. So a patient's "who looked at my
/// record" is one search. The trace is not a FHIR resource store: it is
/// searched (newest first) and each entry read by its number, the id the
/// search gives; nothing is written through FHIR.
struct FHIRAuditEvents {
    let trace: AccessTrace?
    let systemID: String

    func register(on group: RouterGroup<SocleRequestContext>) {
        group.get("AuditEvent") { request, context in try await search(request, context) }
        group.get("AuditEvent/:id") { request, context in try await read(request, context) }
        // The trace is not written through FHIR: 405 with Allow, not a missing route.
        group.methodNotAllowed("AuditEvent", allow: [.get])
        group.methodNotAllowed("AuditEvent/:id", allow: [.get])
    }

    /// `GET /fhir/AuditEvent/{n}`: the trace's entry number n. A token
    /// limited to a patient reads only the entries that name that patient
    /// (another is not found, as if it were not there).
    func read(_ request: Request, _ context: SocleRequestContext) async throws -> Response {
        let format = try FHIRFormat.requested(request)
        guard let trace else { throw ServiceError(.notFound, "the access trace is off (SOCLE_ACCESS_TRACE=off): there are no AuditEvents") }
        let id = try context.parameters.require("id")
        let missing = ServiceError(.notFound, "AuditEvent/\(id) is not found")
        guard let seq = Int64(id), seq > 0 else { throw missing }
        try await trace.flush()
        guard let row = try await trace.store.rows(after: seq - 1, limit: 1).first, row.seq == seq,
            let entry = try? JSONParser.parse(row.entry), let access = AccessEntry(json: entry),
            let shown = Self.shown(access, to: context.patientScope)
        else { throw missing }
        return .fhir(.ok, auditEvent(shown, seq: seq), format: format, pretty: request.fhirPretty)
    }

    /// An entry as the reader may see it: whole for the trace's keepers; for
    /// a patient's token, only an entry naming their record, and of it only
    /// that their record was reached, not whose else was with it. nil: not theirs.
    static func shown(_ access: AccessEntry, to scope: PatientScope?) -> AccessEntry? {
        guard let scope else { return access }
        guard access.patients.contains(where: scope.patients.contains) else { return nil }
        guard access.patients.contains(where: { !scope.patients.contains($0) }) else { return access }
        var shown = access
        shown.patients = access.patients.filter(scope.patients.contains)
        shown.resources = []
        shown.query = nil
        return shown
    }

    func search(_ request: Request, _ context: SocleRequestContext) async throws -> Response {
        let format = try FHIRFormat.requested(request)
        guard let trace else { throw ServiceError(.notFound, "the access trace is off (SOCLE_ACCESS_TRACE=off): there are no AuditEvents") }
        var patients: [String]?
        var actor: String?
        var from: Int64?
        var to: Int64?
        var count = 50
        for (name, value) in request.rawQueryItems {
            switch name {
            case "patient", "entity": patients = (patients ?? []) + Self.keys(value)
            case "agent", "agent-name": actor = value
            case "date": try Self.bound(value, from: &from, to: &to)
            case "_count":
                guard let number = Int(value), (1...1000).contains(number) else { throw ServiceError(.badRequest, "_count must be from 1 to 1000, not '\(value)'") }
                count = number
            case "_format", "_pretty": continue
            default: throw ServiceError(.badRequest, "AuditEvent is searched by patient, agent and date (with _count), not by '\(name)'")
            }
        }
        // A token limited to one patient sees the accesses to that patient only.
        if let scope = context.patientScope {
            if let asked = patients, asked.contains(where: { !scope.patients.contains($0) }) { try scope.require(asked) }
            patients = Array(scope.patients)
        }
        try await trace.flush()
        let rows = try await trace.store.rows(patients: patients, actor: actor, from: from, to: to, limit: count)
        let base = context.fhirBase
        var entries: [JSON] = []
        for row in rows {
            guard let entry = try? JSONParser.parse(row.entry), let found = AccessEntry(json: entry),
                let access = Self.shown(found, to: context.patientScope)
            else { continue }
            entries.append(["fullUrl": .string(base + "/AuditEvent/\(row.seq)"), "resource": auditEvent(access, seq: row.seq), "search": ["mode": "match"]])
        }
        let bundle = JSON.object(JSONObject([
            ("resourceType", "Bundle"), ("id", .string(UUIDText.random())), ("type", "searchset"), ("entry", .array(entries)),
        ]))
        return .fhir(.ok, bundle, format: format, pretty: request.fhirPretty)
    }

    /// `Patient/123` as the trace keys it; a bare id, either a Patient or an EHR.
    static func keys(_ value: String) -> [String] {
        value.split(separator: ",").flatMap { item -> [String] in
            let text = String(item)
            return text.contains("/") ? [text] : ["Patient/" + text, "EHR/" + text]
        }
    }

    /// `date=ge2026-01-01`, `date=lt2026-02-01T00:00:00Z`; without a prefix, that day or instant and after.
    static func bound(_ value: String, from: inout Int64?, to: inout Int64?) throws {
        let prefixes = ["ge", "gt", "le", "lt", "eq"]
        let prefix = prefixes.first { value.hasPrefix($0) } ?? "ge"
        let text = prefixes.contains(String(value.prefix(2))) ? String(value.dropFirst(2)) : value
        guard let time = ISODateTime(text.count == 10 ? text + "T00:00:00Z" : text)?.microsecondsSinceEpoch else {
            throw ServiceError(.badRequest, "date must be a FHIR dateTime with an optional ge, gt, le or lt prefix, not '\(value)'")
        }
        switch prefix {
        case "le", "lt": to = time + (prefix == "le" ? 1 : 0)
        case "gt": from = time + 1
        default: from = time
        }
    }

    /// One trace entry as an AuditEvent (R4; IHE BALP's RESTful pattern).
    func auditEvent(_ access: AccessEntry, seq: Int64) -> JSON {
        let interaction: (code: String, action: String) = switch access.operation {
        case "read": ("read", "R")
        case "search", "query": ("search-type", "E")
        case "create": ("create", "C")
        case "update": ("update", "U")
        case "delete", "erase": ("delete", "D")
        case "transaction": ("transaction", "E")
        default: ("read", "R")
        }
        let outcome = access.outcome < 400 ? "0" : access.outcome < 500 ? "4" : "8"
        var who = JSONObject([("display", .string(access.actor.name))])
        if let nationalID = access.actor.nationalID {
            who["identifier"] = ["system": .string("urn:oid:" + (access.actor.nationalIDIssuer ?? TokenIdentity.nationalIDIssuer)), "value": .string(nationalID)]
        }
        var agent = JSONObject([
            ("type", ["coding": [["system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP", "display": "information recipient"]]]),
            ("who", .object(who)), ("requestor", true),
        ])
        agent["role"] = .array([["text": .string(access.actor.role)]])
        if let address = access.address { agent["network"] = ["address": .string(address), "type": "2"] }
        var entities: [JSON] = access.patients.map { patient in
            ["what": ["reference": .string(patient)], "role": ["system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"]]
        }
        entities += access.resources.map { resource in
            ["what": ["reference": .string(resource)], "role": ["system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "4", "display": "Domain Resource"]]
        }
        if let query = access.query {
            entities.append([
                "type": ["system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"],
                "role": ["system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "24", "display": "Query"],
                "query": .string(Data(query.utf8).base64EncodedString()),
            ])
        }
        var event = JSONObject([
            ("resourceType", "AuditEvent"), ("id", .string(String(seq))),
            ("type", ["system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"]),
            ("subtype", [["system": "http://hl7.org/fhir/restful-interaction", "code": .string(interaction.code)]]),
            ("action", .string(interaction.action)),
            ("recorded", .string(ISODateTime(microsecondsSinceEpoch: access.time).description)),
            ("outcome", .string(outcome)), ("outcomeDesc", .string("HTTP \(access.outcome): \(access.request)")),
            ("agent", .array([.object(agent)])),
            ("source", ["site": .string(systemID), "observer": ["display": .string("Socle " + systemID)], "type": [["system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server"]]]),
        ])
        if let reason = access.breakTheGlass { event["purposeOfEvent"] = [["text": .string("break the glass: " + reason)]] }
        if !entities.isEmpty { event["entity"] = .array(entities) }
        return .object(event)
    }
}
