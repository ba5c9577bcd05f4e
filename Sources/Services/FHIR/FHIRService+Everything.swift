import FHIR
import Foundation
import OpenEHR
import Storage

/// `Patient/{id}/$everything` (R4 Patient-everything operation): the
/// patient, every resource of their compartment (R4 CompartmentDefinition
/// Patient: the resources whose compartment parameters name them), and the
/// practitioners, organisations, locations and medications those refer to.
extension FHIRService {
    /// The types `$everything` adds when the patient's resources refer to them.
    static let everythingReferences: Set<String> = ["Practitioner", "PractitionerRole", "Organization", "Location", "Medication"]

    public struct Everything: Sendable {
        public var matches: [ResourceVersion]
        public var included: [ResourceVersion]
        public var total: Int
        /// The id to continue after when there are more (`_page`).
        public var next: String?
        public var count: Int
    }

    /// The operation's parameters: 400 for a wrong value or another parameter.
    static func everythingParameters(_ query: String) throws
        -> (types: Set<String>?, since: Int64?, count: Int, after: String?, start: Int64, end: Int64)
    {
        var (types, since, count, after): (Set<String>?, Int64?, Int, String?) = (nil, nil, 1000, nil)
        var (start, end): (Int64, Int64) = (FHIRSearchProjection.openLow, FHIRSearchProjection.openHigh)
        for (name, value) in FHIRSearchParser.pairs(query) where !FHIRSearchParser.formatParameters.contains(name) {
            switch name {
            case "start", "end":
                guard let range = SearchIndexer.searchRange(value) else { throw FHIRCriteriaParser.refusal("\(name) is a date, not '\(value)'") }
                if name == "start" { start = range.low } else { end = range.high }
            case "_type":
                types = Set(value.split(separator: ",").map(String.init))
                if let unknown = types?.first(where: { !knownTypes.contains($0) }) { throw FHIRCriteriaParser.refusal("_type: '\(unknown)' is not a resource type") }
            case "_since":
                guard let time = ISODateTime(value) else { throw FHIRCriteriaParser.refusal("_since is an instant, not '\(value)'") }
                since = time.microsecondsSinceEpoch
            case "_count":
                guard let number = Int(value), (1...FHIRSearch.maximumCount).contains(number) else {
                    throw FHIRCriteriaParser.refusal("_count must be from 1 to \(FHIRSearch.maximumCount), not '\(value)'")
                }
                count = number
            case "_page": after = value
            default: throw FHIRCriteriaParser.refusal("'\(name)' is not a parameter of $everything (start, end, _type, _since, _count)")
            }
        }
        guard start <= end else { throw FHIRCriteriaParser.refusal("start must not be after end") }
        return (types, since, count, after, start, end)
    }

    /// The search parameters whose dates are a resource's care dates (what
    /// `start` and `end` filter on): `date` of most clinical types, and the
    /// like of those that name it otherwise (Condition's onset, a request's authoring, a claim's creation).
    static let careDates = ["date", "onset-date", "authoredon", "effective", "effective-time", "created", "recorded-date", "whenhandedover", "period"]

    /// `start` and `end` (care dates: a resource with a care date is kept
    /// when one overlaps them, one without is kept), `_type` (the types
    /// wanted), `_since` (changed since), `_count` and `_page` (keyset over
    /// the resources' ids) as the operation's parameters; others are refused (400).
    public func everything(patient id: String, query: String) async throws -> Everything {
        _ = try await read(type: "Patient", id: id)
        let (types, since, count, after, start, end) = try Self.everythingParameters(query)
        let links = FHIRSchema.r4.compartments["Patient"] ?? [:]
        var members = Set(try await search.references(to: "Patient/" + id).filter { links[$0.type]?.contains($0.code) ?? false }.map(\.objectID))
            .union(["Patient/" + id])
        if start != FHIRSearchProjection.openLow || end != FHIRSearchProjection.openHigh {
            // Care dates outside the range leave a resource out, and what only it referred to.
            let (dated, within) = try await search.dates(of: members.sorted(), codes: Self.careDates, low: start, high: end)
            members = members.filter { !dated.contains($0) || within.contains($0) }
        }
        let referenced = Set(try await search.referenced(from: members.sorted(), codes: nil, targetType: nil).filter { reference in
            Self.everythingReferences.contains(String(reference.prefix { $0 != "/" }))
        }).subtracting(members)
        func wanted(_ reference: String) -> Bool { types.map { $0.contains(String(reference.prefix { $0 != "/" })) } ?? true }
        let all = members.union(referenced).filter(wanted).sorted()
        // Which are live is read from the index, without the documents; only the page's are loaded.
        // With `_since`, the commit times come with the versions of all of them.
        var live = try await search.live(all)
        if let since {
            let versions = try await latestResources(Array(live))
            live = live.filter { (versions[$0]?.lastUpdated.microsecondsSinceEpoch ?? 0) >= since }
        }
        let kept = all.filter(live.contains)
        let page = Array(kept.drop { reference in after.map { reference <= $0 } ?? false }.prefix(count))
        let latest = try await latestResources(page)
        let versions = page.compactMap { latest[$0] }
        return Everything(
            matches: versions.filter { members.contains($0.reference) }, included: versions.filter { !members.contains($0.reference) },
            total: kept.count, next: page.count == count && page.last != kept.last ? page.last : nil, count: count)
    }
}
