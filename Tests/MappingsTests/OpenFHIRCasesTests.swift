import Foundation
import JSONCore
import Mappings
import SocleTestSupport
import Templates
import Testing

/// openFHIR's own cases beside blood pressure and KDS (issue 15 "must
/// show"), run through Socle's engine on the corpus files: each FLAT
/// composition read into a composition of its template, mapped to FHIR, and
/// the values openFHIR's tests assert (its `GrowthChartToFhirTest`,
/// `medicationOrderToFhir`) asserted here.
@Suite struct OpenFHIRCasesTests {
    /// An openFHIR case folder: its context, the template as a FLAT format and as the engine reads it.
    struct Case {
        let context: ResolvedContext
        let format: FlatComposition
        let template: MappingTemplate
        let operational: OperationalTemplate
        let base: URL

        /// `fixes`: text replaced in a file of the folder before it is loaded, for an error of the file (named where used).
        init(folder: String, template file: String, fixes: [String: [(String, String)]] = [:]) throws {
            let directory = Corpus.root.appendingPathComponent("fhir/mappings/openfhir/" + folder)
            let library = CorpusMappingFilesTests.load("openfhir/" + folder, fixes: fixes)
            base = directory
            context = try #require(library.contexts.first, "\(CorpusMappingFilesTests.report(library))")
            operational = try OPTParser().parse(try Data(contentsOf: directory.appendingPathComponent(file)))
            format = FlatComposition(template: operational)
            template = MappingTemplate(webTemplate: format.webTemplate)
        }

        /// A corpus FLAT file of the folder.
        func flat(_ name: String) throws -> JSONObject {
            try #require(try JSONParser.parse(Array(try Data(contentsOf: base.appendingPathComponent(name)))).objectValue)
        }

        /// The resources the context makes of a FLAT composition, read through
        /// the template first (as openFHIR's tests unmarshal it). `zone`: the
        /// one date-times without theirs are read in (openFHIR's tests ran in Europe/Berlin).
        func toFHIR(_ given: JSONObject, zone: TimeZone? = nil) throws -> FHIRMappingOutcome {
            let composition = try format.composition(given)
            let engine = zone.map { OpenEHRToFHIR(context: context, template: template, zone: $0) } ?? OpenEHRToFHIR(context: context, template: template)
            return engine.map(flat: format.flat(composition))
        }

        /// The FLAT composition the context makes of a FHIR resource or
        /// bundle, read through the template, with the engine's notes and
        /// what the template validator finds wrong with it (`path: message`).
        func toOpenEHR(_ resource: JSON) throws -> (flat: JSONObject, notes: [String], problems: [String]) {
            let outcome = try #require(FHIRToOpenEHR(context: context, template: template).map(resource))
            let composition = try format.composition(outcome.flat)
            let problems = TemplateValidator().validate(composition, against: operational).map { "\($0.path): \($0.message)" }
            return (format.flat(composition), outcome.notes, problems)
        }
    }

    /// The resources the folder's context makes of its corpus FLAT file.
    static func resources(
        folder: String, template file: String, flat: String, fixes: [String: [(String, String)]] = [:], zone: TimeZone? = nil
    ) throws -> FHIRMappingOutcome {
        let mapped = try Case(folder: folder, template: file, fixes: fixes)
        return try mapped.toFHIR(try mapped.flat(flat), zone: zone)
    }

    static func count(_ resources: [JSON], _ code: String) -> Int {
        resources.filter { $0["category"]?.arrayValue?.first?["coding"]?.arrayValue?.first?["code"]?.stringValue == code }.count
    }

    /// The resources whose first category coding has `code`, by their effective time.
    static func byCategory(_ resources: [JSON], _ code: String) -> [String: JSON] {
        var found: [String: JSON] = [:]
        for resource in resources where resource["category"]?.arrayValue?.first?["coding"]?.arrayValue?.first?["code"]?.stringValue == code {
            found[String(resource["effectiveDateTime"]?.stringValue?.prefix(19) ?? "")] = resource
        }
        return found
    }

    /// openFHIR's composition model gives height, BMI and head circumference the body weight's
    /// event path (`data[at0002]/events[at0003]`); their archetypes' own, as their models name
    /// them, are `data[at0001]/events[at0002]` and `data[at0001]/events[at0010]`.
    static let growthChartFixes: [String: [(String, String)]] = {
        let wrong = "]/data[at0002]/events[at0003]"
        return ["growth-chart.model.yml": [("OBSERVATION.height.v2" + wrong, "OBSERVATION.height.v2]/data[at0001]/events[at0002]"),
            ("OBSERVATION.body_mass_index.v2" + wrong, "OBSERVATION.body_mass_index.v2]/data[at0001]/events[at0002]"),
            ("OBSERVATION.head_circumference.v1" + wrong, "OBSERVATION.head_circumference.v1]/data[at0001]/events[at0010]")]]
    }()

    /// openFHIR's growth chart bundle (`GrowthChartToOpenEhrTest`): weights,
    /// heights, BMIs and head circumferences told apart by category, each
    /// an entry; `time` nil where the test gives the Observation no effective time.
    static func growthChartBundle() -> JSON {
        func observation(_ category: String, _ value: Int, _ unit: String, _ codes: [(String, String)], hour: Int?, status: String? = nil, note: String? = nil) -> JSON {
            var resource = JSONObject([("resourceType", "Observation"), ("category", [["coding": [["code": .string(category)]]]])])
            if let status { resource["status"] = .string(status) }
            resource["code"] = ["coding": .array(codes.map { ["system": .string($0.0), "code": .string($0.1)] })]
            if let hour { resource["effectiveDateTime"] = .string(String(format: "2020-10-07T%02d:00:00+02:00", hour)) }
            resource["valueQuantity"] = ["value": JSON(value), "unit": .string(unit)]
            if let note { resource["note"] = [["text": .string(note)]] }
            return .object(resource)
        }
        func coded(_ code: String) -> [(String, String)] { [("firstThing", "ppoo"), ("snomed", "x"), ("loinc", code), ("thirdThing", "xxyy")] }
        var entries: [JSON] = []
        for (index, timed, note) in [(0, false, nil), (1, true, nil), (3, true, "just too fat")] as [(Int, Bool, String?)] {
            entries.append(observation("weight", 65 + index, "kg", coded("29463-7"), hour: timed ? index : nil, note: note))
        }
        for (index, height, unit) in [(0, true, "cm"), (20, true, "cm"), (30, false, "cm"), (40, true, "m")] {
            entries.append(observation("height", 180 + index, unit, height ? coded("8302-2") : [("loinc", "not a height entry")], hour: nil))
        }
        for index in 0..<3 { entries.append(observation("bmi", 20 + index, "kg/m2", coded("39156-5"), hour: index)) }
        for index in 1...4 { entries.append(observation("head_circumference", 53 + index, "cm", [("loinc", "8287-5")], hour: index, status: index < 4 ? "final" : nil)) }
        return ["resourceType": "Bundle", "type": "collection", "entry": .array(entries.enumerated().map { ["fullUrl": .string("urn:uuid:gc-\($0.offset)"), "resource": $0.element] })]
    }

    /// openFHIR's growth chart the other way (`GrowthChartToOpenEhrTest`):
    /// one composition with an event per Observation of each kind, in the
    /// bundle's order, with its value, unit and time; the fourth head
    /// circumference is not final (the model's condition) and is left out;
    /// the weight without an effective time has no event time of its own.
    @Test func growthChartToOpenEHR() throws {
        let chart = try Case(folder: "growth_chart", template: "Growth chart.opt", fixes: Self.growthChartFixes)
        let outcome = try #require(FHIRToOpenEHR(context: chart.context, template: chart.template).map(Self.growthChartBundle()))
        let flat = outcome.flat
        func quantity(_ path: String) -> String? {
            guard let magnitude = flat[path + "|magnitude"].flatMap({ Double(JSONSerializer.string($0)) }), let unit = flat[path + "|unit"]?.stringValue else { return nil }
            return "\(magnitude) \(unit)"
        }
        func events(_ observation: String, _ element: String) -> [String] {
            (0..<6).compactMap { quantity("growth_chart/\(observation)/any_event:\($0)/\(element)") }
        }
        #expect(events("body_weight", "weight") == ["65.0 kg", "66.0 kg", "68.0 kg"], "\(outcome.notes)")
        #expect(flat["growth_chart/body_weight/any_event:0/time"] == nil)
        #expect(flat["growth_chart/body_weight/any_event:1/time"] == "2020-10-07T01:00:00+02:00")
        #expect(flat["growth_chart/body_weight/any_event:2/time"] == "2020-10-07T03:00:00+02:00")
        #expect(flat["growth_chart/body_weight/any_event:2/comment"] == "just too fat")
        #expect(events("body_mass_index", "body_mass_index") == ["20.0 kg/m2", "21.0 kg/m2", "22.0 kg/m2"])
        #expect((0..<3).map { flat["growth_chart/body_mass_index/any_event:\($0)/time"]?.stringValue } == (0..<3).map { "2020-10-07T0\($0):00:00+02:00" })
        // openFHIR's test expects three heights: the model it ran then wrote a height only for LOINC 8302-2;
        // the corpus model has no such condition, so the Observation of category height coded otherwise is one too.
        #expect(events("height_length", "height_length") == ["180.0 cm", "200.0 cm", "210.0 cm", "220.0 m"])
        #expect(events("head_circumference", "head_circumference") == ["54.0 cm", "55.0 cm", "56.0 cm"])
        #expect((0..<3).map { flat["growth_chart/head_circumference/any_event:\($0)/time"]?.stringValue } == (1...3).map { "2020-10-07T0\($0):00:00+02:00" })
        // Read through the template (the RM half of openFHIR's test): valid but for the height openFHIR's
        // test gives in m, where the template allows cm and [in_i].
        let composition = try chart.format.composition(flat)
        let problems = TemplateValidator().validate(composition, against: chart.operational).map(\.message)
        #expect(problems == ["'m' is not a unit the template allows (cm, [in_i])"], "\(problems)")
        let weight = Self.node(composition, ["openEHR-EHR-OBSERVATION.body_weight.v2", "at0002", "at0003", "at0001", "at0004"])?["value"]
        #expect(weight?["magnitude"].flatMap { Double(JSONSerializer.string($0)) } == 65 && weight?["units"] == "kg", "\(String(describing: weight))")
    }

    /// openFHIR's growth chart (`GrowthChartToFhirTest`): 12 Observations,
    /// three of each kind (the corpus file's heights and BMIs are equal), the
    /// weights and head circumferences with the values, units, times and
    /// comments of the FLAT file.
    @Test func growthChartToFHIR() throws {
        let outcome = try Self.resources(
            folder: "growth_chart", template: "Growth chart.opt", flat: "growth_chart_flat.json", fixes: Self.growthChartFixes)
        // Equal Observations of three events are three (three heights of 500 cm without a time).
        #expect(outcome.resources.count == 12, "\(outcome.notes)")
        #expect(Self.count(outcome.resources, "height") == 3)
        #expect(Self.count(outcome.resources, "bmi") == 3)
        let weights = Self.byCategory(outcome.resources, "weight")
        #expect(weights.count == 3, "\(weights.keys)")
        for (time, value, unit, note) in [
            ("2022-02-03T04:05:06", "501.0", "kg", "body_weightLorem ipsum0"), ("2022-02-04T04:05:06", "502.0", "t", "body_weightLorem ipsum1"),
            ("2022-02-05T04:05:06", "503.0", "mm", "body_weightLorem ipsum2"),
        ] {
            let weight = weights[time]
            #expect(weight?["valueQuantity"]?["value"].flatMap { Double(JSONSerializer.string($0)) } == Double(value), "\(time)")
            #expect(weight?["valueQuantity"]?["unit"]?.stringValue == unit, "\(time)")
            #expect(weight?["note"]?.arrayValue?.first?["text"]?.stringValue == note, "\(time)")
        }
        let heads = Self.byCategory(outcome.resources, "head_circumference")
        #expect(heads.count == 3, "\(heads.keys)")
        for (time, value, unit) in [("2023-02-03T04:05:06", 50.0, "cm"), ("2023-02-04T04:05:06", 51.0, "mm"), ("2023-02-05T04:05:06", 52.0, "m")] {
            #expect(heads[time]?["valueQuantity"]?["value"].flatMap { Double(JSONSerializer.string($0)) } == value, "\(time)")
            #expect(heads[time]?["valueQuantity"]?["unit"]?.stringValue == unit, "\(time)")
        }
    }

    /// openFHIR's medication order (`medicationOrderToFhir`): two
    /// MedicationRequests, told apart by their notes, each with its
    /// medication's text, the first with its dose and additional instruction.
    @Test func medicationOrderBothWays() throws {
        let order = try Case(folder: "medication_order", template: "medication order.opt")
        let outcome = try order.toFHIR(try order.flat("medication_order_flat.json"))
        #expect(outcome.resources.count == 2, "\(outcome.notes)")
        func notes(_ resource: JSON) -> [String] { resource["note"]?.arrayValue?.compactMap { $0["text"]?.stringValue } ?? [] }
        func medication(_ resource: JSON) -> JSON? {
            guard let reference = resource["medicationReference"]?["reference"]?.stringValue, reference.hasPrefix("#") else { return nil }
            return resource["contained"]?.arrayValue?.first { "#" + ($0["id"]?.stringValue ?? "") == reference }
        }
        let one = try #require(outcome.resources.first { notes($0).contains { $0.hasPrefix("Additional instruction on one") } }, "\(outcome.resources)")
        let two = try #require(outcome.resources.first { notes($0).contains { $0.hasPrefix("Additional instruction on two") } })
        let dose = one["dosageInstruction"]?.arrayValue?.first?["doseAndRate"]?.arrayValue?.first?["doseQuantity"]
        #expect(dose?["value"].flatMap { Double(JSONSerializer.string($0)) } == 21.0 && dose?["unit"] == "mm", "\(one)")
        #expect(Set(notes(one)) == ["Additional instruction on one first", "Additional instruction on one second"])
        #expect(Set(notes(two)) == ["Additional instruction on two first", "Additional instruction on two second", "Additional instruction on two third"])
        #expect(medication(one)?["code"]?["text"] == "Lorem ipsum0", "\(JSONSerializer.string(one))")
        #expect(medication(two)?["code"]?["text"] == "Lorem ipsum1")
        #expect(one["authoredOn"] == nil)
        let instruction = one["dosageInstruction"]?.arrayValue?.first?["additionalInstruction"]?.arrayValue?.first?["coding"]?.arrayValue?.first
        #expect(instruction?["code"] == "at0067" && instruction?["system"] == "local", "\(one)")
        #expect(two["dosageInstruction"] == nil, "\(two)")
        #expect(two["authoredOn"]?.stringValue?.hasPrefix("2022-02-03T04:05:06") == true, "\(two)")

        // Back (`MedicationOrderBidirectionalTest`): the two MedicationRequests, each with its contained Medication, are one composition again.
        let bundle: JSON = ["resourceType": "Bundle", "type": "collection", "entry": .array(outcome.resources.map { ["resource": $0] })]
        let back = try order.toOpenEHR(bundle)
        // Valid but for the dose's unit: openFHIR's data gives 21 mm where the template allows only the unit 1.
        #expect(!back.problems.isEmpty && back.problems.allSatisfy { $0.contains("items[at0144]/value/units: 'mm' is not a unit the template allows (1)") }, "\(back.problems)")
        let composition = try order.format.composition(back.flat)
        let description = ["openEHR-EHR-INSTRUCTION.medication_order.v2", "at0001", "at0002"]
        let texts = Self.nodes(composition, description + ["at0070"]).compactMap { $0["value"]?["value"]?.stringValue }
        #expect(Set(texts) == ["Lorem ipsum0", "Lorem ipsum1"], "\(back.notes)")
        let doses = Self.nodes(composition, description + ["openEHR-EHR-CLUSTER.therapeutic_direction.v1", "openEHR-EHR-CLUSTER.dosage.v1", "at0144"])
        #expect(!doses.isEmpty && doses.allSatisfy { $0["value"]?["magnitude"].flatMap { Double(JSONSerializer.string($0)) } == 21 && $0["value"]?["units"] == "mm" })
        let instructions = Self.nodes(composition, description + ["at0044"]).compactMap { $0["value"]?["value"]?.stringValue }
        #expect(instructions.count == 5 && ["one first", "one second", "two first", "two second", "two third"].allSatisfy { part in
            instructions.contains { $0.hasPrefix("Additional instruction on " + part) }
        }, "\(instructions)")
        let starts = Self.nodes(composition, description + ["at0113", "at0012"]).compactMap { $0["value"]?["value"]?.stringValue }
        #expect(starts.count == 1 && starts.first?.hasPrefix("2022-02-03T04:05") == true, "\(starts)")
        let duration = Self.node(composition, description + ["openEHR-EHR-CLUSTER.therapeutic_direction.v1", "at0066"])?["value"]
        #expect(duration?["value"] == "Indefinite" && duration?["defining_code"]?["code_string"] == "at0067", "\(String(describing: duration))")
    }

    /// openFHIR's medication order from FHIR (`MedicationOrderToOpenEhrTest`,
    /// `medicationOrderToOpenEhrToFhir`): a bundle of a Medication and a
    /// MedicationRequest naming it is one composition with the medication's
    /// text and the dose; that composition is one MedicationRequest again
    /// with both, and it maps to the same FLAT composition as the first bundle.
    @Test func medicationOrderFromFHIRAndBack() throws {
        let order = try Case(folder: "medication_order", template: "medication order.opt")
        let bundle: JSON = [
            "resourceType": "Bundle", "type": "collection",
            "entry": [
                ["fullUrl": "Medication/m1", "resource": ["resourceType": "Medication", "id": "m1", "code": ["text": "medication text"]]],
                ["resource": [
                    "resourceType": "MedicationRequest", "medicationReference": ["reference": "Medication/m1"],
                    "dosageInstruction": [["doseAndRate": [["doseQuantity": ["value": 111, "unit": "unit"]]]]],
                ]],
            ],
        ]
        let first = try order.toOpenEHR(bundle)
        // Valid but for the dose's unit: openFHIR's test sends 111 "unit" where the template allows only the unit 1.
        #expect(first.problems.count == 1 && first.problems.first?.contains("'unit' is not a unit the template allows (1)") == true, "\(first.problems)")
        let composition = try order.format.composition(first.flat)
        let description = ["openEHR-EHR-INSTRUCTION.medication_order.v2", "at0001", "at0002"]
        #expect(Self.node(composition, description + ["at0070"])?["value"]?["value"] == "medication text", "\(first.notes)")
        let dose = Self.node(composition, description + ["openEHR-EHR-CLUSTER.therapeutic_direction.v1", "openEHR-EHR-CLUSTER.dosage.v1", "at0144"])?["value"]
        #expect(dose?["magnitude"].flatMap { Double(JSONSerializer.string($0)) } == 111 && dose?["units"] == "unit", "\(String(describing: dose))")

        let resources = try order.toFHIR(first.flat).resources
        #expect(resources.count == 1)
        let request = try #require(resources.first)
        let reference = try #require(request["medicationReference"]?["reference"]?.stringValue)
        let medication = request["contained"]?.arrayValue?.first { "#" + ($0["id"]?.stringValue ?? "") == reference }
        #expect(medication?["code"]?["text"] == "medication text", "\(JSONSerializer.string(request))")
        let quantity = request["dosageInstruction"]?.arrayValue?.first?["doseAndRate"]?.arrayValue?.first?["doseQuantity"]
        #expect(quantity?["value"].flatMap { Double(JSONSerializer.string($0)) } == 111 && quantity?["unit"] == "unit")
        // openFHIR's `compareFlatJsons`: the resources made back map to the same FLAT composition.
        let again = try order.toOpenEHR(["resourceType": "Bundle", "type": "collection", "entry": .array(resources.map { ["resource": $0] })])
        #expect(again.flat == first.flat, "\(JSONSerializer.string(.object(again.flat))) vs \(JSONSerializer.string(.object(first.flat)))")
    }

    /// openFHIR's NEWS2 encounter (its NEWS2 test, openEHR → FHIR): one
    /// Observation per archetype, told apart by their SNOMED CT codes, with
    /// the score components as ordinals (value, code, symbol as unit) and the
    /// vital signs' values and units.
    @Test func news2ToFHIR() throws {
        let outcome = try Self.resources(folder: "news2", template: "NEWS2 Encounter Parent.opt", flat: "news2_encounter_parent_FLAT.json")
        func coded(_ code: String) -> [JSON] {
            outcome.resources.filter { $0["code"]?["coding"]?.arrayValue?.first?["code"]?.stringValue == code }
        }
        func category(_ resource: JSON?) -> String? { resource?["category"]?.arrayValue?.first?["coding"]?.arrayValue?.first?["code"]?.stringValue }
        func component(_ resource: JSON?, _ code: String) -> JSON? {
            let found = resource?["component"]?.arrayValue?.filter { $0["code"]?["coding"]?.arrayValue?.first?["code"]?.stringValue == code } ?? []
            #expect(found.count == 1, "component \(code)")
            return found.first?["valueQuantity"]
        }
        func number(_ json: JSON?) -> Double? { json.flatMap { Double(JSONSerializer.string($0)) } }

        let news2 = coded("1104051000000101")
        #expect(news2.count == 1, "\(outcome.notes)")
        #expect(news2.first?["status"] == "final" && category(news2.first) == "survey" && number(news2.first?["valueQuantity"]?["value"]) == 9)
        for (code, value, ordinal, symbol) in [
            ("1104301000000104", 3.0, "at0064", "≥25"), ("1104311000000102", 2, "at0032", "92-93"), ("1104331000000105", 0, "at0036", "Air"),
            ("1104341000000101", 2, "at0016", "91-100"), ("1104361000000100", 0, "at0024", "Alert"), ("1104371000000107", 3, "at0039", "≤35.0"),
            ("1104351000000103", 1, "at0012", "41-50"),
        ] {
            let quantity = component(news2.first, code)
            #expect(number(quantity?["value"]) == value && quantity?["code"]?.stringValue == ordinal && quantity?["unit"]?.stringValue == symbol, "\(code): \(String(describing: quantity))")
        }
        let acvpu = coded("1104441000000107")
        #expect(acvpu.count == 1 && acvpu.first?["status"] == "final" && category(acvpu.first) == "survey")
        #expect(acvpu.first?["valueCodeableConcept"]?["coding"]?.arrayValue?.first?["code"] == "at0015" && acvpu.first?["valueCodeableConcept"]?["text"] == "Confusion")

        let pressure = coded("75367002")
        #expect(pressure.count == 1 && pressure.first?["status"] == "final" && category(pressure.first) == "vital-signs")
        #expect(pressure.first?["bodySite"]?["coding"]?.arrayValue?.first?["code"] == "at0028" && pressure.first?["bodySite"]?["text"] == "Left thigh")
        for (code, value) in [("1091811000000102", 175.0), ("72313002", 335.0)] {
            let quantity = component(pressure.first, code)
            #expect(number(quantity?["value"]) == value && quantity?["unit"] == "mm[Hg]", "\(code)")
        }
        for (code, value, unit) in [("276885007", 2.1, "Cel"), ("364075005", 120.0, "/min"), ("86290005", 183.0, "/min")] {
            let found = coded(code)
            #expect(found.count == 1 && found.first?["status"] == "final" && category(found.first) == "vital-signs", "\(code)")
            #expect(number(found.first?["valueQuantity"]?["value"]) == value && found.first?["valueQuantity"]?["unit"]?.stringValue == unit, "\(code)")
        }
        let oximetry = coded("103228002")
        #expect(oximetry.count == 1 && oximetry.first?["status"] == "final" && category(oximetry.first) == "vital-signs")
        let saturation = oximetry.first?["valueQuantity"]
        #expect(number(saturation?["value"]) == 37.6 && saturation?["code"] == "%" && saturation?["system"] == "http://unitsofmeasure.org", "\(String(describing: saturation))")
        // openFHIR writes the unit's name ("percent"); Socle the UCUM code as unit too ("%", R4 Quantity.unit: a representation of the unit).
        #expect(saturation?["unit"] == "%", "\(String(describing: saturation))")
    }

    /// The node below `composition` reached by archetype node ids, each one
    /// level down (`["openEHR-EHR-OBSERVATION.news2.v1", "at0001", "at0002", …]`).
    static func node(_ composition: JSON, _ ids: [String]) -> JSON? { nodes(composition, ids).first }

    /// Every node below `composition` reached by archetype node ids, one level down each.
    static func nodes(_ composition: JSON, _ ids: [String]) -> [JSON] {
        func children(_ json: JSON) -> [JSON] {
            (json.objectValue?.members ?? []).flatMap { member -> [JSON] in
                if let items = member.value.arrayValue { return items }
                return member.value.objectValue != nil ? [member.value] : []
            }
        }
        return ids.reduce([composition]) { found, id in found.flatMap { children($0).filter { $0["archetype_node_id"]?.stringValue == id } } }
    }

    /// openFHIR's NEWS2 encounter the other way (its NEWS2 test, FHIR →
    /// openEHR): the example bundle's eight Observations are one
    /// composition with the total score, the component scores as ordinals
    /// (the template gives each its symbol: openFHIR writes the UCUM
    /// annotation `ScoreOf` there), ACVPU, blood pressure, temperature,
    /// pulse and SpO₂.
    @Test func news2ToOpenEHR() throws {
        let news = try Case(folder: "news2", template: "NEWS2 Encounter Parent.opt")
        let bundle = try JSONParser.parse(Array(try Data(contentsOf: news.base.appendingPathComponent("exampleBundle.json"))))
        let outcome = try news.toOpenEHR(bundle)
        // Valid but for two scores of 1 sent as `{ScoreOf}` Quantities, which name no symbol where
        // the template has two ordinals of 1 (items at0005 and at0007): a 422 on the FHIR face.
        #expect(outcome.problems.count == 2 && outcome.problems.allSatisfy { $0.contains("ordinal 1 with symbol") }, "\(outcome.problems)")
        let composition = try news.format.composition(outcome.flat)
        let news2 = ["openEHR-EHR-OBSERVATION.news2.v1", "at0001", "at0002", "at0003"]
        #expect(Self.node(composition, news2 + ["at0028"])?["value"]?["magnitude"].flatMap { Int(JSONSerializer.string($0)) } == 6, "\(outcome.notes)")
        #expect(Self.node(composition, Array(news2.dropLast()))?["time"]?["value"]?.stringValue?.hasPrefix("2018-10-04") == true)
        for (item, ordinal) in [("at0006", 2), ("at0029", 2), ("at0034", 0), ("at0004", 0), ("at0005", 1), ("at0008", 0), ("at0007", 1)] {
            #expect(Self.node(composition, news2 + [item])?["value"]?["value"].flatMap { Int(JSONSerializer.string($0)) } == ordinal, "\(item)")
        }
        // A local code reads as the template's term ("Pain"), not as the display the bundle sends ("Mentally alert").
        let acvpu = Self.node(composition, ["openEHR-EHR-OBSERVATION.acvpu.v1", "at0001", "at0002", "at0003", "at0004"])?["value"]
        #expect(acvpu?["value"] == "Pain" && acvpu?["defining_code"]?["code_string"] == "at0007", "\(String(describing: acvpu))")
        // Quantities keep their UCUM code as units (openFHIR writes the unit's name, "millimeter of mercury").
        let systolic = Self.node(composition, ["openEHR-EHR-OBSERVATION.blood_pressure.v2", "at0001", "at0006", "at0003", "at0004"])?["value"]
        #expect(systolic?["magnitude"].flatMap { Double(JSONSerializer.string($0)) } == 120 && systolic?["units"] == "mm[Hg]", "\(String(describing: systolic))")
        #expect(Self.node(composition, ["openEHR-EHR-OBSERVATION.blood_pressure.v2", "at0011", "at0014"])?["value"]?["value"] == "Left thigh")
        let temperature = Self.node(composition, ["openEHR-EHR-OBSERVATION.body_temperature.v2", "at0002", "at0003", "at0001", "at0004"])?["value"]
        #expect(temperature?["magnitude"].flatMap { Double(JSONSerializer.string($0)) } == 37.5 && temperature?["units"] == "Cel", "\(String(describing: temperature))")
        let pulse = Self.node(composition, ["openEHR-EHR-OBSERVATION.pulse.v2", "at0002", "at0003", "at0001", "at0004"])?["value"]
        // The bundle's `{beats}/min`: its annotation means nothing (UCUM §2.7), and the template allows `/min`.
        #expect(pulse?["magnitude"].flatMap { Double(JSONSerializer.string($0)) } == 95 && pulse?["units"] == "/min", "\(String(describing: pulse))")
        let saturation = Self.node(composition, ["openEHR-EHR-OBSERVATION.pulse_oximetry.v1", "at0001", "at0002", "at0003", "at0006"])?["value"]
        #expect(saturation?["numerator"].flatMap { Double(JSONSerializer.string($0)) } == 93 && saturation?["denominator"].flatMap { Double(JSONSerializer.string($0)) } == 100, "\(String(describing: saturation))")
        #expect(saturation?["type"] == 2)
    }

    /// FHIRconnect §DV_ORDINAL, CodeableConcept: a score sent as a concept
    /// (its code one of the template's) is the ordinal of that code. NEWS2's
    /// model maps its respiration rate score from a Quantity; here from a concept.
    @Test func anOrdinalFromAConcept() throws {
        let quantity = "fhir: \"value.as(Quantity)\"\n            openehr: \"items[at0006]\""
        let concept = "fhir: \"value.as(CodeableConcept)\"\n            openehr: \"items[at0006]\""
        let news = try Case(folder: "news2", template: "NEWS2 Encounter Parent.opt", fixes: ["NEWS2_Model_Mapping.model.yaml": [(quantity, concept)]])
        var text = try String(contentsOf: news.base.appendingPathComponent("exampleBundle.json"), encoding: .utf8)
        // The respiration rate score (2): at0020 in the template's list, sent as a concept.
        let sent = #""valueQuantity": {"value": 2, "unit": "ScoreOf", "system": "http://unitsofmeasure.org", "code": "{ScoreOf}"}"#
        let bundle = try JSONParser.parse(Array(text.utf8))
        text = JSONSerializer.string(bundle)
        let compact = sent.replacingOccurrences(of: ": ", with: ":").replacingOccurrences(of: ", ", with: ",")
        #expect(text.contains(compact))
        text = text.replacingOccurrences(of: compact, with: #""valueCodeableConcept":{"coding":[{"system":"local","code":"at0020"}]}"#)
        let outcome = try news.toOpenEHR(try JSONParser.parse(Array(text.utf8)))
        // The score sent as a concept is valid; the example bundle's other scores of 1 name no symbol
        // (`{ScoreOf}` is none) where the template has two ordinals of 1: those stay invalid (a 422 on the FHIR face).
        #expect(!outcome.problems.contains { $0.contains("items[at0006]") } && outcome.problems.allSatisfy { $0.contains("ordinal 1 with symbol") }, "\(outcome.problems)")
        let score = Self.node(try news.format.composition(outcome.flat), ["openEHR-EHR-OBSERVATION.news2.v1", "at0001", "at0002", "at0003", "at0006"])?["value"]
        #expect(score?["_type"] == "DV_ORDINAL" && score?["value"].flatMap { Int(JSONSerializer.string($0)) } == 2, "\(String(describing: score)) \(outcome.notes)")
        #expect(score?["symbol"]?["defining_code"]?["code_string"] == "at0020")
    }

    /// The resource a reference names among the contained resources of `container` (`#id`).
    static func contained(_ reference: JSON?, in container: JSON) -> JSON? {
        guard let text = reference?["reference"]?.stringValue, text.hasPrefix("#") else { return nil }
        return container["contained"]?.arrayValue?.first { "#" + ($0["id"]?.stringValue ?? "") == text }
    }

    /// openFHIR's problem list (`ProblemListToFhirTest`): the FHIR
    /// Composition's section names a Condition whose evidence names an
    /// Observation, whose value is the analyte's text, or its coded text.
    @Test(arguments: [("flat_textvalue.json", false), ("flat_codeableconcept.json", true)])
    func problemListToFHIR(flat: String, coded: Bool) throws {
        let outcome = try Self.resources(folder: "problemlist", template: "ProblemList.opt", flat: flat)
        let composition = try #require(outcome.resources.first { $0["resourceType"] == "Composition" }, "\(outcome.notes)")
        let condition = Self.contained(composition["section"]?.arrayValue?.first?["entry"]?.arrayValue?.first, in: composition)
        #expect(condition?["resourceType"] == "Condition", "\(JSONSerializer.string(composition))")
        let observation = Self.contained(condition?["evidence"]?.arrayValue?.first?["detail"]?.arrayValue?.first, in: composition)
        #expect(observation?["resourceType"] == "Observation", "\(JSONSerializer.string(composition))")
        if coded {
            let value = observation?["valueCodeableConcept"]
            let coding = value?["coding"]?.arrayValue?.first
            #expect(coding?["code"] == "code" && coding?["display"] == "vall" && coding?["system"] == "term" && value?["text"] == "vall", "\(String(describing: value))")
        } else {
            #expect(observation?["valueString"] == "Fine", "\(String(describing: observation))")
        }
    }

    /// openFHIR's IPS (`IpsBidirectionalTest`) both ways: the corpus FLAT
    /// file to FHIR, that bundle back to a composition of the template
    /// (validated), and that composition to FHIR again, each FHIR side with
    /// the values the test asserts. The corpus FLAT file is an earlier
    /// version of openFHIR's: its manifestation is a text, not the coded
    /// `142` the test asserts now.
    @Test func ipsBothWays() throws {
        let ips = try Case(folder: "ips", template: "International Patient Summary.opt")
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        let first = try ips.toFHIR(try ips.flat("ips.flat.json"), zone: berlin)
        try Self.expectIPS(first)
        let bundle: JSON = ["resourceType": "Bundle", "type": "collection", "entry": .array(first.resources.map { ["resource": $0] })]
        let back = try ips.toOpenEHR(bundle)
        #expect(back.problems.isEmpty, "\(back.problems)")
        // FHIRconnect §DV_TEXT: the allergy's code onto the substance's DV_TEXT is its text, its coding a term mapping.
        let substance = "international_patient_summary/allergies_and_intolerances/adverse_reaction_risk:0/substance"
        #expect(back.flat[substance]?.stringValue?.hasPrefix("No example for") == true && back.flat[substance + "/_mappings:0/_target|code"] == "42")
        try Self.expectIPS(try ips.toFHIR(back.flat, zone: berlin), round: "second round (\(back.notes))")
    }

    /// The IPS values openFHIR's test asserts: the FHIR Composition with its
    /// IPS profile, the Active Problems and Allergies sections (title, code,
    /// text, empty reason) and the Conditions and AllergyIntolerance they name.
    static func expectIPS(_ outcome: FHIRMappingOutcome, round: String = "first round") throws {
        let composition = try #require(outcome.resources.first { $0["resourceType"] == "Composition" }, "\(round): \(outcome.notes)")
        #expect(composition["meta"]?["profile"]?.arrayValue?.first == "http://hl7.org/fhir/uv/ips/StructureDefinition/Composition-uv-ips")
        func section(_ loinc: String) -> JSON? {
            composition["section"]?.arrayValue?.first { $0["code"]?["coding"]?.arrayValue?.contains { $0["system"] == "http://loinc.org" && $0["code"]?.stringValue == loinc } == true }
        }
        func statuses(_ concept: JSON?) -> [String] { concept?["coding"]?.arrayValue?.compactMap { $0["code"]?.stringValue } ?? [] }
        let hotFlushes: JSON = "<div xmlns=\"http://www.w3.org/1999/xhtml\">Hot flushes</div>"

        let problems = try #require(section("11450-4"), "\(JSONSerializer.string(composition))")
        #expect(problems["title"] == "Active Problems" && problems["text"]?["status"] == "generated" && problems["text"]?["div"] == hotFlushes)
        #expect(problems["emptyReason"]?["text"] == "No information about current problems" && statuses(problems["emptyReason"]) == ["unavailable"])
        #expect(problems["code"]?["coding"]?.arrayValue?.first?["display"] == "Problem list Reported")
        let references = problems["entry"]?.arrayValue ?? []
        #expect(references.compactMap { $0["reference"]?.stringValue } == ["#1", "#2"])
        let first = try #require(Self.contained(references.first, in: composition))
        #expect(statuses(first["verificationStatus"]) == ["confirmed"] && first["verificationStatus"]?["coding"]?.arrayValue?.first?["display"] == "Confirmed")
        #expect(statuses(first["clinicalStatus"]) == ["active", "resolved", "remission", "recurrence"])
        #expect(first["severity"]?["coding"]?.arrayValue?.first?["code"] == "at0047" && first["severity"]?["text"] == "Mild")
        #expect(first["code"]?["coding"]?.arrayValue?.first?["code"] == "42")
        for element in ["onsetDateTime", "abatementDateTime", "recordedDate"] { #expect(first[element] == "2022-02-03T04:05:06+01:00", "\(element)") }
        #expect(first["stage"]?.arrayValue?.first?["type"]?["text"] == "Lorem ipsum" && first["note"]?.arrayValue?.first?["text"] == "Lorem ipsum")
        let second = try #require(Self.contained(references.last, in: composition))
        #expect(second["verificationStatus"] == nil && statuses(second["clinicalStatus"]) == ["inactive", "relapse"])
        #expect(second["severity"]?["coding"]?.arrayValue?.first?["code"] == "at0048" && second["code"]?["text"] == "Chronic back pain")
        #expect(second["onsetDateTime"] == "2020-06-15T10:00:00+02:00" && second["abatementDateTime"] == "2024-01-01T00:00:00+01:00")
        #expect(second["stage"]?.arrayValue?.first?["type"]?["text"] == "MRI confirmed")

        let allergies = try #require(section("48765-2"))
        #expect(allergies["title"] == "Active Allergies and Intolerances" && allergies["text"]?["div"] == hotFlushes)
        let allergy = try #require(Self.contained(allergies["entry"]?.arrayValue?.first, in: composition))
        #expect(allergies["entry"]?.arrayValue?.first?["reference"] == "#3")
        #expect(statuses(allergy["clinicalStatus"]) == ["inactive"] && statuses(allergy["verificationStatus"]) == ["confirmed"] && allergy["criticality"] == "high")
        #expect(allergy["code"]?["coding"]?.arrayValue?.first?["code"] == "42")
        let reaction = allergy["reaction"]?.arrayValue?.first
        #expect(reaction?["substance"]?["text"] == "Lorem ipsum Specific Substance" && reaction?["description"] == "reaction description")
        #expect(reaction?["onset"] == "2027-02-03T04:05:06+01:00" && reaction?["severity"] == "moderate")
        #expect(reaction?["exposureRoute"]?["text"] == "Exposure Lorem ipsum" && reaction?["note"]?.arrayValue?.first?["text"] == "Reaction text")
        // The onset: the DV_DATE_TIME alternative of its ELEMENT, chosen by a `type` condition on it.
        #expect(allergy["onsetDateTime"] == "2022-02-03T04:05:07+01:00")
        // `type` ("Allergy" in openFHIR's test) is commented out in the corpus model ("todo"): not asserted.
        // The global exclusion's path names the section's steps only: the allergies section's, not the first section's.
        #expect(allergies["emptyReason"]?["text"] == "No known allergies" && statuses(allergies["emptyReason"]) == ["nilknown"])
    }
}
