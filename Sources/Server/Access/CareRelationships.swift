import Foundation
import HTTPTypes
import Hummingbird
import JSONCore
import Services
import Storage
import Synchronization

/// The patients a clinician has a care relationship with (issue 16 §3),
/// read from the record: the active FHIR CareTeams one of whose
/// participants is the clinician's Practitioner — the Practitioner whose
/// identifier is the user's national identifier (urn:oid:1.2.250.1.71.4.2.1),
/// or else the user's name. Kept for a few seconds per user.
final class CareRelationships: Sendable {
    let fhir: FHIRService
    let versions: VersionStore
    let cache = Mutex<[String: (at: ContinuousClock.Instant, scope: PatientScope)]>([:])
    static let kept: Duration = .seconds(10)

    init(fhir: FHIRService, versions: VersionStore) {
        self.fhir = fhir
        self.versions = versions
    }

    /// Whether the limit applies: users with a clinical role who are neither
    /// an integration service nor limited to one patient already.
    static func applies(to user: User) -> Bool {
        !user.roles.isDisjoint(with: [.clinician, .researcher]) && !user.roles.contains(.integration) && user.token?.hasPatientContext != true
    }

    /// The patients (and their EHRs) in the user's care.
    func scope(of user: User) async throws -> PatientScope {
        let key = user.token?.nationalID.map { "national:" + $0 } ?? "user:" + user.name
        if let cached = cache.withLock({ $0[key] }), ContinuousClock.now - cached.at < Self.kept { return cached.scope }
        let identifier = user.token?.nationalID.map { "urn:oid:\(TokenIdentity.nationalIDIssuer)|" + $0 } ?? user.name
        let practitioners = try await fhir.search(type: "Practitioner", query: "identifier=" + Self.encoded(identifier) + "&_count=100").matches
        var scope = PatientScope(patients: [], ehrIDs: [], patientID: nil)
        scope.holder = "the care relationships (active CareTeams) of this user hold it to"
        scope.remedy = "; send X-Break-The-Glass: <reason> to reach them anyway"
        for practitioner in practitioners {
            let teams = try await fhir.search(type: "CareTeam", query: "participant=Practitioner/\(practitioner.id)&status=active&_count=1000").matches
            for team in teams {
                guard let subject = team.json?["subject"]?["reference"]?.stringValue, subject.hasPrefix("Patient/") else { continue }
                scope.patients.insert(subject)
                if let ehr = try await versions.ehr(patientID: subject), !scope.ehrIDs.contains(ehr.ehrID) {
                    scope.ehrIDs.append(ehr.ehrID)
                    scope.patients.insert("EHR/" + ehr.ehrID)
                }
            }
        }
        cache.withLock { $0[key] = (.now, scope) }
        return scope
    }

    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~:"))) ?? text
    }
}

extension HTTPField.Name {
    /// `X-Break-The-Glass: <reason>`: reach a patient outside one's care
    /// relationships, with a reason the trace keeps.
    static let breakTheGlass = HTTPField.Name("X-Break-The-Glass")!
    /// RFC 7234 §5.5 `Warning` (obsolete in RFC 9111, still what clients show).
    static let warning = HTTPField.Name("Warning")!
}
