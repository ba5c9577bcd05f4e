import Foundation
import JSONCore
import OpenEHR
import SocleTestSupport
import Testing

@Suite("EHR_STATUS canonical JSON (RM 1.1.0 ehr §EHR_STATUS, ITS-JSON)")
struct EHRStatusTests {
    static func load(_ url: URL) throws -> JSON {
        try JSONParser.parse(Array(try Data(contentsOf: url)))
    }

    @Test func everyValidCorpusStatusDecodesAndReencodes() throws {
        let files = try Corpus.files(in: "openehr/ehr_status/valid", withExtension: "json")
            .filter { $0.lastPathComponent != "000_ehr_status_ecis.json" }
        #expect(files.count >= 8)
        for file in files {
            let json = try Self.load(file)
            let status = try EHRStatus(json: json)
            let again = try EHRStatus(json: status.json)
            #expect(again == status, "\(file.lastPathComponent)")
            #expect(status.isQueryable == json["is_queryable"]?.boolValue)
            #expect(status.subject.externalRef?.namespace == json["subject"]?["external_ref"]?["namespace"]?.stringValue)
        }
    }

    /// The corpus labels two files invalid that the standard accepts:
    /// `subject: {}` is an anonymous PARTY_SELF (RM ehr §EHR_STATUS: "PARTY_SELF
    /// allows completely anonymous EHRs"), and a root without `_type` is
    /// typed by the endpoint that declares EHR_STATUS (ITS-JSON asks for
    /// `_type` only where the declared type is abstract).
    static let acceptedByTheStandard: Set<String> = ["001_ehr_status_subject_empty.json", "000_ehr_status_type_missing.json"]

    @Test func everyInvalidCorpusStatusIsRefusedWithAPath() throws {
        let files = try Corpus.files(in: "openehr/ehr_status/invalid", withExtension: "json")
        #expect(files.count == 11)
        for file in files {
            let json = try Self.load(file)
            if Self.acceptedByTheStandard.contains(file.lastPathComponent) {
                #expect(throws: Never.self, "\(file.lastPathComponent)") { try EHRStatus(json: json) }
                continue
            }
            do {
                _ = try EHRStatus(json: json)
                Issue.record("\(file.lastPathComponent) was accepted")
            } catch {
                #expect(!error.problems.isEmpty)
                #expect(error.problems.allSatisfy { $0.path.hasPrefix("/") })
            }
        }
    }

    @Test(arguments: [
        (#"{"_type":"EHR_STATUS","archetype_node_id":"a","name":{"value":"n"},"subject":{},"is_queryable":true}"#, "/is_modifiable", "mandatory"),
        (#"{"_type":"EHR_STATUS","archetype_node_id":"a","name":{"value":"n"},"subject":{},"is_queryable":"true","is_modifiable":true}"#, "/is_queryable", "must be a boolean"),
        (#"{"_type":"COMPOSITION","archetype_node_id":"a","name":{"value":"n"},"subject":{},"is_queryable":true,"is_modifiable":true}"#, "/_type", "COMPOSITION is not allowed here"),
        (#"{"_type":"EHR_STATUZ","archetype_node_id":"a","name":{"value":"n"},"subject":{},"is_queryable":true,"is_modifiable":true}"#, "/_type", "unknown RM type 'EHR_STATUZ'"),
        (#"{"archetype_node_id":"a","name":{"value":"n"},"subject":{"_type":"PARTY_IDENTIFIED"},"is_queryable":true,"is_modifiable":true}"#, "/subject/_type", "PARTY_IDENTIFIED is not allowed here"),
        (#"{"archetype_node_id":"a","name":{"value":"n"},"subject":{"external_ref":{"id":{"value":"1"},"namespace":"x","type":"PERSON"}},"is_queryable":true,"is_modifiable":true}"#, "/subject/external_ref/id/_type", "declared type is abstract"),
        (#"{"archetype_node_id":"a","name":{"value":"n"},"subject":{"external_ref":{"id":{"_type":"HIER_OBJECT_ID","value":"1"},"namespace":"9x","type":"PERSON"}},"is_queryable":true,"is_modifiable":true}"#, "/subject/external_ref/namespace", "namespace pattern"),
        (#"{"archetype_node_id":"a","name":{"value":"n"},"subject":{},"is_queryable":true,"is_modifiable":true,"other_details":{"_type":"CLUSTER"}}"#, "/other_details/_type", "CLUSTER is not allowed here"),
        (#"{"archetype_node_id":"a","name":{"value":"n"},"subject":{},"is_queryable":true,"is_modifiable":true,"uid":{"value":"x::y"}}"#, "/uid/value", "not an OBJECT_VERSION_ID"),
        (#"{"archetype_node_id":"a","name":"EHR Status","subject":{},"is_queryable":true,"is_modifiable":true}"#, "/name", "must be an object"),
        (#"[1]"#, "/", "must be a JSON object"),
        (#"{"archetype_node_id":"a","name":{"value":"n"},"subject":{},"is_queryable":true,"is_modifiable":true,"other_details":{"_type":"ITEM_TREE","archetype_node_id":"at0001","name":{"value":"t"},"items":[{"_type":"ELEMENT","archetype_node_id":"at0002","name":{"value":"e"},"value":{"_type":"DV_TEXT","value":5}}]}}"#, "/other_details/items[at0002]/value/value", "must be a string"),
    ])
    func namesThePathAndTheRule(text: String, path: String, message: String) throws {
        let json = try JSONParser.parse(text)
        do {
            _ = try EHRStatus(json: json)
            Issue.record("accepted: \(text)")
        } catch {
            let problem = error.problems.first { $0.path == path }
            #expect(problem != nil, "no problem at \(path): \(error.problems)")
            #expect(problem?.message.contains(message) == true, "\(problem?.message ?? "")")
        }
    }

    @Test func reportsEveryProblemNotOnlyTheFirst() throws {
        let json = try JSONParser.parse(#"{"_type":"EHR_STATUS","extra":1,"subject":{"external_ref":{}}}"#)
        do {
            _ = try EHRStatus(json: json)
            Issue.record("accepted")
        } catch {
            let paths = Set(error.problems.map(\.path))
            #expect(
                paths.isSuperset(of: [
                    "/extra", "/archetype_node_id", "/name", "/subject/external_ref/id", "/subject/external_ref/namespace", "/is_queryable",
                    "/is_modifiable",
                ]))
        }
    }

    @Test func encodesInRMOrderWithTheAssignedUID() throws {
        var status = EHRStatus(subject: PartyProxy(kind: .self), isQueryable: false, isModifiable: true)
        status.uid = ObjectVersionID("7d44b88c-4199-4bad-97dc-d78268e01398::socle.test::3")
        let json = status.json
        #expect(json.objectValue?.keys == ["_type", "name", "archetype_node_id", "uid", "subject", "is_queryable", "is_modifiable"])
        #expect(json["uid"]?["value"] == .string("7d44b88c-4199-4bad-97dc-d78268e01398::socle.test::3"))
        #expect(json["is_queryable"] == .bool(false))
    }
}
