import FHIR
import JSONCore
import Storage
import Synchronization

/// The profiles FHIR writes are checked against (R4 §Profiling, issue 13
/// §Validation): FR Core, which Socle carries, and the conformance
/// resources stored on this server (StructureDefinitions with a snapshot,
/// ValueSets, CodeSystems: an implementation guide's package loaded with
/// `socle fhir load-package`, or written through the API). Read at start
/// and after every write of a conformance resource through this process;
/// another node sharing the database sees them at its next start or write.
public final class FHIRProfiles: Sendable {
    /// The resource types a profile registry is made of.
    public static let conformanceTypes: Set<String> = ["StructureDefinition", "ValueSet", "CodeSystem"]

    private let current: Mutex<ProfileRegistry>

    public init(_ registry: ProfileRegistry = .frCore) {
        current = Mutex(registry)
    }

    public var registry: ProfileRegistry { current.withLock { $0 } }

    /// FR Core and every conformance resource stored (the latest version of
    /// each that is not deleted); returns those that cannot serve as one
    /// (a StructureDefinition without a snapshot), which are left out.
    @discardableResult
    public func reload(from store: VersionStore) async throws -> [String] {
        var resources: [JSON] = []
        for type in Self.conformanceTypes.sorted() {
            let ids = try await store.objects(rmType: type).filter { $0.ehrID == nil }.map(\.objectID)
            let latest = try await store.latestVersions(objectIDs: ids)
            for id in ids {
                guard let record = latest[id], !record.data.isEmpty, let json = try? JSONParser.parse(record.data) else { continue }
                resources.append(json)
            }
        }
        let (registry, refused) = ProfileRegistry.frCore.adding(resources)
        current.withLock { $0 = registry }
        return refused.map(\.message)
    }

    /// A service's profiles, read from its store.
    public static func loaded(from store: VersionStore) async throws -> FHIRProfiles {
        let profiles = FHIRProfiles()
        try await profiles.reload(from: store)
        return profiles
    }
}
