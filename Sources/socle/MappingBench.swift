import ArgumentParser
import FHIR
import Foundation
import JSONCore
import Mappings
import Server
import Templates

/// `socle bench mappings`: FHIR → openEHR through FHIRconnect, per resource,
/// on openFHIR's KDS cases: the mapping to FLAT, then the FLAT read into a
/// composition and its validation (what every FLAT write costs), beside the
/// parse of the same FHIR input (the baseline), in the same run. Then
/// openEHR → FHIR, per composition (openFHIR's expected compositions): the
/// composition's FLAT form and the mapping to FHIR resources, beside the
/// parse of the same composition.
struct MappingBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mappings", abstract: "FHIR → openEHR mapping time per resource (openFHIR's KDS cases).")

    @Option(help: "openFHIR's KDS folder (mappings under core/, a folder per module with its OPT and toOpenEHR/input).")
    var folder = "../shared/corpus/fhir/mappings/openfhir/kds"
    @Option(help: "Passes over every input.") var passes = 20

    struct Case {
        let module: String
        let engine: FHIRToOpenEHR
        let flat: FlatComposition
        let template: OperationalTemplate
        let inputs: [(bytes: [UInt8], json: JSON)]
        let back: OpenEHRToFHIR
        let compositions: [(bytes: [UInt8], json: JSON)]
    }

    func run() async throws {
        let library = try MappingFolder.load(.folder(folder))
        let cases = try Self.cases(folder: folder, library: library)
        let count = cases.reduce(0) { $0 + $1.inputs.count }
        print("bench mappings: \(count) FHIR inputs of \(cases.count) KDS modules, \(passes) passes (\(folder))\n")
        print("module".padding(toLength: 26, withPad: " ", startingAt: 0) + "parse µs".leftPadded(10) + "map µs".leftPadded(10)
            + "compose µs".leftPadded(12) + "validate µs".leftPadded(12) + "map/parse".leftPadded(11))
        let validator = TemplateValidator()
        var totals = (parse: 0.0, map: 0.0, compose: 0.0, validate: 0.0)
        for item in cases {
            let n = Double(item.inputs.count * passes)
            let parse = try JSONBench.time(passes) { for input in item.inputs { _ = try JSONParser.parse(input.bytes) } }
            var flats: [JSONObject] = []
            let map = JSONBench.time(passes) {
                flats = item.inputs.map { input in
                    var flat = item.engine.map(input.json)?.flat ?? JSONObject()
                    flat["ctx/language"] = "de"
                    flat["ctx/territory"] = "DE"
                    flat["ctx/composer_self"] = true
                    return flat
                }
            }
            var compositions: [JSON] = []
            let compose = try JSONBench.time(passes) { compositions = try flats.map { try item.flat.composition($0) } }
            let validate = JSONBench.time(passes) { for composition in compositions { _ = validator.validate(composition, against: item.template) } }
            totals = (totals.parse + parse, totals.map + map, totals.compose + compose, totals.validate + validate)
            Self.row(item.module, parse / n, map / n, compose / n, validate / n)
        }
        let n = Double(count * passes)
        Self.row("all", totals.parse / n, totals.map / n, totals.compose / n, totals.validate / n)
        try backwards(cases)
    }

    /// openEHR → FHIR: each composition's FLAT form, then its resources.
    func backwards(_ cases: [Case]) throws {
        let count = cases.reduce(0) { $0 + $1.compositions.count }
        _ = FHIRSchema.r4  // loaded once per process, not timed
        print("\nopenEHR → FHIR: \(count) compositions, \(passes) passes\n")
        print("module".padding(toLength: 26, withPad: " ", startingAt: 0) + "parse µs".leftPadded(10) + "flat µs".leftPadded(10)
            + "map µs".leftPadded(10) + "resources".leftPadded(11) + "(flat+map)/parse".leftPadded(18))
        var totals = (parse: 0.0, flat: 0.0, map: 0.0, resources: 0)
        for item in cases where !item.compositions.isEmpty {
            let n = Double(item.compositions.count * passes)
            let parse = try JSONBench.time(passes) { for input in item.compositions { _ = try JSONParser.parse(input.bytes) } }
            var flats: [JSONObject] = []
            let flat = JSONBench.time(passes) { flats = item.compositions.map { item.flat.flat($0.json) } }
            var resources = 0
            let map = JSONBench.time(passes) { resources = flats.reduce(0) { $0 + item.back.map(flat: $1).resources.count } }
            totals = (totals.parse + parse, totals.flat + flat, totals.map + map, totals.resources + resources)
            Self.backRow(item.module, parse / n, flat / n, map / n, resources)
        }
        let n = Double(count * passes)
        Self.backRow("all", totals.parse / n, totals.flat / n, totals.map / n, totals.resources)
    }

    static func backRow(_ name: String, _ parse: Double, _ flat: Double, _ map: Double, _ resources: Int) {
        print(
            name.padding(toLength: 26, withPad: " ", startingAt: 0) + String(format: "%.1f", parse * 1e6).leftPadded(10)
                + String(format: "%.1f", flat * 1e6).leftPadded(10) + String(format: "%.1f", map * 1e6).leftPadded(10)
                + String(resources).leftPadded(11) + String(format: "%.2f×", (flat + map) / parse).leftPadded(18))
    }

    static func row(_ name: String, _ parse: Double, _ map: Double, _ compose: Double, _ validate: Double) {
        print(
            name.padding(toLength: 26, withPad: " ", startingAt: 0) + String(format: "%.1f", parse * 1e6).leftPadded(10)
                + String(format: "%.1f", map * 1e6).leftPadded(10) + String(format: "%.1f", compose * 1e6).leftPadded(12)
                + String(format: "%.1f", validate * 1e6).leftPadded(12) + String(format: "%.2f×", map / parse).leftPadded(11))
    }

    /// Each module folder with a resolved context for its template and inputs.
    static func cases(folder: String, library: MappingLibrary) throws -> [Case] {
        let modules = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        return try modules.compactMap { module -> Case? in
            let base = folder + "/" + module
            let inputFolder = base + "/toOpenEHR/input"
            guard let opt = (try? FileManager.default.contentsOfDirectory(atPath: base))?.sorted().first(where: { $0.hasSuffix(".opt") }),
                FileManager.default.fileExists(atPath: inputFolder)
            else { return nil }
            let template = try OPTParser().parse(try Data(contentsOf: URL(fileURLWithPath: base + "/" + opt)))
            guard let context = library.contexts(template: template.templateID).first else { return nil }
            let flat = FlatComposition(template: template)
            let inputs = try FileManager.default.contentsOfDirectory(atPath: inputFolder).sorted().filter { $0.hasSuffix(".json") }.map { name in
                let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: inputFolder + "/" + name)))
                return (bytes: bytes, json: try JSONParser.parse(bytes))
            }
            let outputFolder = base + "/toOpenEHR/output"
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: outputFolder)) ?? []).sorted().filter { $0.hasSuffix(".json") }
            let compositions = try names.map { name in
                let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: outputFolder + "/" + name)))
                return (bytes: bytes, json: try JSONParser.parse(bytes))
            }
            let mappingTemplate = MappingTemplate(webTemplate: flat.webTemplate)
            return Case(
                module: module, engine: FHIRToOpenEHR(context: context, template: mappingTemplate), flat: flat, template: template, inputs: inputs,
                back: OpenEHRToFHIR(context: context, template: mappingTemplate), compositions: compositions)
        }
    }
}
