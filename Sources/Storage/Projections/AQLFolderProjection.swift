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

    public func createStatements(_ kind: DatabaseKind) -> [String] {
        let (folders, items) = (IndexSchema.folderTable, IndexSchema.folderItemTable)
        func name(_ column: PlanColumn, _ table: PlanTable) -> String { IndexSchema.sqlName(column, table) }
        let itemKey = IndexSchema.folderItemColumns.map(\.name).joined(separator: ", ")
        return [
            "CREATE TABLE \(folders) (\(IndexSchema.definitions(IndexSchema.folderColumns, kind)), PRIMARY KEY (\(name(.objectID, .folder)), \(name(.num, .folder))))",
            "CREATE INDEX \(folders)_ehr_idx ON \(folders) (\(name(.ehrID, .folder)))",
            "CREATE TABLE \(items) (\(IndexSchema.definitions(IndexSchema.folderItemColumns, kind)), PRIMARY KEY (\(itemKey)))",
            // From a composition to the folders that hold it.
            "CREATE INDEX \(items)_item_idx ON \(items) (\(name(.itemID, .folderItem)))",
        ]
    }

    public func dropStatements(_ kind: DatabaseKind) -> [String] {
        ["DROP TABLE IF EXISTS \(IndexSchema.folderItemTable)", "DROP TABLE IF EXISTS \(IndexSchema.folderTable)"]
    }

    /// One root folder per live directory.
    public func objectCountStatement(_ kind: DatabaseKind) -> String? {
        "SELECT COUNT(*) FROM \(IndexSchema.folderTable) WHERE \(IndexSchema.sqlName(.num, .folder)) = 0"
    }

    public func statements(for version: ProjectedVersion, _ kind: DatabaseKind) -> [SQLStatement] {
        var statements = version.isCreation ? [] : removal(objectID: version.record.objectID)
        guard !version.isDeleted, let document = version.document, let ehrID = version.record.ehrID else { return statements }
        for folder in Self.folders(of: document) {
            let row = IndexSchema.FolderRow(record: version.record, ehrID: ehrID, node: folder.row)
            statements.append(IndexSchema.insert(into: IndexSchema.folderTable, IndexSchema.folderColumns, row))
            for item in folder.items {
                let row = IndexSchema.FolderItemRow(objectID: version.record.objectID, num: folder.row.num, itemID: item)
                statements.append(IndexSchema.insert(into: IndexSchema.folderItemTable, IndexSchema.folderItemColumns, row))
            }
        }
        return statements
    }

    func removal(objectID: String) -> [SQLStatement] {
        let object = IndexSchema.sqlName(.objectID, .folder)
        return [IndexSchema.folderItemTable, IndexSchema.folderTable].map { SQLStatement("DELETE FROM \($0) WHERE \(object) = ?", [.text(objectID)]) }
    }

    public func erasureStatements(_ kind: DatabaseKind) -> [SQLStatement] {
        [IndexSchema.folderItemTable, IndexSchema.folderTable].map {
            SQLStatement("DELETE FROM \($0) WHERE \(IndexSchema.sqlName(.objectID, .folder)) IN (SELECT object_id FROM erased_object)")
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
