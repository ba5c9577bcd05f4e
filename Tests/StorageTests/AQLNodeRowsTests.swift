import AQL
import Foundation
import JSONCore
import OpenEHR
import SocleTestSupport
import Testing

@testable import Storage

/// The AQL index's node rows hold each node's values as projected, on both
/// engines (SQLite: multi-row inserts; PostgreSQL: one JSON array of records,
/// `json_to_recordset`): numbers to the last bit, text with quotes,
/// backslashes and characters beyond ASCII, nulls left null.
@Suite("The AQL index's node rows as projected")
struct AQLNodeRowsTests {
    @Test(arguments: TestEngine.available)
    func everyNodeRowHoldsTheProjectedValues(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { test in
            let ehr = EHRFixture()
            try await ehr.create(in: test.store.versions)
            var tree = try NodeDictionaryCacheTests.composition(NodeDictionaryCacheTests.summary)
            // A name with what JSON escapes, and a quantity with a value binary fractions cannot hold exactly.
            tree = try #require(Self.renamed(tree, to: "Résumé \"IPS\" \\ line\nbreak\ttab"))
            try await NodeDictionaryCacheTests.commit(tree, ehr, in: test.store.versions)
            let nodes = NodeProjection.rows(of: tree)
            let archetype = tree["archetype_node_id"]?.stringValue ?? ""
            let expected = nodes.map { node in
                [
                    SQLValue.integer(IndexSchema.Shape.id(of: node, compositionArchetype: archetype)), .integer(IndexSchema.Place.id(of: node)),
                ] + IndexSchema.nodeColumns.map { $0.value(node) }
            }.sorted { ($0[2].integer, $0[0].integer) < ($1[2].integer, $1[0].integer) }
            let columns = ["shape", "place"] + IndexSchema.nodeColumns.map(\.name)
            let stored = try await test.database.query("SELECT \(columns.joined(separator: ", ")) FROM aql_node ORDER BY num, shape").map(\.values)
            #expect(stored.count == nodes.count && nodes.count > 800)
            for (row, want) in zip(stored, expected) where row != want {
                Issue.record("node \(want[2]): stored \(row), projected \(want)")
            }
            #expect(stored.contains { $0[5] == .text("Résumé \"IPS\" \\ line\nbreak\ttab") })
            #expect(stored.contains { if case .real(let number) = $0[6] { number != number.rounded() } else { false } })
        }
    }

    /// The composition with its name's value replaced.
    static func renamed(_ tree: JSON, to name: String) -> JSON? {
        guard case .object(var object) = tree, case .object(var nameObject)? = object["name"] else { return nil }
        nameObject["value"] = .string(name)
        object["name"] = .object(nameObject)
        return .object(object)
    }
}

extension SQLValue {
    fileprivate var integer: Int64 {
        if case .integer(let value) = self { return value }
        return .min
    }
}
