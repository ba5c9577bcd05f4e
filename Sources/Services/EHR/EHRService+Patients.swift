import OpenEHR
import Storage

/// The EHR of a FHIR Patient (issue 13, ARCHITECTURE.md §Identity): a
/// Patient is master data without an EHR, and each one is linked to an
/// openEHR EHR whose EHR_STATUS.subject refers to it, so both faces speak of
/// one person: `GET /openehr/v1/ehr?subject_id={id}&subject_namespace=fhir`
/// finds the record of `Patient/{id}`, and erasing the patient erases the EHR.
extension EHRService {
    /// The namespace of the PARTY_REF by which an EHR names its FHIR Patient.
    public static let fhirPatientNamespace = "fhir"

    /// EHR_STATUS.subject of the EHR of `Patient/{id}`: PARTY_SELF whose
    /// external_ref is the Patient's logical id (GENERIC_ID, scheme `fhir`)
    /// in the `fhir` namespace, a PERSON.
    public static func subject(ofPatient id: String) -> PartyProxy {
        PartyProxy(
            kind: .self,
            externalRef: PartyReference(
                id: ObjectID(rmType: "GENERIC_ID", value: id, scheme: fhirPatientNamespace), namespace: fhirPatientNamespace, type: "PERSON"))
    }

    /// What linking each of `patients` (`Patient/{id}`) to an EHR writes,
    /// each as a contribution of its own: nothing for a patient already
    /// linked; the link for an EHR a client created with that subject before
    /// the Patient existed; else a new EHR (created on the Patient's first
    /// write, so that the openEHR face finds it at once). 409 when the EHR
    /// with that subject is linked to another patient.
    public func patientLinks(_ patients: [String], audit: AuditRecord) async throws -> [StoreCommit] {
        var commits: [StoreCommit] = []
        for patient in Set(patients).sorted() {
            guard try await store.ehr(patientID: patient) == nil else { continue }
            let id = String(patient.dropFirst("Patient/".count))
            if let existing = try await store.ehr(subjectID: id, subjectNamespace: Self.fhirPatientNamespace) {
                guard existing.patientID == nil else {
                    throw ServiceError(.conflict, "EHR \(existing.ehrID) has the subject of \(patient) but is linked to \(existing.patientID ?? "")")
                }
                var linkAudit = audit
                linkAudit.changeType = AuditChangeType.modification.rawValue
                linkAudit.description = "EHR linked to \(patient), its subject"
                let contribution = ContributionRecord(contributionID: UUIDText.timeOrdered(), ehrID: existing.ehrID, patientID: patient, audit: linkAudit)
                commits.append((contribution, [], [.linkPatient(patient)]))
            } else {
                var creationAudit = audit
                creationAudit.changeType = AuditChangeType.creation.rawValue
                creationAudit.description = "EHR of \(patient)"
                let status = EHRStatus(subject: Self.subject(ofPatient: id))
                commits.append(creation(id: UUIDText.random(), status: status, audit: creationAudit, patientID: patient).commit)
            }
        }
        return commits
    }
}
