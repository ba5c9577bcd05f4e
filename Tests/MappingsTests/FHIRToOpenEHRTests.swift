import Foundation
import JSONCore
import Mappings
import SocleTestSupport
import Templates
import Testing

/// FHIR → openEHR through openFHIR's test contexts, asserting the values
/// openFHIR's own tests assert (`BloodPressureToOpenEhrTest` in openFHIR's
/// public test sources), then reading the FLAT into a canonical composition
/// and validating it against the template.
@Suite struct FHIRToOpenEHRTests {
    struct Fixture {
        let engine: FHIRToOpenEHR
        let flat: FlatComposition
        let template: OperationalTemplate
    }

    static func fixture(_ folder: String, template file: String) throws -> Fixture {
        let library = CorpusMappingFilesTests.load(folder)
        let context = try #require(library.contexts.first)
        let url = Corpus.root.appendingPathComponent("fhir/mappings/\(folder)/\(file)")
        let template = try OPTParser().parse(try Data(contentsOf: url))
        let flat = FlatComposition(template: template)
        return Fixture(engine: FHIRToOpenEHR(context: context, template: MappingTemplate(webTemplate: flat.webTemplate)), flat: flat, template: template)
    }

    static func json(_ text: String) throws -> JSON { try JSONParser.parse(Array(text.utf8)) }

    /// A model mapping of the blood pressure archetype onto Observations: the header, then `mappings`.
    static func bloodPressureModel(_ body: String) -> String {
        model(archetype: "OBSERVATION.blood_pressure.v2", resource: "Observation", body)
    }

    /// A model mapping of an archetype (`OBSERVATION.blood_pressure.v2`) onto resources of a type: the header, then `body`.
    static func model(archetype: String, resource: String, _ body: String) -> String {
        """
        grammar: FHIRConnect/v1.0.0
        type: model
        metadata: {name: \(archetype), version: 1.0.0}
        spec:
          system: FHIR
          version: R4
          openEhrConfig: {archetype: openEHR-EHR-\(archetype)}
          fhirConfig: {structureDefinition: "http://hl7.org/fhir/StructureDefinition/\(resource)"}

        """ + body
    }

    /// The context of the blood pressure template for resources claiming `profile`.
    static func bloodPressureContext(profile: String) -> String {
        """
        grammar: FHIRConnect/v1.0.0
        type: context
        metadata: {name: bp, version: 1.0.0}
        spec: {system: FHIR, version: R4}
        context:
          profile: {url: "\(profile)"}
          template: {id: "Blood Pressure"}
          archetypes: ["OBSERVATION.blood_pressure.v2"]
          start: "OBSERVATION.blood_pressure.v2"
        """
    }

    /// An engine of a mapping written in the test, on openFHIR's Blood Pressure template.
    static func bloodPressureEngine(model: String, context: String) throws -> FHIRToOpenEHR {
        let library = MappingLibrary(files: [("model.yml", model), ("context.yml", context)])
        let resolved = try #require(library.contexts.first, "\(library.files.flatMap(\.problems))")
        let flatFormat = FlatComposition(template: try bloodPressureTemplate())
        return FHIRToOpenEHR(context: resolved, template: MappingTemplate(webTemplate: flatFormat.webTemplate))
    }

    /// openFHIR's test observation: components told apart by their LOINC
    /// codes, a body site with its coding, a code text, an interpretation.
    static let bloodPressureBundle = """
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {
          "resourceType": "Observation", "status": "final",
          "code": {"text": "description"},
          "subject": {"reference": "Patient/123"},
          "component": [
            {"valueQuantity": {"value": 123}},
            {"code": {"coding": [{"system": "loinc", "code": "8480-6"}]}, "valueQuantity": {"value": 456, "unit": "mm[Hg]"}},
            {"code": {"coding": [{"system": "loinc", "code": "8462-4"}]}, "valueQuantity": {"value": 789, "unit": "mm[Hg2]"}},
            {"interpretation": [{"text": "interpretation text"}]}
          ],
          "bodySite": {"coding": [{"system": "remotey", "code": "at00256"}], "text": "THIS IS LOCATION OF MEASUREMENT"}
        }}]}
        """

    @Test func bloodPressureBundleToFlat() throws {
        let fixture = try Self.fixture("openfhir/blood_pressure", template: "Blood Pressure.opt")
        let outcome = try #require(fixture.engine.map(try Self.json(Self.bloodPressureBundle)))
        let flat = outcome.flat
        #expect(outcome.notes.isEmpty, "\(outcome.notes)")
        func text(_ key: String) -> String? {
            switch flat[key] {
            case .string(let text)?: text
            case .number(let text)?: text
            default: nil
            }
        }
        let event = "blood_pressure/blood_pressure/any_event:0/"
        #expect(text(event + "systolic|magnitude").flatMap(Double.init) == 456)
        #expect(text(event + "systolic|unit") == "mm[Hg]")
        #expect(text(event + "diastolic|magnitude").flatMap(Double.init) == 789)
        #expect(text(event + "diastolic|unit") == "mm[Hg2]")
        #expect(text(event + "comment") == "description")
        #expect(text(event + "clinical_interpretation") == "interpretation text")
        #expect(text("blood_pressure/blood_pressure/location_of_measurement|code") == "at00256")
        #expect(text("blood_pressure/blood_pressure/location_of_measurement|value") == "at00256")
        #expect(text("blood_pressure/blood_pressure/location_of_measurement|terminology") == "remotey")
        // Constants of the mapping (manual), set whatever the input.
        #expect(text("blood_pressure/blood_pressure/a24_hour_average/position|code") == "at1000")
        #expect(text("blood_pressure/blood_pressure/a24_hour_average/position|value") == "at1000")
        #expect(text("blood_pressure/blood_pressure/a24_hour_average/position|terminology") == "openehr")
        #expect(text("blood_pressure/blood_pressure/a24_hour_average/confounding_factors") == "confounding factor")
        // The component without a code is no systolic pressure: 123 is nowhere.
        #expect(!flat.members.contains { $0.value == .number("123") }, "\(flat.keys)")
    }

    /// The FLAT the mapping writes is a composition of the template: the same
    /// path as every FLAT write (FlatComposition), then the template's validation.
    @Test func bloodPressureFlatBuildsTheComposition() throws {
        let fixture = try Self.fixture("openfhir/blood_pressure", template: "Blood Pressure.opt")
        var flat = try #require(fixture.engine.map(try Self.json(Self.bloodPressureBundle))).flat
        flat["ctx/language"] = "en"
        flat["ctx/territory"] = "DE"
        flat["ctx/composer_name"] = "Mapping test"
        let composition = try fixture.flat.composition(flat)
        let systolic = composition["content"]?.arrayValue?.first?["data"]?["events"]?.arrayValue?.first?["data"]?["items"]?.arrayValue?
            .first { $0["archetype_node_id"]?.stringValue == "at0004" }
        #expect(systolic?["value"]?["magnitude"] == .number("456"))
        #expect(systolic?["value"]?["units"]?.stringValue == "mm[Hg]")
    }

    /// A resource the start mapping's preprocessor refuses is not the context's to map.
    @Test func aResourceTheConditionsRefuseIsNotMapped() throws {
        let fixture = try Self.fixture("openfhir/growth_chart", template: "Growth chart.opt")
        let weight = """
            {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {
              "resourceType": "Observation", "status": "final",
              "category": [{"coding": [{"code": "weight"}]}],
              "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
              "effectiveDateTime": "2024-01-02T10:00:00Z",
              "valueQuantity": {"value": 72.5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
              "note": [{"text": "after breakfast"}]
            }}, {"resource": {
              "resourceType": "Observation", "status": "final",
              "category": [{"coding": [{"code": "something else"}]}],
              "valueQuantity": {"value": 99, "unit": "kg"}
            }}]}
            """
        let flat = try #require(fixture.engine.map(try Self.json(weight))).flat
        let weights = flat.members.filter { $0.key.hasSuffix("/weight|magnitude") }
        #expect(weights.map(\.value) == [.number("72.5")], "\(flat.keys)")
        let key = try #require(weights.first?.key)
        let event = String(key.dropLast("weight|magnitude".count))
        #expect(flat[event + "weight|unit"] == .string("kg"))
        #expect(flat[event + "time"] == .string("2024-01-02T10:00:00Z"))
        #expect(flat[event + "comment"] == .string("after breakfast"))
    }

    /// FHIRPath `resolve()` in a mapping path reaches the resource a
    /// reference names in the bundle; entries of the start mapping's type
    /// that carry the context's profile are the ones mapped.
    @Test func resolveFollowsAReferenceInTheBundle() throws {
        let model = Self.bloodPressureModel("""
            preprocessor:
              hierarchy:
                with: {fhir: "$resource", openehr: "$archetype/data[at0001]/events[at0006]"}
                split: {fhir: {create: "resource"}}
            mappings:
              - name: "source"
                with:
                  fhir: "$resource.derivedFrom.resolve().as(Observation).code.text"
                  openehr: "$archetype/data[at0001]/events[at0006]/data[at0003]/items[at0033]"
            """)
        let context = Self.bloodPressureContext(profile: "http://example.org/bp")
        let engine = try Self.bloodPressureEngine(model: model, context: context)
        let bundle = """
            {"resourceType": "Bundle", "type": "collection", "entry": [
              {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Observation", "id": "bp", "meta": {"profile": ["http://example.org/bp"]},
                "status": "final", "code": {"text": "bp"}, "derivedFrom": [{"reference": "Observation/src"}]}},
              {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Observation", "id": "src", "status": "final", "code": {"text": "from the source"}}}
            ]}
            """
        let flat = try #require(engine.map(try Self.json(bundle))).flat
        #expect(flat["blood_pressure/blood_pressure/any_event:0/comment"] == .string("from the source"), "\(flat.keys)")
        // Only the profiled entry is mapped: one event.
        #expect(!flat.keys.contains { $0.contains("any_event:1") })
        // A reference the bundle does not hold reaches nothing.
        let alone = bundle.replacingOccurrences(of: "Observation/src", with: "Observation/elsewhere")
        #expect(try #require(engine.map(try Self.json(alone))).flat["blood_pressure/blood_pressure/any_event:0/comment"] == nil)
    }

    /// A manual mapping's condition on `$resource` reads the resource, on
    /// `$fhirRoot` the method's element (FHIRconnect §Manual mappings, §Variables).
    @Test func manualConditionsReadTheResourceAndTheElement() throws {
        let model = Self.bloodPressureModel("""
            mappings:
              - name: "factors"
                with:
                  fhir: "$resource.code"
                  openehr: "$archetype/data[at0001]/events[at1042]/state[at0007]/items[at1052]"
                manual:
                  - name: "whenFinal"
                    openehr: [{path: "$openehrRoot", value: "final, coded"}]
                    fhirCondition: {targetRoot: "$resource", targetAttribute: "status", operator: "one of", criteria: "final"}
                  - name: "whenCoded"
                    openehr: [{path: "$openehrRoot", value: "coded only"}]
                    fhirCondition: {targetRoot: "$fhirRoot", targetAttribute: "coding.code", operator: "one of", criteria: "85354-9"}
            """)
        let context = Self.bloodPressureContext(profile: "Observation")
        let engine = try Self.bloodPressureEngine(model: model, context: context)
        let key = "blood_pressure/blood_pressure/a24_hour_average/confounding_factors"
        func factors(status: String, code: String) throws -> JSON? {
            let observation = """
                {"resourceType": "Observation", "status": "\(status)", "code": {"coding": [{"system": "http://loinc.org", "code": "\(code)"}]}}
                """
            return try #require(engine.map(try Self.json(observation))).flat[key]
        }
        // Both hold: the later manual mapping writes last.
        #expect(try factors(status: "final", code: "85354-9") == .string("coded only"))
        #expect(try factors(status: "final", code: "other") == .string("final, coded"))
        #expect(try factors(status: "preliminary", code: "85354-9") == .string("coded only"))
        #expect(try factors(status: "preliminary", code: "other") == nil)
    }

    /// A FHIR time mapped onto an event (FHIRconnect §EVENT): a dateTime is
    /// a POINT_EVENT at it, a Period an INTERVAL_EVENT whose time is its end
    /// and width its length (RM data structures §INTERVAL_EVENT: it starts
    /// at time − width), math function `actual`; and back, the Period again.
    @Test func aTimeOnAnEventIsAPointOrAnIntervalEvent() throws {
        let model = Self.bloodPressureModel("""
            mappings:
              - name: "event"
                with: {fhir: "$resource", openehr: "$archetype/data[at0001]/events[at0006]"}
                followedBy:
                  mappings:
                    - name: "eventTime"
                      with: {fhir: "effective", openehr: "$openehrRoot"}
            """)
        let context = Self.bloodPressureContext(profile: "http://hl7.org/fhir/StructureDefinition/Observation")
        let engine = try Self.bloodPressureEngine(model: model, context: context)
        func flat(_ effective: String) throws -> JSONObject {
            let observation = """
                {"resourceType": "Observation", "status": "final", "code": {"text": "bp"}, \(effective)}
                """
            return try #require(engine.map(try Self.json(observation))).flat
        }
        let event = "blood_pressure/blood_pressure/any_event:0"
        let point = try flat(#""effectiveDateTime": "2024-01-02T10:00:00+01:00""#)
        #expect(point[event + "/time"] == .string("2024-01-02T10:00:00+01:00") && point[event + "/width"] == nil, "\(point)")
        let interval = try flat(#""effectivePeriod": {"start": "2024-01-02T09:30:00+01:00", "end": "2024-01-02T10:00:00+01:00"}"#)
        #expect(interval[event + "/time"] == .string("2024-01-02T10:00:00+01:00"), "\(interval)")
        #expect(interval[event + "/width"] == .string("PT30M") && interval[event + "/math_function|code"] == .string("640"), "\(interval)")

        // Back: the composition's interval event is the Period, its point event the dateTime.
        let back = OpenEHRToFHIR(context: engine.context, template: engine.template)
        let composition = try FlatComposition(template: try Self.bloodPressureTemplate()).composition(interval)
        #expect(composition["content"]?.arrayValue?.first?["data"]?["events"]?.arrayValue?.first?["_type"] == "INTERVAL_EVENT", "\(composition)")
        let flatAgain = FlatComposition(template: try Self.bloodPressureTemplate()).flat(composition)
        let period = back.map(flat: flatAgain).resources.first?["effectivePeriod"]
        #expect(period == ["start": "2024-01-02T09:30:00+01:00", "end": "2024-01-02T10:00:00+01:00"], "\(String(describing: period))")
        let pointBack = back.map(flat: FlatComposition(template: try Self.bloodPressureTemplate()).flat(
            try FlatComposition(template: try Self.bloodPressureTemplate()).composition(point)))
        #expect(pointBack.resources.first?["effectiveDateTime"] == "2024-01-02T10:00:00+01:00", "\(pointBack.resources)")
    }

    static func bloodPressureTemplate() throws -> OperationalTemplate {
        let url = Corpus.root.appendingPathComponent("fhir/mappings/openfhir/blood_pressure/Blood Pressure.opt")
        return try OPTParser().parse(try Data(contentsOf: url))
    }
}
