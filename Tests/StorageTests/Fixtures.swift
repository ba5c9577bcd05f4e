import OpenEHR
import Storage

/// Records for one EHR with its EHR_STATUS, as the EHR service writes them.
struct EHRFixture {
    let ehrID = UUIDText.random()
    let statusID = UUIDText.random()
    var subjectID: String? = nil
    /// The patient record the EHR is linked to.
    var patientID: String? = nil

    func audit(_ time: Int64 = ISODateTime.now().microsecondsSinceEpoch, change: String = "249") -> AuditRecord {
        AuditRecord(systemID: "socle.test", committer: #"{"_type":"PARTY_IDENTIFIED","name":"tester"}"#, timeCommitted: time, changeType: change, description: nil)
    }

    func contribution(_ audit: AuditRecord) -> ContributionRecord {
        ContributionRecord(contributionID: UUIDText.random(), ehrID: ehrID, audit: audit)
    }

    func version(_ number: Int, contribution: ContributionRecord, data: String = #"{"_type":"EHR_STATUS"}"#) -> VersionRecord {
        VersionRecord(
            objectID: statusID, versionNumber: number, ehrID: ehrID, contributionID: contribution.contributionID, audit: contribution.audit,
            lifecycleState: "532", data: Array(data.utf8))
    }

    /// A version of another object of this EHR (a directory, a composition).
    func object(_ objectID: String, _ number: Int, contribution: ContributionRecord, data: String = #"{"_type":"FOLDER"}"#) -> VersionRecord {
        VersionRecord(
            objectID: objectID, versionNumber: number, ehrID: ehrID, contributionID: contribution.contributionID, audit: contribution.audit,
            lifecycleState: "532", data: Array(data.utf8))
    }

    var record: EHRRecord {
        EHRRecord(
            ehrID: ehrID, systemID: "socle.test", timeCreated: 1, statusObjectID: statusID, subjectID: subjectID,
            subjectNamespace: subjectID == nil ? nil : "patients", isQueryable: true, isModifiable: true, patientID: patientID)
    }

    /// Creates the EHR with version 1 of its status.
    func create(in store: VersionStore, at time: Int64 = ISODateTime.now().microsecondsSinceEpoch) async throws {
        let contribution = contribution(audit(time))
        try await store.commit(contribution, versions: [.create(version(1, contribution: contribution), rmType: "EHR_STATUS")], ehrChange: .create(record))
    }

    /// Commits version `number` over `number - 1`.
    func update(in store: VersionStore, to number: Int, at time: Int64 = ISODateTime.now().microsecondsSinceEpoch, data: String = #"{"v":2}"#)
        async throws
    {
        let contribution = contribution(audit(time, change: "251"))
        try await store.commit(
            contribution, versions: [.update(version(number, contribution: contribution, data: data), rmType: "EHR_STATUS", precedingVersion: number - 1)],
            ehrChange: .status(subjectID: subjectID, subjectNamespace: subjectID == nil ? nil : "patients", isQueryable: true, isModifiable: false))
    }
}
