import Foundation
import HTTPTypes
import JSONCore
import OpenEHR
import SocleTestSupport
import Templates
import Testing

/// ITS-REST 1.0.3 with `application/xml`: compositions, EHR_STATUS,
/// contributions, versions and the directory in canonical XML, in and out.
@Suite("openEHR REST: canonical XML")
struct XMLRoutesTests {
    static let xml = ["Content-Type": "application/xml", "Accept": "application/xml"]

    /// Uploads every valid corpus template; returns the ids that loaded.
    static func uploadTemplates(_ server: TestServer) async throws -> Set<String> {
        let root = Corpus.root.appendingPathComponent("openehr/templates/valid")
        var ids: Set<String> = []
        // In path order: where two files share a template id, the first is the one uploaded.
        for file in Corpus.files(below: root, withExtension: "opt") {
            let upload = try await server.send(
                .post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"],
                body: try String(contentsOf: file, encoding: .utf8))
            if upload.status == .created, let id = upload.eTag { ids.insert(id) }
        }
        return ids
    }

    /// A composition without its uid, keys sorted: what a commit keeps of what was sent.
    static func content(_ json: JSON) -> JSON {
        guard case .object(var object) = json else { return json }
        object["uid"] = nil
        return CanonicalXMLSortedKeys.sorted(.object(object))
    }

    /// Every corpus composition in canonical XML whose template is in the
    /// corpus and that is valid commits when POSTed as XML, and its GET in
    /// XML (and in JSON) gives back the same composition.
    @Test(arguments: TestEngine.available)
    func everyCorpusXMLCompositionCommitsAndReadsBack(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let templates = try await Self.uploadTemplates(server)
            let ehrID = try await server.createEHR()
            var committed = 0
            var refused: [String] = []
            let root = Corpus.root.appendingPathComponent("openehr/compositions/canonical_xml")
            let files = Corpus.files(below: root, withExtension: "xml")
            for file in files {
                let data = try Data(contentsOf: file)
                guard let document = try? XMLTree.parse(data), document.name == "composition",
                    let read = try? CanonicalXML.read(data, as: "COMPOSITION"),
                    // What the RM decoder makes of it (interval flags completed).
                    let sent = try? CanonicalDecoder().decode(read, as: "COMPOSITION"),
                    let template = sent["archetype_details"]?["template_id"]?["value"]?.stringValue, templates.contains(template)
                else { continue }
                let name = file.lastPathComponent
                let reply = try await server.send(
                    .post, "/openehr/v1/ehr/\(ehrID)/composition", headers: Self.xml.merging(["Prefer": "return=representation"]) { $1 },
                    body: String(decoding: data, as: UTF8.self))
                guard reply.status == .created, let uid = reply.eTag else {
                    let reason = reply.json["validationErrors"]?.arrayValue?.first?.stringValue ?? reply.json["message"]?.stringValue ?? ""
                    refused.append(name)
                    #expect(reason.contains(Self.refusedCorpusCompositions[name] ?? "?"), "\(name): \(reply.status) \(reason)")
                    continue
                }
                #expect(reply.headers[.contentType] == "application/xml")
                let returned = try CanonicalXML.read(Data(reply.body.utf8), as: "COMPOSITION")
                #expect(Self.content(returned) == Self.content(sent), "\(name): the composition returned differs from the one sent")
                let fetched = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(uid)?format=XML")
                #expect(fetched.headers[.contentType] == "application/xml")
                #expect(try CanonicalXML.read(Data(fetched.body.utf8), as: "COMPOSITION") == returned, "\(name)")
                let json = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(uid)")
                #expect(Self.content(json.json) == Self.content(sent), "\(name): JSON differs")
                committed += 1
            }
            #expect(committed == Self.committedCorpusCompositions)
            #expect(refused.sorted() == Self.refusedCorpusCompositions.keys.sorted())
        }
    }

    /// Of the corpus XML compositions whose template is in the corpus and
    /// that are valid RM compositions, 50 commit; these break their template.
    static let committedCorpusCompositions = 50
    static let refusedCorpusCompositions: [String: String] = {
        let precision = "96.63 has more than 1 decimal place(s)"
        let wrongRoot = "the template's root archetype is"
        return [
            "RIPPLE-ConformanceTest.xml": precision,
            "RIPPLE_conformanceTesting_RAW.xml": precision,
            "RIPPLE_conformanceTesting.xml": precision,
            "RIPPLE_conformanceTesting_ADMIN_ENTRY.xml": precision,
            "RIPPLE_conformanceTesting_ORIGINAL.xml": precision,
            // They carry the uid of a composition committed before them.
            "RIPPLE_conformanceTesting_INSTRUCTION.request-procedure.v1.xml": "versioned object f16dd9db-b2cd-4e68-b08d-38bea43751b9 already exists",
            "RIPPLE_conformanceTesting_EVALUATION.cpr_decision_uk.xml": "versioned object f16dd9db-b2cd-4e68-b08d-38bea43751b9 already exists",
            "RIPPLE_conformanceTesting_OBSERVATION.demo.v1.xml": precision,
            "case_composition.xml": wrongRoot,
            "case_composition_updated.xml": wrongRoot,
            "minimal_observation.composition.participations.extdatetimes_FIXED_EXAMPLE.xml": wrongRoot,
            "cache_composition_updated.xml": "is not allowed here by the template (allowed: openEHR-EHR-ADMIN_ENTRY.minimal.v1)",
            "persistent_minimal_all_entries.composition.xml": "ordinal 1 with symbol at0010 is not one the template allows",
            // An ordinal's symbol is the archetype's term for its code.
            "obs_admin.composition.xml": "symbol/value: 'ord1' is not the term of at0003 ('option 1')",
            "obs_admin.composition.extdatetimes.xml": "symbol/value: 'ord1' is not the term of at0003 ('option 1')",
            "persistent_minimal_all_entries.composition.extdatetimes.xml": "symbol/value: 'ord1' is not the term of at0003 ('option 1')",
        ]
    }()

    @Test(arguments: TestEngine.available)
    func ehrStatusInXML(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let status = """
                <?xml version="1.0" encoding="UTF-8"?>
                <ehr_status xmlns="http://schemas.openehr.org/v1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" archetype_node_id="openEHR-EHR-EHR_STATUS.generic.v1">
                  <name><value>EHR Status</value></name>
                  <subject><external_ref><id xsi:type="GENERIC_ID"><value>1 84 12 75 116 005 38</value><scheme>INS-NIR</scheme></id><namespace>insee</namespace><type>PERSON</type></external_ref></subject>
                  <is_queryable>true</is_queryable>
                  <is_modifiable>true</is_modifiable>
                </ehr_status>
                """
            let created = try await server.send(.post, "/openehr/v1/ehr", headers: Self.xml.merging(["Prefer": "return=representation"]) { $1 }, body: status)
            #expect(created.status == .created, "\(created.body)")
            #expect(created.headers[.contentType] == "application/xml")
            #expect(created.body.contains("<ehr xmlns=\"http://schemas.openehr.org/v1\""))
            let ehrID = try #require(created.eTag)
            #expect(try await server.send(.get, "/openehr/v1/ehr?subject_id=1%2084%2012%2075%20116%20005%2038&subject_namespace=insee").status == .ok)

            let read = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status", headers: ["Accept": "application/xml"])
            #expect(read.headers[.contentType] == "application/xml")
            let readJSON = try CanonicalXML.read(Data(read.body.utf8), as: "EHR_STATUS")
            #expect(readJSON["subject"]?["external_ref"]?["id"]?["scheme"] == "INS-NIR")
            #expect(readJSON["is_queryable"] == .bool(true))
            let v1 = try #require(read.eTag)

            // PUT in XML with If-Match; the answer in XML.
            let changed = status.replacingOccurrences(of: "<is_queryable>true</is_queryable>", with: "<is_queryable>false</is_queryable>")
            let put = try await server.send(
                .put, "/openehr/v1/ehr/\(ehrID)/ehr_status", headers: Self.xml.merging(["If-Match": v1, "Prefer": "return=representation"]) { $1 },
                body: changed)
            #expect(put.status == .ok, "\(put.body)")
            #expect(try CanonicalXML.read(Data(put.body.utf8), as: "EHR_STATUS")["is_queryable"] == .bool(false))
            let stale = try await server.send(.put, "/openehr/v1/ehr/\(ehrID)/ehr_status", headers: Self.xml.merging(["If-Match": v1]) { $1 }, body: changed)
            #expect(stale.status == .preconditionFailed)

            // The first version, as an ORIGINAL_VERSION document.
            let version = try await server.send(
                .get, "/openehr/v1/ehr/\(ehrID)/versioned_ehr_status/version/\(v1)", headers: ["Accept": "application/xml"])
            #expect(version.status == .ok)
            #expect(version.body.contains("<version xmlns=\"http://schemas.openehr.org/v1\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"ORIGINAL_VERSION\">"))
            let original = try CanonicalXML.read(Data(version.body.utf8), as: "ORIGINAL_VERSION")
            #expect(original["uid"]?["value"]?.stringValue == v1)
            #expect(original["data"]?["is_queryable"] == .bool(true))
            #expect(original["commit_audit"]?["change_type"]?["defining_code"]?["code_string"] == "249")
        }
    }

    @Test(arguments: TestEngine.available)
    func contributionsInXML(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            _ = try await Self.uploadTemplates(server)
            let ehrID = try await server.createEHR()
            // A corpus ORIGINAL_VERSION document, sent inside a contribution.
            let file = Corpus.root.appendingPathComponent("openehr/compositions/canonical_xml/valid_templates/minimal/minimal_observation.version.xml")
            var version = try String(contentsOf: file, encoding: .utf8)
            version = version.replacingOccurrences(of: #"<version xmlns="http://schemas.openehr.org/v1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="ORIGINAL_VERSION">"#, with: #"<versions xsi:type="ORIGINAL_VERSION">"#)
                .replacingOccurrences(of: "</version>", with: "</versions>")
            let contribution = """
                <contribution xmlns="http://schemas.openehr.org/v1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
                \(version)
                <audit>
                  <system_id>integration</system_id>
                  <committer xsi:type="PARTY_IDENTIFIED"><name>Integration engine</name></committer>
                  <time_committed><value>2026-11-30T10:00:00Z</value></time_committed>
                  <change_type><value>creation</value><defining_code><terminology_id><value>openehr</value></terminology_id><code_string>249</code_string></defining_code></change_type>
                  <description><value>batch in XML</value></description>
                </audit>
                </contribution>
                """
            let reply = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/contribution", headers: Self.xml.merging(["Prefer": "return=representation"]) { $1 }, body: contribution)
            #expect(reply.status == .created, "\(reply.body)")
            #expect(reply.headers[.contentType] == "application/xml")
            let id = try #require(reply.eTag)
            let fetched = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/contribution/\(id)", headers: ["Accept": "application/xml"])
            let read = try CanonicalXML.read(Data(fetched.body.utf8), as: "CONTRIBUTION")
            #expect(read["audit"]?["description"]?["value"] == "batch in XML")
            let versionUID = try #require(read["versions"]?.arrayValue?.first?["id"]?["value"]?.stringValue)
            // The composition it carried, as committed.
            let composition = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(versionUID)")
            #expect(composition.status == .ok)
            #expect(composition.json["archetype_details"]?["template_id"]?["value"] == "minimal_observation.en.v1")
            // The JSON answer of the same contribution lists the same version.
            let json = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/contribution/\(id)")
            #expect(json.json["versions"]?.arrayValue?.first?["id"]?["value"]?.stringValue == versionUID)
        }
    }

    @Test(arguments: TestEngine.available)
    func directoryInXML(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await server.createEHR()
            let folder = """
                <folder xmlns="http://schemas.openehr.org/v1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" archetype_node_id="openEHR-EHR-FOLDER.generic.v1">
                  <name><value>root</value></name>
                  <folders archetype_node_id="openEHR-EHR-FOLDER.generic.v1"><name><value>episodes</value></name>
                    <items><id xsi:type="HIER_OBJECT_ID"><value>6a7d2b4e-44b5-4b6c-9a0e-6a2a4b1b6d11</value></id><namespace>local</namespace><type>VERSIONED_COMPOSITION</type></items>
                  </folders>
                </folder>
                """
            let created = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/directory", headers: Self.xml.merging(["Prefer": "return=representation"]) { $1 }, body: folder)
            #expect(created.status == .created, "\(created.body)")
            let read = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/directory?path=episodes", headers: ["Accept": "application/xml"])
            #expect(read.status == .ok)
            let episodes = try CanonicalXML.read(Data(read.body.utf8), as: "FOLDER")
            #expect(episodes["name"]?["value"] == "episodes")
            #expect(episodes["items"]?.arrayValue?.first?["type"] == "VERSIONED_COMPOSITION")
        }
    }

    /// Bad XML bodies: a 400 that says what and where, and nothing stored.
    @Test(arguments: TestEngine.available)
    func badXMLBodiesAreRefusedAndLeaveNothing(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            _ = try await Self.uploadTemplates(server)
            let ehrID = try await server.createEHR()
            let before = try await server.database.rowCounts()
            let file = Corpus.root.appendingPathComponent("openehr/compositions/canonical_xml/xml_compositions/minimal_observation.en.v1.instance_xml_input_1.xml")
            let good = try String(contentsOf: file, encoding: .utf8)

            let malformed = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", headers: Self.xml, body: String(good.dropLast(20)))
            #expect(malformed.status == .badRequest)
            #expect(malformed.json["validationErrors"]?.arrayValue?.first?.stringValue?.hasPrefix("/: not well-formed XML") == true, "\(malformed.body)")

            let unknown = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition", headers: Self.xml,
                body: good.replacingOccurrences(of: "<territory>", with: "<colour>red</colour>\n  <territory>"))
            #expect(unknown.status == .badRequest)
            #expect(unknown.problemPaths == ["/composition/colour"], "\(unknown.body)")
            let line = good[..<good.range(of: "<territory>")!.lowerBound].filter { $0 == "\n" }.count + 1
            #expect(unknown.json["validationErrors"]?.arrayValue?.first?.stringValue == "/composition/colour: line \(line): <colour> is not an attribute of COMPOSITION", "\(unknown.body)")

            // Valid XML, but not a valid composition for its template (a mandatory attribute removed).
            let noCategory = good.replacingOccurrences(of: #"<category>\s*<value>event</value>[\s\S]*?</category>"#, with: "", options: .regularExpression)
            let invalid = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", headers: Self.xml, body: noCategory)
            #expect(invalid.status == .badRequest)
            #expect(invalid.problemPaths.contains("/category"), "\(invalid.body)")

            // Nesting no composition has (a section inside itself 10,000 times): refused before anything walks it.
            let open = #"<content xsi:type="SECTION" archetype_node_id="s"><name><value>s</value></name>"#
            let deep = good.replacingOccurrences(
                of: "<territory>", with: String(repeating: open, count: 10_000) + String(repeating: "</content>", count: 10_000) + "\n  <territory>")
            let tooDeep = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", headers: Self.xml, body: deep)
            #expect(tooDeep.status == .badRequest)
            #expect(tooDeep.body.contains("nested deeper than 256 levels"), "\(tooDeep.body.prefix(300))")

            let json = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition", headers: ["Content-Type": "application/json"], body: good)
            #expect(json.status == .badRequest)
            let text = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", headers: ["Content-Type": "text/plain"], body: good)
            #expect(text.status == .unsupportedMediaType)
            #expect(try await server.database.rowCounts() == before)

            // The good document commits; Accept decides the answer's form.
            let committed = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition",
                headers: ["Content-Type": "application/xml", "Accept": "application/json", "Prefer": "return=representation"], body: good)
            #expect(committed.status == .created)
            #expect(committed.headers[.contentType] == "application/json")
            #expect(committed.json["_type"] == "COMPOSITION")
        }
    }
}

/// Keys sorted at every level (canonical JSON's member order is free).
enum CanonicalXMLSortedKeys {
    static func sorted(_ json: JSON) -> JSON {
        switch json {
        case .object(let object): .object(JSONObject(object.members.map { ($0.key, sorted($0.value)) }.sorted { $0.0 < $1.0 }))
        case .array(let items): .array(items.map(sorted))
        default: json
        }
    }
}
