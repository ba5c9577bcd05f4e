import AQL
import JSONCore
import OpenEHR
import Storage

/// ITEM_TAG use cases (RM 1.1.0 common §Tags; ITS-REST development
/// §ITEM_TAG): the tags of a COMPOSITION or EHR_STATUS, of its versioned
/// object (`uuid`) or of one version (`uuid::system::n`), and of a whole EHR.
/// Tags are not versioned; each change is logged with who made it.
public struct TagService: Sendable {
    public let store: Store
    public let systemID: String

    public init(store: Store, systemID: String) {
        self.store = store
        self.systemID = systemID
    }

    /// What the tags are attached to, by the path's resource name.
    public enum Owner: String, Sendable {
        case composition = "COMPOSITION"
        case ehrStatus = "EHR_STATUS"
    }

    /// A tagged target as named in the path: `uid_based_id` resolved.
    public struct Target: Sendable {
        public var tagTarget: TagTarget
        public var owner: Owner
    }

    /// GET …/{uid_based_id}/tags: the target's tags (an empty list when it has none).
    public func tags(ehrID: String, uidBasedID: String, owner: Owner) async throws -> JSON {
        let target = try await resolve(ehrID: ehrID, uidBasedID: uidBasedID, owner: owner)
        return .array(try await store.tags.tags(of: target.tagTarget).map { json($0) })
    }

    /// PUT …/{uid_based_id}/tags: the target's tags become `body`'s list
    /// (an empty list removes them all); answers the tags as stored.
    public func replace(ehrID: String, uidBasedID: String, owner: Owner, body: JSON, committal: Committal) async throws -> JSON {
        let tags = try Self.tags(fromBody: body)
        let target = try await resolve(ehrID: ehrID, uidBasedID: uidBasedID, owner: owner)
        try await run {
            try await store.tags.replace(
                TagReplacement(
                    target: target.tagTarget, tags: tags, changedBy: committal.changedBy, changedAt: ISODateTime.now().microsecondsSinceEpoch))
        }
        return .array(try await store.tags.tags(of: target.tagTarget).map { json($0) })
    }

    /// DELETE …/{uid_based_id}/tags/{key}: 404 when the target has no such tag.
    public func remove(ehrID: String, uidBasedID: String, owner: Owner, key: String, committal: Committal) async throws {
        let target = try await resolve(ehrID: ehrID, uidBasedID: uidBasedID, owner: owner)
        try await run {
            try await store.tags.remove(target.tagTarget, key: key, changedBy: committal.changedBy, changedAt: ISODateTime.now().microsecondsSinceEpoch)
        }
    }

    /// GET /ehr/{ehr_id}/tags: every tag of the EHR's objects and versions;
    /// each filter given matches any of its values.
    public func ehrTags(ehrID: String, filter: TagFilter) async throws -> JSON {
        let ehr = try await store.versions.existingEHR(ehrID)
        return .array(try await store.tags.tags(ehrID: ehr.ehrID, matching: filter).map { json($0) })
    }

    /// The ITEM_TAG JSON (ITS-REST development §ItemTagOfComposition):
    /// `target` an OBJECT_REF to the version or the versioned object,
    /// `owner_id` to the EHR.
    func json(_ stored: StoredItemTag) -> JSON {
        let id: JSON =
            if let number = stored.target.versionNumber {
                [
                    "_type": "OBJECT_VERSION_ID",
                    "value": .string(ObjectVersionID(objectID: stored.target.objectID, creatingSystemID: systemID, versionNumber: number).description),
                ]
            } else {
                ["_type": "HIER_OBJECT_ID", "value": .string(stored.target.objectID)]
            }
        var tag = JSONObject([("key", .string(stored.tag.key))])
        if let value = stored.tag.value { tag["value"] = .string(value) }
        if let path = stored.tag.targetPath { tag["target_path"] = .string(path) }
        tag["target"] = ["id": id, "namespace": "local", "type": .string(stored.rmType)]
        tag["owner_id"] = ["id": ["_type": "HIER_OBJECT_ID", "value": .string(stored.target.ehrID)], "namespace": "local", "type": "EHR"]
        return .object(tag)
    }

    /// The target a path names; 404 when the EHR, the object or the version
    /// is not there, or the object is not of the path's kind.
    func resolve(ehrID: String, uidBasedID: String, owner: Owner) async throws -> Target {
        let ehr = try await store.versions.existingEHR(ehrID)
        let missing = ServiceError(.notFound, "EHR \(ehr.ehrID) has no \(owner.rawValue) \(uidBasedID)")
        var number: Int?
        let objectID: String
        if let uid = ObjectVersionID(uidBasedID) {
            guard uid.creatingSystemID == systemID else { throw missing }
            objectID = uid.objectID.lowercased()
            number = uid.versionNumber
        } else {
            guard let id = try? CompositionService.objectID(versionedObjectUID: uidBasedID, systemID: systemID) else { throw missing }
            objectID = id
        }
        guard let object = try await store.versions.versionedObject(objectID), object.ehrID == ehr.ehrID, object.rmType == owner.rawValue,
            (number ?? 1) <= object.latestVersion
        else { throw missing }
        return Target(tagTarget: TagTarget(ehrID: ehr.ehrID, objectID: objectID, versionNumber: number), owner: owner)
    }

    func run(_ body: () async throws -> Void) async throws {
        do { try await body() } catch let error as StoreError { throw ServiceError(error) }
    }

    // MARK: Reading tags

    /// The UPDATE_ITEM_TAG list of a PUT body, every problem with its path.
    public static func tags(fromBody body: JSON) throws -> [ItemTagRecord] {
        guard case .array(let items) = body else {
            throw ServiceError(.badRequest, "the tags are a JSON array of {key, value, target_path}", problems: [DecodingProblem(path: "/", message: "an array is expected")])
        }
        var problems: [DecodingProblem] = []
        var tags: [ItemTagRecord] = []
        for (index, item) in items.enumerated() {
            guard case .object(let object) = item else {
                problems.append(DecodingProblem(path: "/\(index)", message: "a tag is an object with key, value and target_path"))
                continue
            }
            for name in object.keys where !["key", "value", "target_path"].contains(name) {
                problems.append(DecodingProblem(path: "/\(index)/\(name)", message: "unknown attribute of a tag (key, value, target_path)"))
            }
            var fields: [String: String] = [:]
            for name in ["key", "value", "target_path"] {
                guard let value = object[name], value != .null else { continue }
                guard let text = value.stringValue, case .string = value else {
                    problems.append(DecodingProblem(path: "/\(index)/\(name)", message: "a string is expected"))
                    continue
                }
                fields[name] = text
            }
            guard let tag = checked(key: fields["key"], value: fields["value"], targetPath: fields["target_path"], at: "/\(index)", problems: &problems)
            else { continue }
            if tags.contains(where: { $0.key == tag.key && $0.targetPath == tag.targetPath }) {
                problems.append(DecodingProblem(path: "/\(index)", message: "tag '\(tag.key)' is given twice for the same target path: a key and a path name one tag"))
            }
            tags.append(tag)
        }
        if !problems.isEmpty { throw ServiceError(.badRequest, "the tags are not valid", problems: problems) }
        return tags
    }

    /// One tag checked against the ITEM_TAG invariants (RM 1.1.0: `Key_valid`,
    /// a key not empty and without surrounding spaces; `Value_valid`, a value
    /// not empty when given) and its path against the AQL path syntax.
    static func checked(key: String?, value: String?, targetPath: String?, at path: String, problems: inout [DecodingProblem]) -> ItemTagRecord? {
        let before = problems.count
        if let key {
            if key.isEmpty || key.trimmingCharacters(in: .whitespacesAndNewlines) != key {
                problems.append(DecodingProblem(path: path + "/key", message: "a tag key is not empty and has no leading or trailing spaces (ITEM_TAG Key_valid)"))
            }
        } else {
            problems.append(DecodingProblem(path: path + "/key", message: "a tag has a key"))
        }
        if let value, value.isEmpty {
            problems.append(DecodingProblem(path: path + "/value", message: "a tag value, when given, is not empty (ITEM_TAG Value_valid)"))
        }
        if let targetPath, !isAQLPath(targetPath) {
            problems.append(DecodingProblem(path: path + "/target_path", message: "'\(targetPath)' is not an AQL path within the target (/context/start_time …)"))
        }
        guard problems.count == before, let key else { return nil }
        return ItemTagRecord(key: key, value: value, targetPath: targetPath.flatMap { $0 == "/" || $0.isEmpty ? nil : $0 })
    }

    /// A path in the AQL path syntax, read by the AQL parser itself.
    static func isAQLPath(_ text: String) -> Bool {
        if text.isEmpty || text == "/" { return true }
        guard text.hasPrefix("/") else { return false }
        guard let query = try? Parser.parse("SELECT t\(text) FROM COMPOSITION t"), query.select.columns.count == 1,
            case .path(let path) = query.select.columns[0].expression, path.variable == "t", query.select.columns[0].alias == nil
        else { return false }
        return true
    }
}

extension Committal {
    /// Who a tag change is logged as: the committer's name, or its JSON.
    var changedBy: String {
        if let name = committer.name { return name }
        return JSONSerializer.string(committer.json)
    }
}
