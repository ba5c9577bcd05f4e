import AQL
import JSONCore
import OpenEHR

/// The folders of each EHR's directory for AQL (`CONTAINS FOLDER`, issue 19
/// §2): for the latest, not deleted version of a directory, one row per
/// FOLDER, numbered as `NodeProjection` numbers the document (so a folder
/// contains the folders numbered within its `num`…`num_cap`, and a selected
/// folder is read from the stored version by its number), and one row per
/// item, naming the versioned object it refers to.
public struct AQLFolderProjection: Projection {
    public static let name = "aql_folders"
    public var name: String { Self.name }
    /// 1: folders and their items.
    public var version: Int { 1 }
    public var rmTypes: Set<String>? { ["FOLDER"] }
    public var tables: [String] { [IndexSchema.folderTable, IndexSchema.folderItemTable] }
    public var records: ProjectedRecords { .ofEHRs }

    public init() {}

    static func column(_ column: PlanColumn) -> String { IndexSchema.sqlName(column, .folder) }

    public func createStatements(_ kind: DatabaseKind) -> [String] {
        let (folders, items) = (IndexSchema.folderTable, IndexSchema.folderItemTable)
        return [
            """
            CREATE TABLE \(folders) (object_id TEXT NOT NULL, version_number INTEGER NOT NULL, ehr_id TEXT NOT NULL, num INTEGER NOT NULL,
            num_cap INTEGER NOT NULL, node_id TEXT, name TEXT, jpath TEXT NOT NULL, PRIMARY KEY (object_id, num))
            """,
            "CREATE INDEX \(folders)_ehr_idx ON \(folders) (ehr_id)",
            "CREATE TABLE \(items) (object_id TEXT NOT NULL, num INTEGER NOT NULL, item_id TEXT NOT NULL, PRIMARY KEY (object_id, num, item_id))",
            // From a composition to the folders that hold it.
            "CREATE INDEX \(items)_item_idx ON \(items) (item_id)",
        ]
    }

    public func dropStatements(_ kind: DatabaseKind) -> [String] {
        ["DROP TABLE IF EXISTS \(IndexSchema.folderItemTable)", "DROP TABLE IF EXISTS \(IndexSchema.folderTable)"]
    }

    /// One root folder per live directory.
    public func objectCountStatement(_ kind: DatabaseKind) -> String? { "SELECT COUNT(*) FROM \(IndexSchema.folderTable) WHERE num = 0" }

    public func statements(for version: ProjectedVersion, _ kind: DatabaseKind) -> [SQLStatement] {
        let objectID = version.record.objectID
        var statements =
            version.isCreation
            ? []
            : [IndexSchema.folderItemTable, IndexSchema.folderTable].map { SQLStatement("DELETE FROM \($0) WHERE object_id = ?", [.text(objectID)]) }
        guard !version.isDeleted, let document = version.document, let ehrID = version.record.ehrID else { return statements }
        let folders = Self.folders(of: document)
        for folder in folders {
            statements.append(
                SQLStatement(
                    "INSERT INTO \(IndexSchema.folderTable) (object_id, version_number, ehr_id, num, num_cap, node_id, name, jpath) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        .text(objectID), SQLValue(version.record.versionNumber), .text(ehrID), SQLValue(folder.row.num), SQLValue(folder.row.numCap),
                        SQLValue(folder.row.archetypeNodeID), SQLValue(folder.row.name), .text(folder.row.jsonPath),
                    ]))
            for item in folder.items {
                statements.append(
                    SQLStatement(
                        "INSERT INTO \(IndexSchema.folderItemTable) (object_id, num, item_id) VALUES (?, ?, ?)",
                        [.text(objectID), SQLValue(folder.row.num), .text(item)]))
            }
        }
        return statements
    }

    public func erasureStatements(_ kind: DatabaseKind) -> [SQLStatement] {
        [IndexSchema.folderItemTable, IndexSchema.folderTable].map {
            SQLStatement("DELETE FROM \($0) WHERE object_id IN (SELECT object_id FROM erased_object)")
        }
    }

    /// The FOLDER nodes of a directory and the versioned objects their items
    /// name: an item's id is an object's uid, or one of its versions'
    /// (`uuid::system::n`), either way the object.
    static func folders(of document: JSON) -> [(row: IndexedNode, items: [String])] {
        NodeProjection.nodes(of: document).compactMap { node in
            guard node.row.rmType == "FOLDER" else { return nil }
            let items = (node.value["items"]?.arrayValue ?? []).compactMap { item -> String? in
                guard let id = item["id"]?["value"]?.stringValue, !id.isEmpty else { return nil }
                return id.components(separatedBy: "::").first
            }
            return (node.row, Array(Set(items)).sorted())
        }
    }
}
