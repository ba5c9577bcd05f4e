import Foundation
import JSONCore
import Mappings
import OpenEHR
import SocleTestSupport
import Templates
import Testing

/// openFHIR's KDS cases (`openfhir/kds`, Medizininformatik-Initiative
/// profiles and templates): each FHIR input mapped to a composition and
/// compared with openFHIR's expected composition after the normalisations
/// openFHIR's own tests apply (ACTION.time of procedures is volatile; object
/// members in any order). A ratchet: fewer passing than recorded fails; the
/// reasons of the rest are listed in the issue note.
@Suite(.serialized) struct KDSCasesTests {
    static let library = CorpusMappingFilesTests.load("openfhir/kds")

    struct Module: Sendable, CustomTestStringConvertible {
        let folder: String
        let template: String
        /// Inputs with an expected composition.
        let cases: Int
        /// Mapped to a FLAT that builds a composition of the template.
        let composed: Int
        /// Valid against the template (openFHIR's tests assert it too).
        let valid: Int
        /// Equal to openFHIR's composition, or equal but for its named errors.
        let passing: Int
        /// The other way (`KDSToFHIRTests`): compositions with an expected
        /// bundle, mapped to as many resources, equal but for named differences.
        var toFHIR: (cases: Int, mapped: Int, passing: Int) = (0, 0, 0)
        var testDescription: String { folder }
    }

    static let modules: [Module] = [
        Module(folder: "procedure", template: "KDS_Prozedur", cases: 24, composed: 24, valid: 24, passing: 23, toFHIR: (24, 24, 22)),
        Module(folder: "diagnose", template: "KDS_Diagnose", cases: 10, composed: 10, valid: 10, passing: 10, toFHIR: (10, 10, 0)),
        Module(folder: "fall", template: "KDS_Fall_einfach", cases: 12, composed: 12, valid: 12, passing: 11, toFHIR: (11, 11, 10)),
        Module(folder: "laborauftrag", template: "KDS_Laborauftrag", cases: 11, composed: 11, valid: 1, passing: 0, toFHIR: (11, 11, 0)),
        Module(folder: "laborbericht", template: "KDS_Laborbericht", cases: 10, composed: 10, valid: 9, passing: 9, toFHIR: (10, 10, 0)),
        Module(folder: "medikationseintrag", template: "KDS_Medikationseintrag", cases: 28, composed: 28, valid: 27, passing: 0, toFHIR: (28, 28, 0)),
        Module(folder: "medikationsverabreichung", template: "KDS_Medikamentenverabreichungen", cases: 23, composed: 23, valid: 0, passing: 0, toFHIR: (23, 23, 0)),
        Module(folder: "studienteilnahme", template: "Studienteilnahme", cases: 11, composed: 11, valid: 0, passing: 11, toFHIR: (11, 11, 11)),
        Module(folder: "todesursache", template: "KDS_Todesursache", cases: 3, composed: 3, valid: 3, passing: 3, toFHIR: (3, 3, 3)),
        Module(folder: "vitalstatus", template: "KDS_Vitalstatus", cases: 8, composed: 8, valid: 8, passing: 8, toFHIR: (8, 8, 8)),
    ]

    static func read(_ url: URL) throws -> JSON { try JSONParser.parse(Array(try Data(contentsOf: url))) }

    @Test(arguments: modules)
    func toOpenEHR(module: Module) throws {
        let base = Corpus.root.appendingPathComponent("fhir/mappings/openfhir/kds/\(module.folder)")
        guard let context = Self.library.contexts(template: module.template).first else {
            Issue.record("no context for \(module.template)")
            return
        }
        let optFile = try #require(Corpus.files(below: base, withExtension: "opt").first { $0.lastPathComponent.hasPrefix(module.template) })
        let template = try OPTParser().parse(try Data(contentsOf: optFile))
        let flatFormat = FlatComposition(template: template)
        let engine = FHIRToOpenEHR(context: context, template: MappingTemplate(webTemplate: flatFormat.webTemplate))
        var cases = 0, composed = 0, valid = 0, passed = 0, explained = 0
        let validator = TemplateValidator()
        var failures: [String] = []
        var reasons: [String: Int] = [:]
        for input in Corpus.files(below: base.appendingPathComponent("toOpenEHR/input"), withExtension: "json") {
            let expectedURL = base.appendingPathComponent("toOpenEHR/output/Composition-" + Self.caseName(input))
            guard FileManager.default.fileExists(atPath: expectedURL.path) else { continue }
            let expected = Self.normalised(try Self.read(expectedURL))
            let resource = try Self.read(input)
            cases += 1
            guard var flat = engine.map(resource)?.flat else {
                failures.append("\(input.lastPathComponent): the context does not apply")
                continue
            }
            for (key, value) in Self.contextValues(expected) { flat["ctx/" + key] = value }
            do {
                let composition = try flatFormat.composition(flat)
                composed += 1
                let problems = validator.validate(composition, against: template)
                if problems.isEmpty { valid += 1 } else { failures.append("\(input.lastPathComponent): invalid: \(problems.prefix(2).map { "\($0.path): \($0.message)" })") }
                let actual = Self.normalised(composition)
                let differences = JSONDifference.all(expected, actual)
                let unexplained = differences.filter { FixtureErrors.explain($0, among: differences) == nil }
                for reason in differences.compactMap({ FixtureErrors.explain($0, among: differences) }) { reasons[reason, default: 0] += 1 }
                if differences.isEmpty {
                    passed += 1
                } else if unexplained.isEmpty {
                    explained += 1
                } else {
                    failures.append("\(input.lastPathComponent): " + unexplained.prefix(ProcessInfo.processInfo.environment["KDS_ALL"] != nil ? 100 : 3).map(\.description).joined(separator: "\n   "))
                }
            } catch {
                failures.append("\(input.lastPathComponent): FLAT refused: \(error.problems.prefix(3).map { "\($0.path): \($0.message)" })")
            }
        }
        print("KDS \(module.folder): \(cases) cases, \(composed) composed, \(valid) valid, \(passed) equal, \(explained) equal but for openFHIR's errors \(reasons)\n" + failures.joined(separator: "\n"))
        #expect(cases == module.cases)
        #expect(composed >= module.composed, "\(failures.joined(separator: "\n"))")
        #expect(valid >= module.valid, "\(failures.joined(separator: "\n"))")
        #expect(passed + explained >= module.passing, "\(failures.joined(separator: "\n"))")
    }

    /// A case's name in its files: `Procedure-x.json` pairs with
    /// `Composition-x.json`; a bundle `b.json` with `Composition-b.json`.
    static func caseName(_ url: URL) -> String {
        let name = url.lastPathComponent
        guard let dash = name.firstIndex(of: "-"), name[..<dash].allSatisfy(\.isLetter), name.first?.isUppercase == true else { return name }
        return String(name[name.index(after: dash)...])
    }

    /// The composition's language, territory and composer, as a client gives them.
    static func contextValues(_ composition: JSON) -> [(String, JSON)] {
        var values: [(String, JSON)] = []
        if let language = composition["language"]?["code_string"] { values.append(("language", language)) }
        if let territory = composition["territory"]?["code_string"] { values.append(("territory", territory)) }
        if composition["composer"]?["_type"]?.stringValue == "PARTY_SELF" { values.append(("composer_self", .bool(true))) }
        if let name = composition["composer"]?["name"] { values.append(("composer_name", name)) }
        return values
    }

    /// openFHIR's normalisation (ACTION.time cleared), and `rm_version`
    /// dropped: the release of the RM the writer follows (openFHIR's Archie
    /// writes 1.0.4, Socle 1.1.0), not data.
    static func normalised(_ composition: JSON) -> JSON {
        normalisedContent(withoutRMVersion(composition))
    }

    static func withoutRMVersion(_ json: JSON) -> JSON {
        switch json {
        case .object(var object):
            if object["rm_version"] != nil { object["rm_version"] = nil }
            return .object(JSONObject(object.members.map { ($0.key, withoutRMVersion($0.value)) }))
        case .array(let items): return .array(items.map(withoutRMVersion))
        default: return json
        }
    }

    static func normalisedContent(_ composition: JSON) -> JSON {
        guard case .object(var object) = composition, let content = object["content"]?.arrayValue else { return composition }
        if object["_type"] == nil { object["_type"] = "COMPOSITION" }
        object["content"] = .array(content.map { item in
            guard case .object(var entry) = item, entry["_type"]?.stringValue == "ACTION" else { return item }
            entry["time"] = nil
            return .object(entry)
        })
        return .object(object)
    }
}

/// Where two JSON values differ: objects compared member by member in any
/// order, arrays item by item, numbers by value; a `_type` one side leaves
/// out is not a difference (canonical JSON requires it only where the type
/// is not the declared one).
enum JSONDifference {
    struct Difference: CustomStringConvertible {
        let path: String
        let expected: JSON?
        let actual: JSON?
        var description: String {
            "\(path): \(actual.map(JSONSerializer.string) ?? "missing"), expected \(expected.map(JSONSerializer.string) ?? "none")"
        }
    }

    static func all(_ expected: JSON, _ actual: JSON, at path: String = "") -> [Difference] {
        switch (expected, actual) {
        case (.object(let a), .object(let b)):
            var found: [Difference] = []
            for member in a.members where member.key != "_type" || b[member.key] != nil {
                if let other = b[member.key] {
                    found += all(member.value, other, at: path + "/" + member.key)
                } else {
                    found.append(Difference(path: path + "/" + member.key, expected: member.value, actual: nil))
                }
            }
            for member in b.members where a[member.key] == nil && member.key != "_type" {
                found.append(Difference(path: path + "/" + member.key, expected: nil, actual: member.value))
            }
            return found
        case (.array(let a), .array(let b)):
            var found = zip(a, b).enumerated().flatMap { all($1.0, $1.1, at: "\(path)[\($0)]") }
            if a.count != b.count { found.append(Difference(path: path + "[]", expected: JSON(a.count), actual: JSON(b.count))) }
            return found
        case (.number(let a), .number(let b)):
            return Double(a) == Double(b) ? [] : [Difference(path: path, expected: expected, actual: actual)]
        default:
            return expected == actual ? [] : [Difference(path: path, expected: expected, actual: actual)]
        }
    }
}

/// Differences that come from openFHIR, not from the mapping: each named.
enum FixtureErrors {
    /// Why openFHIR's fixture differs here, also by what differs beside it: a
    /// concept written onto a DV_TEXT differs in its type, its code and its mappings at once.
    static func explain(_ difference: JSONDifference.Difference, among all: [JSONDifference.Difference]) -> String? {
        if let reason = explain(difference) { return reason }
        if difference.expected == nil, difference.actual?["_type"] == "PARTY_IDENTIFIED" {
            return "openFHIR writes no PARTY_IDENTIFIED from a Reference (FHIRconnect §PARTY_IDENTIFIED: the display as name, the identifier as identifiers)"
        }
        let codedTexts = all.compactMap { other -> String? in
            guard other.path.hasSuffix("/value/_type"), other.expected == "DV_CODED_TEXT", other.actual == "DV_TEXT" else { return nil }
            return String(other.path.dropLast("/_type".count))
        }
        guard codedTexts.contains(where: { [$0 + "/_type", $0 + "/defining_code", $0 + "/mappings"].contains(difference.path) }) else { return nil }
        return "openFHIR writes a concept onto a DV_TEXT as a coded text (FHIRconnect §DV_TEXT: the text, its codings as term mappings)"
    }

    /// Why openFHIR's fixture differs from the mapping's result here; nil when it should not.
    static func explain(_ difference: JSONDifference.Difference) -> String? {
        guard case .string(let expected)? = difference.expected, case .string(let actual)? = difference.actual else { return nil }
        if let open = actual.firstIndex(of: "("), actual.hasSuffix(")"), let slash = actual.lastIndex(of: "/"), slash > open,
            expected == actual[..<open] + "(" + actual[actual.index(after: slash)...]
        {
            return "openFHIR keeps only the last segment of a code system version url"
        }
        // KDS_Laborbericht's specimen adequacy at0062: its term in the template is "Satisfactory".
        if expected == actual + " ", difference.path.hasSuffix("/value/value") {
            return "openFHIR's fixture gives a term a trailing space the template's term does not have"
        }
        if expected == actual + "T00:00:00" {
            return "openFHIR widens a FHIR date to midnight of a date-time"
        }
        if let instant = ISODateTime(actual), let local = Self.berlin(expected), instant.microsecondsSinceEpoch == local {
            return "openFHIR writes a date-time in its machine's zone (Europe/Berlin) without the offset"
        }
        // The input gives no start time: both sides took the time of their run.
        if difference.path.hasSuffix("/context/start_time/value"), let ours = ISODateTime(actual), ISODateTime(expected) != nil,
            abs(ours.microsecondsSinceEpoch - ISODateTime.now().microsecondsSinceEpoch) < 86_400_000_000
        {
            return "openFHIR's start time of a composition the input gives none for is the time of its run"
        }
        return nil
    }

    /// A date-time without a zone read as Europe/Berlin local time, in microseconds since the epoch
    /// (ISODateTime reads it as UTC; the zone's offset at that time is taken off).
    static func berlin(_ text: String) -> Int64? {
        guard !text.hasSuffix("Z"), !text.dropFirst(19).contains(where: { $0 == "+" || $0 == "-" }), let utc = ISODateTime(text),
            let zone = TimeZone(identifier: "Europe/Berlin")
        else { return nil }
        let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(utc.microsecondsSinceEpoch) / 1e6))
        return utc.microsecondsSinceEpoch - Int64(offset) * 1_000_000
    }
}

/// An event the web template folds into its observation (the one event of a
/// history that cannot repeat, KDS_Medikationseintrag's): a FHIR time mapped
/// onto it (FHIRconnect §EVENT) is the observation's `time` in FLAT, and back.
@Suite struct FoldedEventTests {
    @Test func aTimeOnAFoldedEventIsItsTime() throws {
        let base = Corpus.root.appendingPathComponent("fhir/mappings/openfhir/kds/medikationseintrag")
        let context = try #require(KDSCasesTests.library.contexts(template: "KDS_Medikationseintrag").first)
        let format = FlatComposition(template: try OPTParser().parse(try Data(contentsOf: base.appendingPathComponent("KDS_Medikationseintrag.opt"))))
        let template = MappingTemplate(webTemplate: format.webTemplate)
        let statement = try KDSCasesTests.read(base.appendingPathComponent("toOpenEHR/input/MedicationStatement-mii-exa-test-data-patient-10-medstatement-1.json"))
        let outcome = try #require(FHIRToOpenEHR(context: context, template: template).map(statement))
        // The Period's end is the event's time (RM §INTERVAL_EVENT counts back from it); the template's
        // EVENT has no width in FLAT, so the event is a point event.
        #expect(outcome.flat["medikamentenliste/aussage_zur_medikamenteneinnahme:0/time"] == "2019-05-22T10:00:00+02:00", "\(outcome.flat)")
        #expect(outcome.flat["medikamentenliste/aussage_zur_medikamenteneinnahme:0/width"] == nil)
        let composition = try format.composition(outcome.flat)
        let event = composition["content"]?.arrayValue?.first?["data"]?["events"]?.arrayValue?.first
        #expect(event?["time"]?["value"] == "2019-05-22T10:00:00+02:00", "\(String(describing: event))")
        let resources = OpenEHRToFHIR(context: context, template: template).map(flat: format.flat(composition)).resources
        #expect(resources.first?["effectiveDateTime"] == "2019-05-22T10:00:00+02:00", "\(resources)")
    }
}
