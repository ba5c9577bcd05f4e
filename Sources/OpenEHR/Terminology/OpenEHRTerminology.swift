import JSONCore

/// The openEHR terminology (TERM 3.1.0, English rubrics): its groups and
/// codes, shipped with Socle so that codes with terminology `openehr` are
/// checked without a terminology server.
public struct OpenEHRTerminology: Sendable {
    /// Codes and rubrics by group id (`composition_category`, `setting`, …).
    public let groups: [String: [String: String]]
    /// Every code of every group.
    public let allCodes: Set<String>
    /// External code sets by terminology id (`ISO_639-1`, `ISO_3166-1`,
    /// `IANA_character-sets`, `IANA_media-types`).
    public let codeSets: [String: Set<String>]

    public static let shared = OpenEHRTerminology(source: OpenEHRTerminology.source)

    init(source: String) {
        var groups: [String: [String: String]] = [:]
        var codeSets: [String: Set<String>] = [:]
        let table = try? JSONParser.parse(source)
        for (name, codes) in table?["codesets"]?.objectValue?.members ?? [] {
            codeSets[name] = Set(codes.arrayValue?.compactMap(\.stringValue) ?? [])
        }
        if case .object(let table)? = table?["groups"] {
            for (group, codes) in table.members {
                groups[group] = Dictionary(uniqueKeysWithValues: (codes.objectValue?.members ?? []).compactMap { member in
                    member.value.stringValue.map { (member.key, $0) }
                })
            }
        }
        self.groups = groups
        self.codeSets = codeSets
        allCodes = Set(groups.values.flatMap(\.keys))
    }

    /// The rubrics of a code in every group that has it (a few codes are in
    /// several groups with other rubrics: 532 is "completed" and "complete").
    public func rubrics(of code: String) -> Set<String> {
        Set(groups.values.compactMap { $0[code] })
    }

    public func contains(_ code: String, inGroup group: String) -> Bool {
        groups[group]?[code] != nil
    }
}
