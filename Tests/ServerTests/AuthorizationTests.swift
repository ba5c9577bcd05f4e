import Foundation
import HTTPTypes
import JSONCore
import JWTKit
import Server
import SocleTestSupport
import Testing

/// Who may see what (issue 16 §3): roles for every surface, SMART App
/// Launch 2.0 scopes (and SMART on openEHR's), and a token's patient
/// context holding it to one patient's record on FHIR, openEHR and AQL alike.
@Suite("Authorization")
struct AuthorizationTests {
    static let adminOnly = User(name: "ada", password: "ada-secret", role: .admin)
    static let researcher = User(name: "rosa", password: "rosa-secret", role: .researcher)
    static let users = [TestServer.admin, TestServer.clinician, adminOnly, researcher]

    /// Administrators are not clinicians; researchers read and query but write nothing.
    @Test(arguments: TestEngine.available)
    func rolesDecideWhatEachSurfaceAllows(engine: TestEngine) async throws {
        try await TestServer.with(engine, users: Self.users) { server in
            let ehrID = try await server.createEHR()
            let patient = try await server.send(.post, "/fhir/Patient", body: AccessTraceTests.patient("Roux")).json["id"]?.stringValue ?? ""
            let aql = #"{"q": "SELECT e/ehr_id/value FROM EHR e"}"#
            for (path, method, body) in [
                ("/openehr/v1/ehr/\(ehrID)", HTTPRequest.Method.get, nil), ("/fhir/Patient/\(patient)", .get, nil), ("/openehr/v1/query/aql", .post, aql),
            ] as [(String, HTTPRequest.Method, String?)] {
                let refused = try await server.send(method, path, as: Self.adminOnly, body: body)
                #expect(refused.status == .forbidden, "\(path): \(refused.status)")
                #expect(refused.body.contains("needs one of the roles"), "\(refused.body)")
                #expect(try await server.send(method, path, as: Self.researcher, body: body).status == .ok, "\(path)")
            }
            #expect(try await server.send(.get, "/admin/access-log", as: Self.adminOnly).status == .ok)
            #expect(try await server.send(.get, "/admin/access-log", as: Self.researcher).status == .forbidden)
            #expect(try await server.send(.post, "/openehr/v1/ehr", as: Self.researcher).status == .forbidden)
            let write = try await server.send(.post, "/fhir/Patient", as: Self.researcher, body: AccessTraceTests.patient("Blanc"))
            #expect(write.status == .forbidden)
            #expect(write.json["resourceType"]?.stringValue == "OperationOutcome")
            #expect(try await server.send(.post, "/openehr/v1/ehr", as: TestServer.clinician).status == .created)
            #expect(try await server.send(.delete, "/admin/ehr/\(ehrID)", as: TestServer.clinician).status == .forbidden)
            // Refusals are traced with their outcome.
            let log = try await server.send(.get, "/admin/access-log?limit=1000").json["entries"]?.arrayValue ?? []
            #expect(log.contains { $0["actor"]?["name"]?.stringValue == "ada" && $0["outcome"] == JSON(403) })
        }
    }

    /// Two patients, each with a FHIR Patient, an Observation and (through
    /// the EHR linked to the Patient) a composition.
    struct Record {
        var patient: String
        var ehrID: String
        var observation: String
        var composition: String
    }

    static func record(_ server: TestServer, _ name: String) async throws -> Record {
        let patient = try #require(try await server.send(.post, "/fhir/Patient", body: AccessTraceTests.patient(name)).json["id"]?.stringValue)
        let observation = try #require(
            try await server.send(.post, "/fhir/Observation", body: AccessTraceTests.observation(patient)).json["id"]?.stringValue)
        let ehr = try await server.send(.get, "/openehr/v1/ehr?subject_id=\(patient)&subject_namespace=fhir")
        let ehrID = try #require(ehr.json["ehr_id"]?["value"]?.stringValue, "\(ehr.body)")
        let created = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: CompositionRoutesTests.compositionText)
        let composition = String(try #require(created.eTag).split(separator: ":")[0])
        return Record(patient: patient, ehrID: ehrID, observation: observation, composition: composition)
    }

    @Test(arguments: TestEngine.available)
    func aPatientContextTokenReachesThatPatientOnly(engine: TestEngine) async throws {
        let issuer = try await BearerTokenTests.Issuer()
        try await issuer.serve { url in
            try await TestServer.with(engine, configure: { $0.oidc = OIDCSettings(issuer: url, audience: "socle") }) { server in
                _ = try await CompositionRoutesTests.prepared(server)
                let mine = try await Self.record(server, "Moreau")
                let theirs = try await Self.record(server, "Garnier")
                // An Observation of mine whose focus is the other patient: an _include reaches them.
                let performed = AccessTraceTests.observation(mine.patient).replacingOccurrences(
                    of: #""valueQuantity""#, with: #""focus":[{"reference":"Patient/\#(theirs.patient)"}],"valueQuantity""#)
                #expect(try await server.send(.post, "/fhir/Observation", body: performed).status == .created)

                var claims = BearerTokenTests.Claims(iss: url)
                claims.roles = ["patient"]
                claims.scope = "launch/patient patient/*.rs patient/composition-*.rs patient/aql-*.rs"
                claims.patient = mine.patient
                let token = try await issuer.signers.sign(claims, kid: "rsa")
                func get(_ path: String) async throws -> Reply { try await BearerTokenTests.get(server, path, token: token) }

                #expect(try await get("/fhir/Observation/\(mine.observation)").status == .ok)
                #expect(try await get("/fhir/Observation/\(theirs.observation)").status == .forbidden)
                #expect(try await get("/fhir/Patient/\(theirs.patient)").status == .forbidden)
                #expect(try await get("/fhir/Patient/\(mine.patient)/$everything").status == .ok)
                #expect(try await get("/fhir/Patient/\(theirs.patient)/$everything").status == .forbidden)
                #expect(try await get("/fhir/Patient/\(theirs.patient)/Observation").status == .forbidden)
                // A search over every Observation finds mine only.
                let search = try await get("/fhir/Observation")
                #expect(search.status == .ok)
                let subjects = Set(search.json["entry"]?.arrayValue?.compactMap { $0["resource"]?["subject"]?["reference"]?.stringValue } ?? [])
                #expect(subjects == ["Patient/\(mine.patient)"], "\(search.body)")
                let included = try await get("/fhir/Observation?_include=Observation:focus")
                #expect(included.status == .forbidden, "\(included.body)")
                #expect(included.json["resourceType"]?.stringValue == "OperationOutcome")

                #expect(try await get("/openehr/v1/ehr/\(mine.ehrID)").status == .ok)
                #expect(try await get("/openehr/v1/ehr/\(theirs.ehrID)").status == .forbidden)
                #expect(try await get("/openehr/v1/ehr/\(mine.ehrID)/composition/\(mine.composition)").status == .ok)
                #expect(try await get("/openehr/v1/ehr/\(theirs.ehrID)/composition/\(theirs.composition)").status == .forbidden)
                let lookup = try await get("/openehr/v1/ehr?subject_id=\(theirs.patient)&subject_namespace=fhir")
                #expect(lookup.status == .forbidden)

                // AQL over every EHR answers with mine only.
                let query = try await server.send(
                    .post, "/openehr/v1/query/aql", as: nil, headers: ["Authorization": "Bearer " + token],
                    body: #"{"q": "SELECT e/ehr_id/value, c/uid/value FROM EHR e CONTAINS COMPOSITION c"}"#)
                #expect(query.status == .ok, "\(query.body)")
                let rows = query.json["rows"]?.arrayValue ?? []
                #expect(rows.count == 1 && rows.first?.arrayValue?.first?.stringValue == mine.ehrID, "\(query.body)")
                let everyone = try await server.send(.post, "/openehr/v1/query/aql", body: #"{"q": "SELECT e/ehr_id/value FROM EHR e"}"#)
                #expect((everyone.json["rows"]?.arrayValue?.count ?? 0) >= 2)

                // The patient role reads; it does not write, even their own record.
                let write = try await server.send(
                    .post, "/fhir/Observation", as: nil, headers: ["Authorization": "Bearer " + token], body: AccessTraceTests.observation(mine.patient))
                #expect(write.status == .forbidden)

                // A clinician's app launched for a patient writes that patient's resources only.
                claims.roles = ["clinician"]
                claims.scope = "launch/patient user/*.cruds"
                let app = try await issuer.signers.sign(claims, kid: "rsa")
                let own = try await server.send(
                    .post, "/fhir/Observation", as: nil, headers: ["Authorization": "Bearer " + app], body: AccessTraceTests.observation(mine.patient))
                #expect(own.status == .created, "\(own.body)")
                let other = try await server.send(
                    .post, "/fhir/Observation", as: nil, headers: ["Authorization": "Bearer " + app], body: AccessTraceTests.observation(theirs.patient))
                #expect(other.status == .forbidden)
                let deletion = try await server.send(
                    .delete, "/fhir/Observation/\(theirs.observation)", as: nil, headers: ["Authorization": "Bearer " + app])
                #expect(deletion.status == .forbidden)
                #expect(try await server.send(.get, "/fhir/Observation/\(theirs.observation)").status == .ok)
            }
        }
    }

    /// SMART App Launch 2.0 §Scopes: a resource scope grants its
    /// interactions on its type; v1's `read` and `write` are accepted.
    @Test(arguments: TestEngine.available)
    func scopesGrantTheirResourcesAndInteractions(engine: TestEngine) async throws {
        let issuer = try await BearerTokenTests.Issuer()
        try await issuer.serve { url in
            try await TestServer.with(engine, configure: { $0.oidc = OIDCSettings(issuer: url, audience: "socle") }) { server in
                let ehrID = try await server.createEHR()
                let patient = try #require(try await server.send(.post, "/fhir/Patient", body: AccessTraceTests.patient("Petit")).json["id"]?.stringValue)
                let observation = try #require(
                    try await server.send(.post, "/fhir/Observation", body: AccessTraceTests.observation(patient)).json["id"]?.stringValue)
                func token(_ scope: String) async throws -> String {
                    var claims = BearerTokenTests.Claims(iss: url)
                    claims.roles = ["clinician"]
                    claims.scope = scope
                    return try await issuer.signers.sign(claims, kid: "rsa")
                }
                func status(_ method: HTTPRequest.Method, _ path: String, _ scope: String, body: String? = nil) async throws -> Int {
                    Int(try await server.send(method, path, as: nil, headers: ["Authorization": "Bearer " + (try await token(scope))], body: body).status.code)
                }
                let observationOnly = "user/Observation.rs"
                #expect(try await status(.get, "/fhir/Observation/\(observation)", observationOnly) == 200)
                #expect(try await status(.get, "/fhir/Observation?code=8867-4", observationOnly) == 200)
                #expect(try await status(.get, "/fhir/Patient/\(patient)", observationOnly) == 403)
                #expect(try await status(.post, "/fhir/Observation", observationOnly, body: AccessTraceTests.observation(patient)) == 403)
                #expect(try await status(.post, "/fhir/Observation", "user/Observation.c", body: AccessTraceTests.observation(patient)) == 201)
                #expect(try await status(.get, "/fhir/Patient/\(patient)", "user/*.read") == 200)
                #expect(try await status(.get, "/fhir/Patient/\(patient)", "system/*.rs") == 200)
                #expect(try await status(.delete, "/fhir/Observation/\(observation)", "user/*.read") == 403)
                // A transaction is judged entry by entry: each needs what its own request would.
                func bundle(_ entries: [(method: String, url: String, resource: String?)]) -> String {
                    let items = entries.map { entry in
                        #"{"request": {"method": "\#(entry.method)", "url": "\#(entry.url)"}"# + (entry.resource.map { #", "resource": \#($0)"# } ?? "") + "}"
                    }
                    return #"{"resourceType": "Bundle", "type": "transaction", "entry": [\#(items.joined(separator: ", "))]}"#
                }
                let create = (method: "POST", url: "Observation", resource: Optional(AccessTraceTests.observation(patient)))
                #expect(try await status(.post, "/fhir", "user/Observation.c", body: bundle([create])) == 200)
                let withPatient = bundle([create, ("PUT", "Patient/\(patient)", #"{"resourceType":"Patient","id":"\#(patient)","name":[{"family":"Petit","given":["Léa"]}]}"#)])
                let refused = try await server.send(
                    .post, "/fhir", as: nil, headers: ["Authorization": "Bearer " + (try await token("user/Observation.c"))], body: withPatient)
                #expect(refused.status == .forbidden && refused.body.contains("entry 1"), "\(refused.body)")
                #expect(try await status(.post, "/fhir", "user/Observation.c user/Patient.u", body: withPatient) == 200)
                #expect(try await status(.post, "/fhir", "user/Observation.c", body: bundle([("GET", "Patient/\(patient)", nil)])) == 403)
                let reads = try await server.send(
                    .post, "/fhir", as: nil, headers: ["Authorization": "Bearer " + (try await token("user/*.rs"))],
                    body: bundle([("GET", "Patient/\(patient)", nil), ("GET", "Observation/\(observation)", nil)]))
                #expect(reads.status == .ok, "\(reads.body)")
                // The access trace is not written through a transaction either, whoever sends it.
                for url in ["AuditEvent", "http://socle.example/fhir/AuditEvent"] {
                    let audit = bundle([("POST", url, #"{"resourceType": "AuditEvent"}"#)])
                    #expect(try await server.send(.post, "/fhir", body: audit).status == .forbidden, "\(url)")
                }
                // An absolute url is read as the bundle processing reads it: the scope is the resource's.
                let absolute = (method: "POST", url: "http://socle.example/fhir/Observation", resource: Optional(AccessTraceTests.observation(patient)))
                #expect(try await status(.post, "/fhir", "user/Observation.c", body: bundle([absolute])) == 200)
                #expect(try await status(.post, "/fhir", "user/Patient.c", body: bundle([absolute])) == 403)
                // A patient/ scope without a patient context grants nothing; a narrowed scope is not honoured.
                #expect(try await status(.get, "/fhir/Observation/\(observation)", "patient/Observation.rs") == 403)
                #expect(try await status(.get, "/fhir/Observation/\(observation)", "user/Observation.rs?category=vital-signs") == 403)
                // SMART on openEHR: compositions and queries.
                #expect(try await status(.get, "/openehr/v1/ehr/\(ehrID)", "user/composition-*.rs") == 200)
                #expect(try await status(.get, "/openehr/v1/ehr/\(ehrID)", observationOnly) == 403)
                #expect(try await status(.post, "/openehr/v1/query/aql", "user/aql-*.rs", body: #"{"q": "SELECT e/ehr_id/value FROM EHR e"}"#) == 200)
                #expect(try await status(.post, "/openehr/v1/query/aql", "user/composition-*.rs", body: #"{"q": "SELECT e/ehr_id/value FROM EHR e"}"#) == 403)
                // A token whose roles do not include a clinical one reads nothing, whatever its scopes.
                var admin = BearerTokenTests.Claims(iss: url)
                admin.roles = ["admin"]
                admin.scope = "user/*.cruds"
                let adminToken = try await issuer.signers.sign(admin, kid: "rsa")
                #expect(try await BearerTokenTests.get(server, "/fhir/Patient/\(patient)", token: adminToken).status == .forbidden)
            }
        }
    }

    /// Issue 16 §5: the trace as FHIR AuditEvents (IHE BALP's RESTful
    /// pattern), searched by patient, agent and date; a patient's token sees
    /// the accesses to their own record only.
    @Test(arguments: TestEngine.available)
    func auditEventsAnswerWhoLookedAtMyRecord(engine: TestEngine) async throws {
        let issuer = try await BearerTokenTests.Issuer()
        try await issuer.serve { url in
            try await TestServer.with(engine, users: Self.users, configure: { $0.oidc = OIDCSettings(issuer: url, audience: "socle") }) { server in
                _ = try await CompositionRoutesTests.prepared(server)
                let mine = try await Self.record(server, "Lemoine")
                let theirs = try await Self.record(server, "Faure")
                #expect(try await server.send(.get, "/fhir/Observation/\(mine.observation)", as: TestServer.clinician).status == .ok)
                #expect(try await server.send(.get, "/openehr/v1/ehr/\(theirs.ehrID)", as: TestServer.clinician).status == .ok)

                let search = try await server.send(.get, "/fhir/AuditEvent?patient=Patient/\(mine.patient)&agent=bob", as: Self.adminOnly)
                #expect(search.status == .ok, "\(search.body)")
                let events = search.json["entry"]?.arrayValue?.compactMap { $0["resource"] } ?? []
                #expect(events.count == 1, "\(search.body)")
                let event = try #require(events.first)
                #expect(event["resourceType"]?.stringValue == "AuditEvent")
                #expect(event["type"]?["code"]?.stringValue == "rest")
                #expect(event["subtype"]?.arrayValue?.first?["code"]?.stringValue == "read")
                #expect(event["action"]?.stringValue == "R" && event["outcome"]?.stringValue == "0")
                #expect(event["agent"]?.arrayValue?.first?["who"]?["display"]?.stringValue == "bob")
                let entities = event["entity"]?.arrayValue?.compactMap { $0["what"]?["reference"]?.stringValue } ?? []
                #expect(entities.contains("Patient/\(mine.patient)") && entities.contains("Observation/\(mine.observation)"), "\(entities)")
                #expect(try await server.send(.get, "/fhir/AuditEvent?date=ge2000-01-01", as: Self.adminOnly).json["entry"]?.arrayValue?.isEmpty == false)
                #expect(try await server.send(.get, "/fhir/AuditEvent?date=lt2000-01-01", as: Self.adminOnly).json["entry"]?.arrayValue?.isEmpty == true)
                #expect(try await server.send(.get, "/fhir/AuditEvent?code=x", as: Self.adminOnly).status == .badRequest)
                // Clinicians do not read the trace; the patient reads their own.
                #expect(try await server.send(.get, "/fhir/AuditEvent", as: TestServer.clinician).status == .forbidden)
                var claims = BearerTokenTests.Claims(iss: url)
                claims.roles = ["patient"]
                claims.patient = mine.patient
                let token = try await issuer.signers.sign(claims, kid: "rsa")
                let own = try await BearerTokenTests.get(server, "/fhir/AuditEvent", token: token)
                #expect(own.status == .ok)
                let reached = Set(own.json["entry"]?.arrayValue?.flatMap { entry in
                    entry["resource"]?["entity"]?.arrayValue?.compactMap { $0["what"]?["reference"]?.stringValue } ?? []
                } ?? [])
                #expect(reached.contains("Patient/\(mine.patient)") && !reached.contains("Patient/\(theirs.patient)") && !reached.contains("EHR/\(theirs.ehrID)"))
                #expect(try await BearerTokenTests.get(server, "/fhir/AuditEvent?patient=Patient/\(theirs.patient)", token: token).status == .forbidden)

                // Each entry is read by the id the search gives (R4 §http read); a patient reads those naming their record only.
                let id = try #require(event["id"]?.stringValue)
                let read = try await server.send(.get, "/fhir/AuditEvent/\(id)", as: Self.adminOnly)
                #expect(read.status == .ok && read.json == event, "\(read.body)")
                #expect(try await BearerTokenTests.get(server, "/fhir/AuditEvent/\(id)", token: token).json["id"]?.stringValue == id)
                let other = try await server.send(.get, "/fhir/AuditEvent?patient=EHR/\(theirs.ehrID)", as: Self.adminOnly)
                let otherID = try #require(other.json["entry"]?.arrayValue?.first?["resource"]?["id"]?.stringValue)
                let hidden = try await BearerTokenTests.get(server, "/fhir/AuditEvent/\(otherID)", token: token)
                #expect(hidden.status == .notFound && hidden.json["resourceType"]?.stringValue == "OperationOutcome")
                #expect(try await server.send(.get, "/fhir/AuditEvent/\(otherID)", as: TestServer.clinician).status == .forbidden)
                for missing in ["999999", "0", "abc"] {
                    #expect(try await server.send(.get, "/fhir/AuditEvent/\(missing)", as: Self.adminOnly).status == .notFound)
                }
                for (method, path) in [(HTTPRequest.Method.put, "/fhir/AuditEvent/\(id)"), (.delete, "/fhir/AuditEvent/\(id)"), (.post, "/fhir/AuditEvent")] {
                    let write = try await server.send(method, path, as: Self.adminOnly, body: "{}")
                    #expect(write.status == .methodNotAllowed && write.headers[.allow] == "GET", "\(method) \(write.status)")
                }
            }
        }
    }

    /// Issue 16 §3: with `SOCLE_CARE_RELATIONSHIPS=careteam` a clinician
    /// reaches the patients of their active CareTeams only; breaking the
    /// glass with a reason reaches the others, with a warning and a trace entry.
    @Test(arguments: TestEngine.available)
    func aClinicianReachesTheirPatientsOrBreaksTheGlass(engine: TestEngine) async throws {
        try await TestServer.with(engine, configure: { $0.careRelationships = true }) { server in
            _ = try await CompositionRoutesTests.prepared(server)
            let mine = try await Self.record(server, "Chevalier")
            let theirs = try await Self.record(server, "Mercier")
            // Bob is a Practitioner known by his user name, in the care team of the first patient.
            let practitioner = try #require(
                try await server.send(.post, "/fhir/Practitioner", body: #"{"resourceType":"Practitioner","identifier":[{"system":"urn:socle:users","value":"bob"}]}"#)
                    .json["id"]?.stringValue)
            let team = #"{"resourceType":"CareTeam","status":"active","subject":{"reference":"Patient/\#(mine.patient)"},"participant":[{"member":{"reference":"Practitioner/\#(practitioner)"}}]}"#
            #expect(try await server.send(.post, "/fhir/CareTeam", body: team).status == .created)

            let bob = TestServer.clinician
            #expect(try await server.send(.get, "/fhir/Observation/\(mine.observation)", as: bob).status == .ok)
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(mine.ehrID)/composition/\(mine.composition)", as: bob).status == .ok)
            let refused = try await server.send(.get, "/fhir/Observation/\(theirs.observation)", as: bob)
            #expect(refused.status == .forbidden)
            #expect(refused.body.contains("X-Break-The-Glass") && refused.body.contains("CareTeams"), "\(refused.body)")
            // An empty reason breaks no glass.
            #expect(try await server.send(.get, "/fhir/Observation/\(theirs.observation)", as: bob, headers: ["X-Break-The-Glass": " "]).status == .forbidden)
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(theirs.ehrID)", as: bob).status == .forbidden)
            // AQL over every EHR reads the patients in his care only.
            let query = try await server.send(.post, "/openehr/v1/query/aql", as: bob, body: #"{"q": "SELECT e/ehr_id/value FROM EHR e"}"#)
            #expect(query.json["rows"]?.arrayValue?.compactMap { $0.arrayValue?.first?.stringValue } == [mine.ehrID], "\(query.body)")

            let glass = try await server.send(
                .get, "/openehr/v1/ehr/\(theirs.ehrID)/composition/\(theirs.composition)", as: bob, headers: ["X-Break-The-Glass": "emergency: unconscious patient"])
            #expect(glass.status == .ok)
            #expect(glass.headers[HTTPField.Name("Warning")!]?.contains("break the glass") == true)
            let log = try await server.send(.get, "/admin/access-log?patient=EHR/\(theirs.ehrID)").json["entries"]?.arrayValue ?? []
            let flagged = try #require(log.first { $0["break_the_glass"] != nil })
            #expect(flagged["break_the_glass"]?.stringValue == "emergency: unconscious patient")
            #expect(flagged["actor"]?["name"]?.stringValue == "bob")
            // Writes are not held: a clinician records what they do, and the trace shows it.
            let write = try await server.send(.post, "/fhir/Observation", as: bob, body: AccessTraceTests.observation(theirs.patient))
            #expect(write.status == .created)
        }
    }
}
