import Foundation
import JSONCore
import OpenEHR
import SocleTestSupport
import Testing

@Suite("Canonical JSON against the RM 1.1.0 schema (ITS-JSON)")
struct CanonicalDecoderTests {
    let decoder = CanonicalDecoder()

    /// The decoded tree holds everything that was sent, and adds only `_type`.
    static func keepsEverything(_ original: JSON, _ decoded: JSON) -> Bool {
        switch (original, decoded) {
        case (.object(let sent), .object(let kept)):
            let completed: Set<String> = ["_type", "lower_included", "upper_included", "lower_unbounded", "upper_unbounded"]
            for key in kept.keys where sent[key] == nil && !completed.contains(key) { return false }
            return sent.members.allSatisfy { member in
                if member.value == .null || member.value == .array([]) { return kept[member.key] == nil || kept[member.key] == member.value }
                return kept[member.key].map { keepsEverything(member.value, $0) } ?? false
            }
        case (.array(let sent), .array(let kept)):
            return sent.count == kept.count && zip(sent, kept).allSatisfy { keepsEverything($0, $1) }
        default:
            return original == decoded
        }
    }


    /// Every canonical JSON composition of the corpus decodes, keeps all it
    /// was sent, and re-encodes to JSON that decodes to the same tree; the
    /// ones that break the schema are refused for the listed reason.
    @Test func everyCorpusCompositionDecodesAndReencodes() throws {
        let folder = Corpus.root.appendingPathComponent("openehr/compositions/canonical_json")
        let files = Corpus.files(below: folder, withExtension: "json")
        var decoded = 0
        var refused: [String: [DecodingProblem]] = [:]
        for file in files {
            let name = String(file.standardizedFileURL.path.dropFirst(folder.standardizedFileURL.path.count + 1))
            guard let json = try? JSONParser.parse(Array(try Data(contentsOf: file))) else {
                #expect(name.contains("invalid"), "\(name) is not JSON")
                continue
            }
            do {
                let tree = try decoder.decode(json, as: "COMPOSITION")
                #expect(Self.keepsEverything(json, tree), "\(name)")
                let again = try decoder.decode(try JSONParser.parse(JSONSerializer.bytes(tree)), as: "COMPOSITION")
                #expect(again == tree, "\(name)")
                decoded += 1
            } catch let error as RMDecodingError {
                refused[name] = error.problems
            }
        }
        #expect(Set(refused.keys) == Set(CorpusExpectations.refusedByTheRMSchema.keys))
        for (name, problems) in refused {
            let expected = CorpusExpectations.refusedByTheRMSchema[name] ?? "?"
            #expect(problems.contains { $0.description.contains(expected) }, "\(name): \(problems)")
        }
        #expect(decoded == files.count - 2 - CorpusExpectations.refusedByTheRMSchema.count)
    }

    @Test(arguments: [
        (#"{"_type":"COMPOSITION"}"#, "/archetype_node_id", "is mandatory in COMPOSITION but missing"),
        (#"{"archetype_node_id":"x","name":{"value":"n"},"language":{"terminology_id":{"value":"ISO_639-1"},"code_string":"en"},"territory":{"terminology_id":{"value":"ISO_3166-1"},"code_string":"FR"},"category":{"value":"event","defining_code":{"terminology_id":{"value":"openehr"},"code_string":"433"}},"composer":{"name":"Dr X"},"content":[{"archetype_node_id":"y"}]}"#, "/content[y]/_type", "is mandatory here"),
        (#"{"archetype_node_id":"x","name":{"value":"n"},"language":{"terminology_id":{"value":"ISO_639-1"},"code_string":"en"},"territory":{"terminology_id":{"value":"ISO_3166-1"},"code_string":"FR"},"category":{"value":"event","defining_code":{"terminology_id":{"value":"openehr"},"code_string":"433"}},"composer":{"_type":"PARTY_SELF"},"content":{"_type":"OBSERVATION"}}"#, "/content", "must be an array"),
        (#"{"archetype_node_id":"x","name":{"_type":"DV_QUANTITY","magnitude":1,"units":"m"},"language":{"terminology_id":{"value":"ISO_639-1"},"code_string":"en"},"territory":{"terminology_id":{"value":"ISO_3166-1"},"code_string":"FR"},"category":{"value":"event","defining_code":{"terminology_id":{"value":"openehr"},"code_string":"433"}},"composer":{"_type":"PARTY_SELF"}}"#, "/name/_type", "DV_QUANTITY is not allowed here"),
        (#"{"archetype_node_id":"x","name":{"value":"n"},"language":{"terminology_id":{"value":"ISO_639-1"},"code_string":"en"},"territory":{"terminology_id":{"value":"ISO_3166-1"},"code_string":"FR"},"category":{"value":"event","defining_code":{"terminology_id":{"value":"openehr"},"code_string":"433"}},"composer":{"_type":"PARTY_SELF"},"context":{"start_time":{"value":"2020-01-01T00:00:00Z"},"setting":{"value":"home","defining_code":{"terminology_id":{"value":"openehr"},"code_string":"225"}},"participations":[{"function":{"value":"f"},"performer":{"_type":"PARTY_IDENTIFIED","name":7}}]}}"#, "/context/participations[0]/performer/name", "must be a string, found a number"),
    ])
    func refusesWhatTheSchemaForbidsWithItsPath(text: String, path: String, message: String) throws {
        let json = try JSONParser.parse(text)
        do {
            _ = try decoder.decode(json, as: "COMPOSITION")
            Issue.record("accepted: \(text)")
        } catch {
            let problem = error.problems.first { $0.path == path }
            #expect(problem?.message.contains(message) == true, "\(error.problems)")
        }
    }

    /// An Integer attribute (DV_COUNT.magnitude) takes a JSON number
    /// without fraction or exponent; anything else is refused at its path.
    @Test(arguments: [("12", true), ("-3", true), ("0", true), ("1.5", false), ("1e3", false), ("2E2", false), ("\"4\"", false)])
    func anIntegerHasNoFractionNorExponent(magnitude: String, accepted: Bool) throws {
        let json = try JSONParser.parse(#"{"magnitude":\#(magnitude)}"#)
        do {
            let tree = try decoder.decode(json, as: "DV_COUNT")
            #expect(accepted && tree["magnitude"] == json["magnitude"], "\(magnitude)")
        } catch {
            #expect(!accepted && error.problems.contains { $0.path == "/magnitude" && $0.message.contains("must be an integer") }, "\(error.problems)")
        }
    }

    /// RM 1.1.0 data_types.quantity.date_time: the values are ISO 8601.
    @Test(arguments: [
        ("DV_DATE_TIME", "2021-13-01T10:00:00Z", "is not an ISO 8601 date-time"),
        ("DV_DATE_TIME", "yesterday", "is not an ISO 8601 date-time"),
        ("DV_DATE", "2021-02-30", "is not an ISO 8601 date"),
        ("DV_TIME", "25h", "is not an ISO 8601 time"),
        ("DV_DURATION", "P1X", "is not an ISO 8601 duration"),
    ])
    func refusesTemporalValuesThatAreNotISO8601(type: String, value: String, message: String) throws {
        let json = try JSONParser.parse(#"{"value":"\#(value)"}"#)
        do {
            _ = try decoder.decode(json, as: type)
            Issue.record("accepted \(value) as \(type)")
        } catch {
            #expect(error.problems.contains { $0.path == "/value" && $0.message.contains(message) }, "\(error.problems)")
        }
    }

    @Test(arguments: [("DV_DATE_TIME", "2021-02-03T04:05:06.123+01:00"), ("DV_DATE_TIME", "2021-02"), ("DV_DATE", "2021"), ("DV_TIME", "10:30"), ("DV_DURATION", "PT1H30M"), ("DV_DURATION", "P2W")])
    func acceptsISO8601TemporalValues(type: String, value: String) throws {
        let tree = try decoder.decode(try JSONParser.parse(#"{"value":"\#(value)"}"#), as: type)
        #expect(tree == .object(JSONObject([("_type", .string(type)), ("value", .string(value))])))
    }

    @Test func makesTypesExplicitAndCompletesIntervalFlags() throws {
        let json = try JSONParser.parse(#"{"lower":{"_type":"DV_COUNT","magnitude":1}}"#)
        let tree = try decoder.decode(json, as: "DV_INTERVAL")
        #expect(tree["_type"] == .string("DV_INTERVAL"))
        #expect(tree["lower_included"] == .bool(true) && tree["lower_unbounded"] == .bool(false))
        #expect(tree["upper_included"] == .bool(false) && tree["upper_unbounded"] == .bool(true))
        let name = try decoder.decode(try JSONParser.parse(#"{"value":"x"}"#), as: "DV_TEXT")
        #expect(name.objectValue?.keys == ["_type", "value"])
    }
}
