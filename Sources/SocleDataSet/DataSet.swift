import Foundation
import JSONCore
import OpenEHR
import Server
import Services

/// The compositions of the data set: corpus compositions on corpus
/// templates, with plausible values varied per patient and over time.
public struct DataSet: Sendable {
    struct Kind: Sendable {
        var name: String
        var template: [UInt8]
        var composition: JSON
    }

    static let bloodPressure = "openEHR-EHR-OBSERVATION.sample_blood_pressure.v1"
    static let bloodPressurePath = "/data[at0001]/events[at0002]/data[at0003]/items"
    static let labResult = "openEHR-EHR-OBSERVATION.laboratory_test_result.v1"
    static let problem = "openEHR-EHR-EVALUATION.problem_diagnosis_covid.v1"
    /// The first composition's time; each EHR's compositions follow at about a week apart.
    static let start = ISODateTime("2024-01-01T08:00:00Z")!

    /// The diagnoses the problem list template allows.
    static let diagnoses = [
        "Verdacht auf Erkrankung durch schweren akuten respiratorischen Coronavirus 2 (Situation)",
        "Exposition gegenüber dem schweren akuten respiratorischen Coronavirus 2 (Ereignis)",
        "Erkankung verursacht durch schweren akuten respiratorischen Coronavirus 2 (Krankheit)",
    ]

    let vitals: Kind
    let lab: Kind
    let problemList: Kind

    /// The data set from the files built into Socle (`DataSetFiles`), or
    /// from a corpus folder with the same files.
    public init(corpus: URL? = nil) throws {
        func file(_ path: String, _ builtIn: String) throws -> String {
            guard let corpus else { return builtIn }
            let url = corpus.appendingPathComponent("openehr/" + path)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw DataSetError("the corpus file \(path) of the data set is not under \(corpus.path)/openehr")
            }
            return String(decoding: try Data(contentsOf: url), as: UTF8.self)
        }
        func kind(_ name: String, _ template: (String, String), _ composition: (String, String), edits: [(String, String)] = []) throws -> Kind {
            var text = try file("compositions/canonical_json/" + composition.0, composition.1)
            for (from, to) in edits { text = text.replacingOccurrences(of: from, with: to) }
            let json = try JSONParser.parse(text).settingMember("uid", to: nil)
            return Kind(name: name, template: Array(try file("templates/valid/" + template.0, template.1).utf8), composition: json)
        }
        vitals = try kind(
            "vital signs", ("aql_data_load/ehrbase_blood_pressure_simple.de.v0.opt", DataSetFiles.bloodPressureTemplate),
            ("aql_data_load/ehrbase_blood_pressure_simple.de.v0.json", DataSetFiles.bloodPressureComposition))
        lab = try kind(
            "laboratory results", ("openEHR_SDK/Befund_der_Blutgasanalyse.opt", DataSetFiles.bloodGasTemplate),
            ("openEHR_SDK/dvquantity_choice.json", DataSetFiles.bloodGasComposition))
        // The corpus composition files its diagnosis under a section and a name
        // that its template does not have (CorpusExpectations): the template's own are used.
        problemList = try kind(
            "problem list", ("all_types/Corona_Anamnese.opt", DataSetFiles.problemListTemplate),
            ("openEHR_SDK/compo_with_nested_party_self.json", DataSetFiles.problemListComposition),
            edits: [("openEHR-EHR-SECTION.allgemeine_angaben.v1", "openEHR-EHR-SECTION.adhoc.v1")])
    }

    /// Writes the EHRs and their compositions; returns how many compositions.
    public func seed(
        _ components: SocleServer.Components, ehrs: Int, compositionsPerEHR: Int, concurrency: Int, seed: UInt64,
        progress: @escaping @Sendable (Int) -> Void
    ) async throws -> Int {
        for kind in [vitals, lab, problemList] {
            do {
                _ = try await components.templateService.upload(kind.template)
            } catch let error as ServiceError where error.kind == .conflict {
                // Already there from an earlier run.
            }
        }
        let committal = Committal(committer: .identified(name: "socle seed"), description: "data set")
        let next = Counter()
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<max(1, concurrency) {
                group.addTask {
                    var written = 0
                    while let index = await next.take(below: ehrs) {
                        var random = SplitMix(seed: seed &+ UInt64(index) &* 0x9E37_79B9)
                        let (summary, _) = try await components.ehrService.createEHR(status: nil, committal: committal)
                        let patientSystolic = 105 + random.double() * 55
                        for number in 0..<compositionsPerEHR {
                            let composition = self.composition(number: number, patientSystolic: patientSystolic, random: &random)
                            do {
                                _ = try await components.compositionService.create(ehrID: summary.record.ehrID, json: composition, committal: committal)
                            } catch let error as ServiceError {
                                throw DataSetError("\(error.message): \(error.problems.map(\.description).joined(separator: "; "))")
                            }
                            written += 1
                        }
                        if (index + 1) % 100 == 0 { progress(index + 1) }
                    }
                    return written
                }
            }
            var total = 0
            for try await written in group { total += written }
            return total
        }
    }

    /// Six in ten compositions are vital signs, a quarter laboratory results, the rest problem list entries.
    func composition(number: Int, patientSystolic: Double, random: inout SplitMix) -> JSON {
        let time = ISODateTime(microsecondsSinceEpoch: Self.start.microsecondsSinceEpoch + Int64(number) * 7 * 86_400_000_000 + Int64(random.double() * 3 * 86_400) * 1_000_000)
        let timeText = JSON.string(time.description)
        let draw = random.double()
        var json: JSON
        if draw < 0.6 {
            let systolic = (patientSystolic + (random.double() - 0.5) * 30).rounded()
            let diastolic = (systolic * 0.62 + (random.double() - 0.5) * 10).rounded()
            let mean = ((systolic + 2 * diastolic) / 3).rounded()
            json = vitals.composition
            var observation = json["content"]?.arrayValue?.first ?? JSON.null
            var items = observation["data"]?["events"]?.arrayValue?.first?["data"]?["items"]?.arrayValue ?? []
            for (index, value) in [systolic, diastolic, mean, systolic - diastolic].enumerated() where index < items.count {
                items[index] = items[index].settingMember("value", to: (items[index]["value"] ?? JSON.null).settingMember("magnitude", to: .number(String(Int(value)))))
            }
            var event = observation["data"]?["events"]?.arrayValue?.first ?? JSON.null
            event = event.settingMember("data", to: (event["data"] ?? JSON.null).settingMember("items", to: .array(items)))
            event = event.settingMember("time", to: ["_type": "DV_DATE_TIME", "value": timeText])
            var data = observation["data"] ?? JSON.null
            data = data.settingMember("events", to: .array([event])).settingMember("origin", to: ["_type": "DV_DATE_TIME", "value": timeText])
            observation = observation.settingMember("data", to: data)
            json = json.settingMember("content", to: .array([observation]))
        } else if draw < 0.85 {
            json = lab.composition
            var observations = json["content"]?.arrayValue ?? []
            for (index, var observation) in observations.enumerated() {
                var event = observation["data"]?["events"]?.arrayValue?.first ?? JSON.null
                var items = event["data"]?["items"]?.arrayValue ?? []
                for (itemIndex, item) in items.enumerated() where item["archetype_node_id"]?.stringValue == "openEHR-EHR-CLUSTER.laboratory_test_analyte.v1" {
                    var analyte = item["items"]?.arrayValue ?? []
                    if let first = analyte.first, case .number(let text)? = first["value"]?["magnitude"], let magnitude = Double(text) {
                        let varied = magnitude * (0.85 + random.double() * 0.3)
                        let rounded = (varied * 10).rounded() / 10
                        analyte[0] = first.settingMember("value", to: (first["value"] ?? JSON.null).settingMember("magnitude", to: .number(String(rounded))))
                    }
                    items[itemIndex] = item.settingMember("items", to: .array(analyte))
                }
                event = event.settingMember("data", to: (event["data"] ?? JSON.null).settingMember("items", to: .array(items)))
                event = event.settingMember("time", to: ["_type": "DV_DATE_TIME", "value": timeText])
                let data = (observation["data"] ?? JSON.null).settingMember("events", to: .array([event])).settingMember(
                    "origin", to: ["_type": "DV_DATE_TIME", "value": timeText])
                observation = observation.settingMember("data", to: data)
                observations[index] = observation
            }
            json = json.settingMember("content", to: .array(observations))
        } else {
            json = problemList.composition
            let diagnosis = Self.diagnoses[Int(random.double() * Double(Self.diagnoses.count))]
            var section = json["content"]?.arrayValue?.first ?? JSON.null
            var evaluation = section["items"]?.arrayValue?.first ?? JSON.null
            var tree = evaluation["data"] ?? JSON.null
            var element = tree["items"]?.arrayValue?.first ?? JSON.null
            element = element.settingMember("value", to: ["_type": "DV_TEXT", "value": .string(diagnosis)])
            tree = tree.settingMember("items", to: .array([element]))
            evaluation = evaluation.settingMember("data", to: tree).settingMember(
                "name", to: ["_type": "DV_TEXT", "value": "Problem/Diganose Coronovirus"])
            section = section.settingMember("items", to: .array([evaluation]))
            json = json.settingMember("content", to: .array([section]))
        }
        let context = (json["context"] ?? JSON.null).settingMember("start_time", to: ["_type": "DV_DATE_TIME", "value": timeText])
        return json.settingMember("context", to: context)
    }
}

/// Why the data set cannot be read or written.
public struct DataSetError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension JSON {
    /// The object with one member set (or removed with nil), keeping member order.
    func settingMember(_ key: String, to value: JSON?) -> JSON {
        guard case .object(var object) = self else { return self }
        object[key] = value
        return .object(object)
    }
}

/// Hands out EHR numbers to the writers.
actor Counter {
    var next = 0
    func take(below limit: Int) -> Int? {
        guard next < limit else { return nil }
        defer { next += 1 }
        return next
    }
}

/// A small deterministic generator (SplitMix64), so that a seed gives the same data set.
public struct SplitMix: Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// In [0, 1).
    public mutating func double() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
