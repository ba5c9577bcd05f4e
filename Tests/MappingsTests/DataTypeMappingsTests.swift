import Foundation
import JSONCore
import Mappings
import SocleTestSupport
import Templates
import Testing

/// The FHIRconnect data mappings of durations, attachments, intervals,
/// numbers as quantities and null flavours, both ways, on EHRbase's
/// all-types template: FHIR → FLAT → a composition of the template (so
/// valid against it) → FHIR again.
@Suite struct DataTypeMappingsTests {
    static let observation = "$composition/content[openEHR-EHR-OBSERVATION.test_all_types.v1]/data[at0001]/events[at0002]/data[at0003]"
    static let evaluation = "$composition/content[openEHR-EHR-EVALUATION.test_all_types.v1]/data[at0001]"

    /// A composition model of resources of `type` onto the template, `mappings` its body.
    static func engine(_ mappings: String, type: String) throws -> (FHIRToOpenEHR, OpenEHRToFHIR, FlatComposition) {
        let model = FHIRToOpenEHRTests.model(archetype: "COMPOSITION.test_all_types.v1", resource: type, "mappings:\n" + mappings)
        let context = """
            grammar: FHIRConnect/v1.0.0
            type: context
            metadata: {name: all-types, version: 1.0.0}
            spec: {system: FHIR, version: R4}
            context:
              profile: {url: "http://socle.test/StructureDefinition/all-types"}
              template: {id: "test_all_types.en.v1"}
              archetypes: ["COMPOSITION.test_all_types.v1"]
              start: "COMPOSITION.test_all_types.v1"
            """
        let library = MappingLibrary(files: [("model.yml", model), ("context.yml", context)])
        let resolved = try #require(library.contexts.first, "\(library.files.flatMap(\.problems))")
        let url = Corpus.root.appendingPathComponent("openehr/templates/valid/all_types/Test_all_types.opt")
        let format = FlatComposition(template: try OPTParser().parse(try Data(contentsOf: url)))
        let template = MappingTemplate(webTemplate: format.webTemplate)
        return (FHIRToOpenEHR(context: resolved, template: template), OpenEHRToFHIR(context: resolved, template: template), format)
    }

    /// `resource` to FLAT, through the template, and back to FHIR: the FLAT, the resource made again, the composition.
    static func roundTrip(_ mappings: String, _ resource: String, type: String = "Observation") throws -> (flat: JSONObject, back: JSON, composition: JSON) {
        let (toOpenEHR, toFHIR, format) = try engine(mappings, type: type)
        let outcome = try #require(toOpenEHR.map(try JSONParser.parse(Array(resource.utf8))))
        let composition = try format.composition(outcome.flat)
        let back = try #require(toFHIR.map(flat: format.flat(composition)).resources.first, "\(outcome.notes)")
        return (outcome.flat, back, composition)
    }

    /// §DV_DURATION: a Duration's UCUM unit is the ISO 8601 designator
    /// (`90 min` → `PT90M`, `1500 ms` → `PT1.5S`), and back in the same unit.
    @Test func aDurationIsAnISODuration() throws {
        let mappings = """
              - name: "duration"
                with: {fhir: "$resource.referenceRange.low", openehr: "\(Self.observation)/items[at0018]"}
            """
        for (value, unit, iso) in [("90", "min", "PT90M"), ("2", "wk", "P2W"), ("3", "d", "P3D"), ("1", "a", "P1Y"), ("1500", "ms", "PT1.5S")] {
            let observation = """
                {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                 "referenceRange": [{"low": {"value": \(value), "unit": "\(unit)", "system": "http://unitsofmeasure.org", "code": "\(unit)"}}]}
                """
            let (flat, back, _) = try Self.roundTrip(mappings, observation)
            #expect(flat["test_all_types/test_all_types:0/duration_any"] == .string(iso), "\(flat)")
            let low = back["referenceRange"]?.arrayValue?.first?["low"]
            let expected = unit == "ms" ? ("1.5", "s") : (value, unit)
            #expect(low?["value"].map(JSONSerializer.string) == expected.0 && low?["code"] == .string(expected.1), "\(String(describing: low))")
        }
    }

    /// §DV_MULTIMEDIA: an Attachment's content type, url, data and size (the
    /// data's length where none is given: DV_MULTIMEDIA.size is required).
    /// §DV_PARSABLE: a text attachment's data is the value, its type the formalism.
    @Test func anAttachmentIsMultimediaOrParsable() throws {
        // Observation has no Attachment: a model of DocumentReference maps `content.attachment`, told apart by content type.
        let mappings = """
              - name: "media"
                with: {fhir: "$resource.content.attachment", openehr: "\(Self.observation)/items[at0019]"}
                fhirCondition: {targetRoot: "$resource.content.attachment", targetAttribute: "contentType", operator: "one of", criteria: "image/png"}
              - name: "parsable"
                with: {fhir: "$resource.content.attachment", openehr: "\(Self.observation)/items[at0020]"}
                fhirCondition: {targetRoot: "$resource.content.attachment", targetAttribute: "contentType", operator: "one of", criteria: "text/plain"}
            """
        let text = Data("a = b".utf8).base64EncodedString()
        let document = """
            {"resourceType": "DocumentReference", "status": "current", "content": [
              {"attachment": {"contentType": "image/png", "data": "iVBORw=="}},
              {"attachment": {"contentType": "text/plain", "data": "\(text)"}}]}
            """
        let (flat, back, _) = try Self.roundTrip(mappings, document, type: "DocumentReference")
        #expect(flat["test_all_types/test_all_types:0/multimedia_any|mediatype"] == "image/png", "\(flat)")
        #expect(flat["test_all_types/test_all_types:0/multimedia_any|size"] == 4)
        // Two methods onto the repeating observation: each its own occurrence.
        #expect(flat["test_all_types/test_all_types:1/parsable_any"] == "a = b")
        #expect(flat["test_all_types/test_all_types:1/parsable_any|formalism"] == "text/plain")
        let attachments = back["content"]?.arrayValue?.compactMap { $0["attachment"] } ?? []
        #expect(attachments.contains { $0["contentType"] == "image/png" && $0["data"] == "iVBORw==" && $0["size"] == 4 }, "\(attachments)")
        #expect(attachments.contains { $0["contentType"] == "text/plain" && $0["data"] == .string(text) })
    }

    /// §DV_INTERVAL: a Range is an interval of quantities, its limits included,
    /// one not given unbounded; §DV_QUANTITY Primitives: a number is a quantity of unit "1".
    @Test func aRangeIsAnIntervalAndANumberAQuantity() throws {
        let mappings = """
              - name: "range"
                with: {fhir: "$resource.value", openehr: "\(Self.evaluation)/items[at0004]"}
              - name: "number"
                with: {fhir: "$resource.component.value", openehr: "\(Self.observation)/items[at0007]"}
            """
        let observation = """
            {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
             "valueRange": {"low": {"value": 70, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"}},
             "component": [{"code": {"text": "n"}, "valueInteger": 12}]}
            """
        let (flat, back, composition) = try Self.roundTrip(mappings, observation)
        let interval = composition["content"]?.arrayValue?.compactMap { $0["data"]?["items"]?.arrayValue?.first { $0["archetype_node_id"] == "at0004" }?["value"] }.first
        #expect(interval?["lower"]?["magnitude"].flatMap { Double(JSONSerializer.string($0)) } == 70 && interval?["lower"]?["units"] == "mg/dL", "\(flat)")
        #expect(interval?["lower_included"] == true && interval?["upper_unbounded"] == true && interval?["upper"] == nil, "\(String(describing: interval))")
        #expect(back["valueRange"]?["low"]?["value"] == 70 && back["valueRange"]?["low"]?["code"] == "mg/dL" && back["valueRange"]?["high"] == nil, "\(back)")
        #expect(flat["test_all_types/test_all_types:0/quantity|magnitude"] == 12 && flat["test_all_types/test_all_types:0/quantity|unit"] == "1")
    }

    /// §NULL_FLAVOUR: a value absent for a reason (the data-absent-reason
    /// extension) is the ELEMENT's null flavour with the reason as its null
    /// reason (253 unknown for "not-performed", 272 masked), and back.
    @Test func anAbsentValueIsANullFlavour() throws {
        let mappings = """
              - name: "value"
                with: {fhir: "$resource.value", openehr: "\(Self.observation)/items[at0007]"}
            """
        for (reason, code) in [("not-performed", "253"), ("masked", "272")] {
            let observation = """
                {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                 "valueQuantity": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "\(reason)"}]}}
                """
            let (flat, back, composition) = try Self.roundTrip(mappings, observation)
            #expect(flat["test_all_types/test_all_types:0/quantity/_null_flavour|code"] == .string(code), "\(flat)")
            let element = composition["content"]?.arrayValue?.first?["data"]?["events"]?.arrayValue?.first?["data"]?["items"]?.arrayValue?.first { $0["archetype_node_id"] == "at0007" }
            #expect(element?["null_flavour"]?["defining_code"]?["code_string"] == .string(code) && element?["value"] == nil, "\(String(describing: element))")
            let absent = back["valueQuantity"]?["extension"]?.arrayValue?.first
            #expect(absent?["url"] == "http://hl7.org/fhir/StructureDefinition/data-absent-reason" && absent?["valueCode"] == .string(reason), "\(back)")
        }
    }
}

extension DataTypeMappingsTests {
    /// §PARTY_IDENTIFIED: a Reference's display is the party's name, its
    /// identifier the party's identifier, and back.
    @Test func aReferenceIsAPartyIdentified() throws {
        let mappings = """
              - name: "composer"
                with: {fhir: "$resource.performer", openehr: "$composition/composer"}
            """
        let observation = """
            {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
             "performer": [{"display": "Dr Marie Curie", "identifier": {"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "810000000001"}}]}
            """
        let (flat, back, composition) = try Self.roundTrip(mappings, observation)
        #expect(composition["composer"]?["name"] == "Dr Marie Curie", "\(flat)")
        let identifier = composition["composer"]?["identifiers"]?.arrayValue?.first
        #expect(identifier?["id"] == "810000000001" && identifier?["issuer"] == "urn:oid:1.2.250.1.71.4.2.1", "\(String(describing: composition["composer"]))")
        let performer = back["performer"]?.arrayValue?.first
        #expect(performer?["display"] == "Dr Marie Curie" && performer?["identifier"]?["value"] == "810000000001", "\(back)")
        #expect(performer?["identifier"]?["system"] == "urn:oid:1.2.250.1.71.4.2.1")
    }
}

extension DataTypeMappingsTests {
    /// Values that do not convert are not written, and the engine says which
    /// method and why: a Duration in a unit that is no UCUM time unit, an
    /// Attachment without content type (DV_MULTIMEDIA.media_type is required),
    /// a Range without limits.
    @Test func valuesThatDoNotConvertAreNotedNotWritten() throws {
        let mappings = """
              - name: "duration"
                with: {fhir: "$resource.referenceRange.low", openehr: "\(Self.observation)/items[at0018]"}
              - name: "range"
                with: {fhir: "$resource.value", openehr: "\(Self.evaluation)/items[at0004]"}
            """
        let (toOpenEHR, _, _) = try Self.engine(mappings, type: "Observation")
        let observation = """
            {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
             "referenceRange": [{"low": {"value": 3, "unit": "furlong", "code": "[fur_us]"}}], "valueRange": {"text": "none"}}
            """
        let outcome = try #require(toOpenEHR.map(try JSONParser.parse(Array(observation.utf8))))
        #expect(!outcome.flat.members.contains { $0.key.contains("duration_any") || $0.key.contains("interval_quantity") }, "\(outcome.flat)")
        #expect(outcome.notes.contains { $0.hasPrefix("duration: a FHIR") && $0.contains("DV_DURATION") }, "\(outcome.notes)")
        #expect(outcome.notes.contains { $0.hasPrefix("range: a FHIR Range does not convert") }, "\(outcome.notes)")

        let media = """
              - name: "media"
                with: {fhir: "$resource.content.attachment", openehr: "\(Self.observation)/items[at0019]"}
            """
        let (documents, _, _) = try Self.engine(media, type: "DocumentReference")
        let document = #"{"resourceType": "DocumentReference", "status": "current", "content": [{"attachment": {"data": "iVBORw=="}}]}"#
        let noted = try #require(documents.map(try JSONParser.parse(Array(document.utf8))))
        #expect(!noted.flat.members.contains { $0.key.contains("multimedia_any") } && noted.notes.contains { $0.contains("DV_MULTIMEDIA") }, "\(noted.notes)")
    }
}
