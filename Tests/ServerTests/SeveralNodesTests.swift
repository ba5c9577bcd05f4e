import Foundation
import HTTPTypes
import JSONCore
import SocleTestSupport
import Storage
import Testing

/// Several `socle serve` nodes on one database: what one node keeps in
/// memory (a parsed template, its FLAT reader and web template) follows what
/// another node changes.
@Suite("Several nodes on one database")
struct SeveralNodesTests {
    static let opt = Corpus.bloodPressureOPT
    /// The same template allowing pressures under 10 mm[Hg] only (the corpus composition has 22).
    static let narrowOPT = opt.replacingOccurrences(of: "<upper>1000</upper>", with: "<upper>10</upper>")
    static let composition = Corpus.bloodPressure
    static let templateID = "ehrbase_blood_pressure_simple.de.v0"

    /// A template replaced through node A is the one node B validates
    /// against on its next request, whichever way the change goes: a
    /// composition B's kept copy accepts but the new template refuses is
    /// refused (the commit's revision check), and one B's kept copy refuses
    /// but the new template accepts is accepted (a refusal is checked
    /// against the current revision before it is answered).
    @Test(arguments: TestEngine.available)
    func aTemplateReplacedOnOneNodeIsTheOneTheOtherValidatesAgainst(engine: TestEngine) async throws {
        try await TestServer.pair(engine) { a, b in
            let xml = ["Content-Type": "application/xml"]
            #expect(try await a.send(.post, "/openehr/v1/definition/template/adl1.4", headers: xml, body: Self.opt).status == .created)
            let ehr = try await b.createEHR()
            // B keeps the wide template (its web template is served from it).
            #expect(try await b.send(.get, "/openehr/v1/definition/template/adl1.4/\(Self.templateID)", headers: ["Accept": "application/openehr.wt+json"]).status == .ok)
            let wideInputs = try await b.send(.get, "/openehr/v1/definition/template/adl1.4/\(Self.templateID)", headers: ["Accept": "application/openehr.wt+json"]).body
            #expect(wideInputs.contains("\"max\":1000"))

            // A narrows it: B refuses what it would have accepted.
            #expect(try await a.send(.put, "/admin/template/\(Self.templateID)", headers: xml, body: Self.narrowOPT).status == .ok)
            let refused = try await b.send(.post, "/openehr/v1/ehr/\(ehr)/composition", body: Self.composition)
            #expect(refused.status == .unprocessableContent, "\(refused.body)")
            #expect(refused.body.contains("magnitude"), "\(refused.body)")
            // B's web template follows too.
            let narrowInputs = try await b.send(.get, "/openehr/v1/definition/template/adl1.4/\(Self.templateID)", headers: ["Accept": "application/openehr.wt+json"]).body
            #expect(narrowInputs.contains("\"max\":10") && !narrowInputs.contains("\"max\":1000"))

            // A widens it again: B accepts what its kept copy refused.
            #expect(try await a.send(.put, "/admin/template/\(Self.templateID)", headers: xml, body: Self.opt).status == .ok)
            let accepted = try await b.send(.post, "/openehr/v1/ehr/\(ehr)/composition", body: Self.composition)
            #expect(accepted.status == .created, "\(accepted.body)")

            // A template B keeps, removed through A: B refuses it as unknown.
            let copyOPT = Self.opt.replacingOccurrences(of: Self.templateID, with: "bp.copy")
            let copy = Self.composition.replacingOccurrences(of: Self.templateID, with: "bp.copy")
            #expect(try await a.send(.post, "/openehr/v1/definition/template/adl1.4", headers: xml, body: copyOPT).status == .created)
            #expect(try await b.send(.get, "/openehr/v1/definition/template/adl1.4/bp.copy/example").status == .ok)
            #expect(try await a.send(.delete, "/admin/template/bp.copy").status == .ok)
            let unknown = try await b.send(.post, "/openehr/v1/ehr/\(ehr)/composition", body: copy)
            #expect(unknown.status == .unprocessableContent && unknown.body.contains("unknown template"), "\(unknown.body)")
        }
    }
}
