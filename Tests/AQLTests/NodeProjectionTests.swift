import AQL
import Foundation
import JSONCore
import OpenEHR
import SocleTestSupport
import Testing

/// The node index projection: pre-order numbering with nested intervals,
/// archetype paths and typed leaf values (ARCHITECTURE.md §Storage).
@Suite("AQL node index projection")
struct NodeProjectionTests {
    static func decoded(_ relative: String) throws -> JSON {
        let url = Corpus.root.appendingPathComponent("openehr/compositions/canonical_json/" + relative)
        return try CanonicalDecoder().decode(try JSONParser.parse(Array(try Data(contentsOf: url))), as: "COMPOSITION")
    }

    @Test func bloodPressureRowsNestAndCarryValues() throws {
        let rows = NodeProjection.rows(of: try Self.decoded("aql_data_load/ehrbase_blood_pressure_simple.de.v0.json"))
        let root = try #require(rows.first)
        #expect(root.rmType == "COMPOSITION" && root.num == 0 && root.numCap == rows.count - 1 && root.parent == nil)
        #expect(root.archetypeID == "openEHR-EHR-COMPOSITION.sample_encounter.v1")

        let systolicPath = "/content[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1]/data[at0001]/events[at0002]/data[at0003]/items[at0004]"
        let element = try #require(rows.first { $0.path == systolicPath })
        #expect(element.rmType == "ELEMENT" && element.archetypeNodeID == "at0004")
        #expect(element.archetypeID == "openEHR-EHR-OBSERVATION.sample_blood_pressure.v1")
        #expect(element.archetypePath == "/data[at0001]/events[at0002]/data[at0003]/items[at0004]")
        #expect(element.name == "Systolic")
        let quantity = try #require(rows.first { $0.parent == element.num && $0.attribute == "value" })
        #expect(quantity.rmType == "DV_QUANTITY" && quantity.number == 22.0 && quantity.units == "mm[Hg]")
        // Rows below an archetype root point at it: the observation's own row.
        let observationRoot = try #require(rows.first { $0.rmType == "OBSERVATION" })
        #expect(quantity.rootNum == observationRoot.num && observationRoot.rootNum == observationRoot.num && observationRoot.archetypePath.isEmpty)
        // Names live on their LOCATABLE's row, not as rows of their own.
        #expect(!rows.contains { $0.attribute == "name" })
        #expect(quantity.path == systolicPath + "/value")

        // Every node lies inside its parent's interval: CONTAINS is a range test.
        for row in rows {
            #expect(row.num <= row.numCap)
            if let parent = row.parent {
                #expect(rows[parent].num < row.num && row.numCap <= rows[parent].numCap, "\(row.path)")
            }
        }
        let observation = try #require(rows.first { $0.rmType == "OBSERVATION" })
        #expect(rows.filter { $0.num > observation.num && $0.num <= observation.numCap }.contains { $0.num == quantity.num })

        let time = try #require(rows.first { $0.rmType == "DV_DATE_TIME" && $0.path.hasSuffix("/time") })
        #expect(time.number == ISODateTime("2021-09-15T11:22:11Z").map { Double($0.microsecondsSinceEpoch) })
        #expect(time.string == "2021-09-15T11:22:11Z")
        let setting = try #require(rows.first { $0.path == "/context/setting" })
        #expect(setting.code == "237" && setting.terminology == "openehr" && setting.string == "nursing home care")
        #expect(setting.rootNum == 0 && setting.archetypePath == "/context/setting")
    }

    @Test func theProjectionIsDeterministic() throws {
        let composition = try Self.decoded("openEHR_SDK/ips_canonical.json")
        let first = NodeProjection.rows(of: composition)
        #expect(first == NodeProjection.rows(of: composition))
        #expect(first.count > 500)
        #expect(first.filter { $0.rmType.hasPrefix("DV_") }.allSatisfy { $0.parent != nil })
    }

    /// Each row's three paths, checked against the composition itself over
    /// the IPS (deep nesting, lists past ten items, archetype roots inside
    /// archetype roots): the JSON place leads back to the node's object,
    /// the path is the parent's path and one step, and the archetype path
    /// is what the path adds to the archetype root's.
    @Test func everyRowsPathsLeadBackToItsNode() throws {
        let composition = try Self.decoded("openEHR_SDK/ips_canonical.json")
        let nodes = NodeProjection.nodes(of: composition)
        #expect(nodes.contains { $0.row.jsonPath.range(of: #"\[[0-9]{2,}\]"#, options: .regularExpression) != nil })  // lists past ten items
        for (row, value) in nodes {
            #expect(Self.value(at: row.jsonPath, in: composition) == value, "\(row.jsonPath)")
            let root = nodes[row.rootNum].row
            #expect(row.path == root.path + row.archetypePath, "\(row.path)")
            guard let parent = row.parent else {
                #expect(row.num == 0 && row.path.isEmpty && row.jsonPath == "$")
                continue
            }
            let step = "/" + row.attribute + (row.archetypeNodeID.map { "[\($0)]" } ?? "")
            #expect(row.path.hasPrefix(nodes[parent].row.path) && row.path.hasSuffix(step), "\(row.path)")
        }
    }

    /// The value at a JSON place of the form `$.a.b[2].c`.
    static func value(at place: String, in root: JSON) -> JSON? {
        var current: JSON? = root
        let scanner = Scanner(string: String(place.dropFirst()))
        scanner.charactersToBeSkipped = nil
        while !scanner.isAtEnd {
            if scanner.scanString(".") != nil, let key = scanner.scanUpToCharacters(from: CharacterSet(charactersIn: ".[")) {
                current = current?[key]
            } else if scanner.scanString("[") != nil, let position = scanner.scanInt(), scanner.scanString("]") != nil,
                case .array(let items)? = current, position < items.count
            {
                current = items[position]
            } else {
                return nil
            }
        }
        return current
    }
}
