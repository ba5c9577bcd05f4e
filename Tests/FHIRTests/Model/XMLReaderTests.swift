import FHIR
import Foundation
import JSONCore
import SocleTestSupport
import Testing

/// R4 §XML Representation: the spec examples in XML read to the same JSON
/// as their JSON renderings in the corpus.
@Suite struct XMLReaderTests {
    @Test(arguments: ["patient-example", "observation-example", "questionnaire-example", "codesystem-example"])
    func xmlReadsLikeItsJSONRendering(_ name: String) throws {
        let xml = try Data(contentsOf: Corpus.root.appendingPathComponent("fhir/fhirpath/input/\(name).xml"))
        let json = try JSONParser.parse(Array(Data(contentsOf: Corpus.root.appendingPathComponent("fhir/examples/fhir-test-cases/\(name).json"))))
        var fromXML = try FHIRXMLReader.json(xml)
        var expected = json
        // Where the two renderings differ in the corpus itself: the narrative's
        // markup (spacing, attribute order), the patient-age extension the
        // FHIRPath suite added to its XML copy of the observation, and a run of
        // spaces in the code system's description.
        func drop(_ json: inout JSON, _ keys: [String]) {
            guard case .object(var object) = json else { return }
            for key in keys { object[key] = nil }
            json = .object(object)
        }
        let description = { (json: JSON) in json["description"]?.stringValue.map { $0.split(separator: " ").joined(separator: " ") } }
        #expect(description(fromXML) == description(expected))
        drop(&fromXML, ["text", "description"] + (name == "observation-example" ? ["extension"] : []))
        drop(&expected, ["text", "description"])
        #expect(PatchSuiteTests.same(fromXML, expected), "\(JSONSerializer.string(fromXML))")
    }

    @Test func unknownElementsAndNonResourcesAreRefused() {
        #expect(throws: FHIRXMLReader.Failure.self) {
            try FHIRXMLReader.json(Data(#"<Patient xmlns="http://hl7.org/fhir"><nickname value="x"/></Patient>"#.utf8))
        }
        #expect(throws: FHIRXMLReader.Failure.self) { try FHIRXMLReader.json(Data(#"<Nothing xmlns="http://hl7.org/fhir"/>"#.utf8)) }
        #expect(throws: FHIRXMLReader.Failure.self) { try FHIRXMLReader.json(Data("<Patient".utf8)) }
    }

    /// Extensions nested 20,000 deep are refused at the bound, not walked; 200 levels read.
    @Test func deepNestingIsRefused() throws {
        func patient(_ depth: Int) -> Data {
            var xml = #"<Patient xmlns="http://hl7.org/fhir"><id value="x"/>"#
            xml += String(repeating: #"<extension url="http://example.org/e">"#, count: depth)
            xml += String(repeating: "</extension>", count: depth)
            xml += "</Patient>"
            return Data(xml.utf8)
        }
        let error = #expect(throws: FHIRXMLReader.Failure.self) { try FHIRXMLReader.json(patient(20_000)) }
        #expect(error?.message == "line 1: elements are nested deeper than 256 levels")
        let read = try FHIRXMLReader.json(patient(200))
        #expect(read["extension"]?.arrayValue?.first?["url"] == "http://example.org/e")
    }
}

extension XMLReaderTests {
    /// The XML examples of the corpus read into resources whose structure is
    /// valid, and whose JSON parses back to the same resource.
    @Test func everyXMLExampleReadsIntoAValidResource() throws {
        let files = try Corpus.files(in: "fhir/examples/fhir-test-cases", withExtension: "xml")
        #expect(files.count == 10)
        var failures: [String] = []
        for file in files {
            do {
                let resource = try FHIRResource.parseXML(Data(contentsOf: file))
                let again = try FHIRResource.parse(resource.serialized())
                if again.json != resource.json { failures.append("\(file.lastPathComponent): JSON round trip differs") }
            } catch {
                failures.append("\(file.lastPathComponent): \(error)")
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }
}
