import ArgumentParser
import Foundation
import JSONCore
import OpenEHR
import Templates

#if canImport(FoundationXML)
import FoundationXML
#endif

/// `socle bench formats`: the corpus compositions that validate against
/// their corpus template, read and written in canonical XML and in FLAT,
/// beside canonical JSON read and written in the same run (the baseline),
/// and Foundation's XML parser alone over the same XML bytes (the floor of
/// any XML reading built on it).
struct FormatsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "formats", abstract: "Canonical XML and FLAT in and out, against canonical JSON.")

    @Option(help: "Folder of canonical JSON compositions (searched recursively).")
    var compositions = "../shared/corpus/openehr/compositions/canonical_json"
    @Option(help: "Folder of OPTs (searched recursively).") var templates = "../shared/corpus/openehr/templates/valid"
    @Option(help: "Passes over the whole set.") var passes = 20

    final class SAXCounter: NSObject, XMLParserDelegate {
        var elements = 0
        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
            attributes attributeDict: [String: String] = [:]
        ) { elements += 1 }
    }

    func run() async throws {
        var byID: [String: OperationalTemplate] = [:]
        // In path order, the first file with a template id wins (the same on every machine).
        for file in (FileManager.default.enumerator(at: URL(fileURLWithPath: templates), includingPropertiesForKeys: nil)?.compactMap({ $0 as? URL }) ?? [])
            .sorted(by: { $0.path < $1.path }) where file.pathExtension == "opt"
        {
            if let template = try? OPTParser().parse(try Data(contentsOf: file)), byID[template.templateID] == nil { byID[template.templateID] = template }
        }
        // The compositions that decode and validate against their template.
        var cases: [(json: [UInt8], composition: JSON, reader: FlatComposition)] = []
        var readers: [String: FlatComposition] = [:]
        var templateIDs: [String] = []
        for file in try JSONBench.jsonFiles(in: compositions) {
            let bytes = Array(try Data(contentsOf: file))
            guard let json = try? JSONParser.parse(bytes), let tree = try? CanonicalDecoder().decode(json, as: "COMPOSITION"),
                let id = tree["archetype_details"]?["template_id"]?["value"]?.stringValue, let template = byID[id],
                TemplateValidator().validate(tree, against: template).isEmpty
            else { continue }
            let reader = readers[id] ?? FlatComposition(template: template)
            readers[id] = reader
            cases.append((JSONSerializer.bytes(tree), tree, reader))
            templateIDs.append(id)
        }
        guard !cases.isEmpty else { throw BenchError("no composition of \(compositions) validates against a template of \(templates)") }
        let xmls = cases.map { Data(CanonicalXML.document($0.composition, rmType: "COMPOSITION").utf8) }
        let flats = cases.map { $0.reader.flat($0.composition) }
        let jsonBytes = cases.reduce(0) { $0 + $1.json.count }
        let xmlBytes = xmls.reduce(0) { $0 + $1.count }
        let documents = cases.count * passes
        print("bench formats: \(cases.count) compositions valid against their template, \(passes) passes")
        print("canonical JSON \(jsonBytes) bytes, canonical XML \(xmlBytes) bytes, FLAT \(flats.reduce(0) { $0 + $1.count }) keys\n")
        print("what".padding(toLength: 52, withPad: " ", startingAt: 0) + "µs/doc".leftPadded(10) + "× JSON".leftPadded(10))

        let jsonRead = try JSONBench.time(passes) { for item in cases { _ = try JSONParser.parse(item.json) } }
        let jsonWrite = JSONBench.time(passes) { for item in cases { _ = JSONSerializer.bytes(item.composition) } }
        func row(_ name: String, _ seconds: Double, baseline: Double?) {
            let ratio = baseline.map { String(format: "%.2f", seconds / $0) } ?? "1.00"
            print(name.padding(toLength: 52, withPad: " ", startingAt: 0) + String(format: "%.1f", seconds / Double(documents) * 1e6).leftPadded(10) + ratio.leftPadded(10))
        }
        row("canonical JSON read (JSONCore parse, baseline)", jsonRead, baseline: nil)
        row("canonical JSON write (baseline)", jsonWrite, baseline: nil)

        let xmlParseOnly = JSONBench.time(passes) {
            for data in xmls {
                let parser = XMLParser(data: data)
                let counter = SAXCounter()
                parser.delegate = counter
                parser.shouldProcessNamespaces = true
                _ = parser.parse()
            }
        }
        let xmlRead = try JSONBench.time(passes) { for data in xmls { _ = try CanonicalXML.read(data, as: "COMPOSITION") } }
        let xmlWrite = JSONBench.time(passes) { for item in cases { _ = CanonicalXML.document(item.composition, rmType: "COMPOSITION") } }
        row("Foundation XMLParser alone, same XML (floor)", xmlParseOnly, baseline: jsonRead)
        row("canonical XML read (to canonical JSON)", xmlRead, baseline: jsonRead)
        row("canonical XML write", xmlWrite, baseline: jsonWrite)

        // What a FLAT request cost before readers were cached per template:
        // the web template generated and indexed for each document.
        let readerBuild = JSONBench.time(passes) {
            for (index, _) in cases.enumerated() { _ = FlatComposition(template: byID[templateIDs[index]]!) }
        }
        let flatRead = try JSONBench.time(passes) { for (index, item) in cases.enumerated() { _ = try item.reader.composition(flats[index]) } }
        let flatWrite = JSONBench.time(passes) { for item in cases { _ = item.reader.flat(item.composition) } }
        row("FLAT read (to canonical JSON, template defaults)", flatRead, baseline: jsonRead)
        row("FLAT write", flatWrite, baseline: jsonWrite)
        row("web template + FLAT index (once per template)", readerBuild, baseline: jsonRead)
    }
}
