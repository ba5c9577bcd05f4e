import JSONCore
import OpenEHR
import Storage

/// Who commits and why: the audit a client asks for (ITS-REST 1.0.3
/// §openEHR-AUDIT_DETAILS headers, 1.1 `openehr-audit-details` and
/// `openehr-version`), merged with the server's defaults.
public struct Committal: Sendable, Equatable {
    public var committer: PartyProxy
    public var description: String?
    /// A change type the client names; otherwise the operation's own.
    public var changeType: AuditChangeType?
    /// The system the client says commits (ITS-REST 1.1: `system_id`); it
    /// must be this server's, which records the change.
    public var systemID: String?
    /// The lifecycle state of the version written (`openehr-version`):
    /// complete unless the client says incomplete.
    public var lifecycleState: VersionLifecycleState
    /// Tags sent with the version (ITS-REST development `openehr-item-tag`
    /// for its versioned object, `openehr-version-item-tag` for the version
    /// written): nil leaves them as they are, an empty list removes them.
    public var objectTags: [ItemTagRecord]?
    public var versionTags: [ItemTagRecord]?

    public init(
        committer: PartyProxy, description: String? = nil, changeType: AuditChangeType? = nil, systemID: String? = nil,
        lifecycleState: VersionLifecycleState = .complete
    ) {
        self.committer = committer
        self.description = description
        self.changeType = changeType
        self.systemID = systemID
        self.lifecycleState = lifecycleState
    }

    /// The AUDIT_DETAILS recorded; 400 when the client names another system.
    func audit(systemID: String, at time: ISODateTime, defaultChange: AuditChangeType) throws -> AuditRecord {
        if let claimed = self.systemID, claimed != systemID {
            throw ServiceError(
                .badRequest, "system_id '\(claimed)' is not this system: changes committed here are recorded with system_id '\(systemID)'",
                problems: [DecodingProblem(path: "/system_id", message: "must be '\(systemID)' or left out")])
        }
        return AuditRecord(
            systemID: systemID, committer: JSONSerializer.string(committer.json), timeCommitted: time.microsecondsSinceEpoch,
            changeType: (changeType ?? defaultChange).rawValue, description: description)
    }
}

extension Committal {
    /// The tag changes sent with a version of `ehrID`'s object, for its commit.
    func tagReplacements(ehrID: String, uid: ObjectVersionID, audit: AuditRecord) -> [TagReplacement] {
        var replacements: [TagReplacement] = []
        if let objectTags {
            replacements.append(
                TagReplacement(
                    target: TagTarget(ehrID: ehrID, objectID: uid.objectID), tags: objectTags, changedBy: changedBy, changedAt: audit.timeCommitted))
        }
        if let versionTags {
            replacements.append(
                TagReplacement(
                    target: TagTarget(ehrID: ehrID, objectID: uid.objectID, versionNumber: uid.versionNumber), tags: versionTags, changedBy: changedBy,
                    changedAt: audit.timeCommitted))
        }
        return replacements
    }
}

/// Renders stored versions as the RM's ORIGINAL_VERSION, with the data
/// bytes spliced in exactly as they were committed.
enum OriginalVersionJSON {
    static func bytes(_ version: VersionRecord, systemID: String) -> [UInt8] {
        let uid = ObjectVersionID(objectID: version.objectID, creatingSystemID: systemID, versionNumber: version.versionNumber)
        var head = JSONObject([("_type", "ORIGINAL_VERSION"), ("uid", ["_type": "OBJECT_VERSION_ID", "value": .string(uid.description)])])
        if version.versionNumber > 1 {
            var preceding = uid
            preceding.versionNumber -= 1
            head["preceding_version_uid"] = ["_type": "OBJECT_VERSION_ID", "value": .string(preceding.description)]
        }
        let tail = JSONObject([
            ("lifecycle_state", (VersionLifecycleState(rawValue: version.lifecycleState) ?? .complete).json),
            ("commit_audit", auditJSON(version.audit)),
            ("contribution", contributionReference(version.contributionID)),
        ])
        var output = JSONSerializer.bytes(.object(head))
        output.removeLast()
        output.append(contentsOf: #","data":"#.utf8)
        output.append(contentsOf: version.data.isEmpty ? Array("null".utf8) : version.data)
        var rest = JSONSerializer.bytes(.object(tail))
        rest[0] = UInt8(ascii: ",")
        output.append(contentsOf: rest)
        return output
    }

    /// VERSIONED_EHR_STATUS, VERSIONED_COMPOSITION … (RM 1.1.0 common.change_control).
    static func versionedObject(_ object: VersionedObjectRecord, type: String) -> JSON {
        [
            "_type": .string(type),
            "uid": ["_type": "HIER_OBJECT_ID", "value": .string(object.objectID)],
            "owner_id": ["id": ["_type": "HIER_OBJECT_ID", "value": .string(object.ehrID ?? "")], "namespace": "local", "type": "EHR"],
            "time_created": ["_type": "DV_DATE_TIME", "value": .string(ISODateTime(microsecondsSinceEpoch: object.timeCreated).description)],
        ]
    }

    /// REVISION_HISTORY: one item per version, with its audit, oldest first.
    static func revisionHistory(_ versions: [VersionRecord], systemID: String) -> JSON {
        [
            "_type": "REVISION_HISTORY",
            "items": .array(
                versions.map { version in
                    [
                        "_type": "REVISION_HISTORY_ITEM",
                        "version_id": [
                            "_type": "OBJECT_VERSION_ID",
                            "value": .string(
                                ObjectVersionID(objectID: version.objectID, creatingSystemID: systemID, versionNumber: version.versionNumber).description),
                        ],
                        "audits": [auditJSON(version.audit)],
                    ]
                }),
        ]
    }

    static func contributionReference(_ id: String) -> JSON {
        ["id": ["_type": "HIER_OBJECT_ID", "value": .string(id)], "namespace": "local", "type": "CONTRIBUTION"]
    }

    /// AUDIT_DETAILS from its stored row.
    static func auditJSON(_ audit: AuditRecord) -> JSON {
        let committer = (try? JSONParser.parse(audit.committer)) ?? PartyProxy.identified(name: "unknown").json
        return AuditDetails(
            systemID: audit.systemID,
            committer: PartyProxy(kind: .identified),
            timeCommitted: ISODateTime(microsecondsSinceEpoch: audit.timeCommitted),
            changeType: AuditChangeType(rawValue: audit.changeType) ?? .unknown,
            description: audit.description
        ).json.replacing("committer", with: committer)
    }
}

extension JSON {
    func replacing(_ key: String, with value: JSON) -> JSON {
        guard case .object(var object) = self else { return self }
        object[key] = value
        return .object(object)
    }
}
