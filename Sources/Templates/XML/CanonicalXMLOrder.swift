extension CanonicalXML {
    /// Child element order of each RM class in canonical XML: the
    /// `xs:sequence` of the ITS-XML RM Release 1.0.4 schemas (Common,
    /// DataTypes, DataStructures, Ehr, BASE Release 1.1.0 identifiers),
    /// ancestors' elements first. Attributes RM 1.1.0 added after those
    /// schemas (`null_reason`, `preferred_term`, `units_system`,
    /// `units_display_name`, `property`, DV_SCALE, `other_details` of a
    /// feeder audit) follow their class's sequence.
    static let elementOrder: [String: [String]] = {
        let locatable = ["name", "uid", "links", "archetype_details", "feeder_audit"]
        let entry = locatable + ["language", "encoding", "subject", "provider", "other_participations", "workflow_id"]
        let careEntry = entry + ["protocol", "guideline_id"]
        let event = locatable + ["time", "data", "state"]
        let ordered = ["normal_range", "other_reference_ranges", "normal_status"]
        let quantified = ordered + ["magnitude_status"]
        let amount = quantified + ["accuracy", "accuracy_is_percent"]
        let temporal = quantified + ["accuracy", "value"]
        let encapsulated = ["charset", "language"]
        let objectRef = ["id", "namespace", "type"]
        let text = ["value", "hyperlink", "formatting", "mappings", "language", "encoding"]
        let audit = ["system_id", "committer", "time_committed", "change_type", "description"]
        let version = ["contribution", "commit_audit", "signature"]
        let partyIdentified = ["external_ref", "name", "identifiers"]
        var order: [String: [String]] = [
            // EHR information model (Ehr.xsd)
            "EHR": ["system_id", "ehr_id", "time_created", "contributions", "ehr_access", "ehr_status", "directory", "compositions"],
            "EHR_ACCESS": locatable + ["settings"],
            "EHR_STATUS": locatable + ["subject", "is_queryable", "is_modifiable", "other_details"],
            "COMPOSITION": locatable + ["language", "territory", "category", "composer", "context", "content"],
            "EVENT_CONTEXT": [
                "start_time", "end_time", "location", "setting", "other_context", "health_care_facility", "participations",
            ],
            "SECTION": locatable + ["items"],
            "GENERIC_ENTRY": locatable + ["data"],
            "ADMIN_ENTRY": entry + ["data"],
            "OBSERVATION": careEntry + ["data", "state"],
            "EVALUATION": careEntry + ["data"],
            "INSTRUCTION": careEntry + ["narrative", "expiry_time", "wf_definition", "activities"],
            "ACTION": careEntry + ["time", "description", "ism_transition", "instruction_details"],
            "ACTIVITY": locatable + ["description", "timing", "action_archetype_id"],
            "INSTRUCTION_DETAILS": ["instruction_id", "activity_id", "wf_details"],
            "ISM_TRANSITION": ["current_state", "transition", "careflow_step", "reason"],
            // Data structures (DataStructures.xsd)
            "HISTORY": locatable + ["origin", "period", "duration", "events", "summary"],
            "POINT_EVENT": event,
            "INTERVAL_EVENT": event + ["width", "sample_count", "math_function"],
            "ITEM_SINGLE": locatable + ["item"],
            "ITEM_LIST": locatable + ["items"],
            "ITEM_TREE": locatable + ["items"],
            "ITEM_TABLE": locatable + ["rows"],
            "CLUSTER": locatable + ["items"],
            "ELEMENT": locatable + ["value", "null_flavour", "null_reason"],
            // Common (Common.xsd)
            "ARCHETYPED": ["archetype_id", "template_id", "rm_version"],
            "LINK": ["meaning", "type", "target"],
            "FEEDER_AUDIT": [
                "originating_system_item_ids", "feeder_system_item_ids", "original_content", "originating_system_audit",
                "feeder_system_audit",
            ],
            "FEEDER_AUDIT_DETAILS": ["system_id", "location", "provider", "subject", "time", "version_id", "other_details"],
            "REVISION_HISTORY": ["items"],
            "REVISION_HISTORY_ITEM": ["version_id", "audits"],
            "AUDIT_DETAILS": audit,
            "ATTESTATION": audit + ["attested_view", "proof", "items", "reason", "is_pending"],
            "PARTY_SELF": ["external_ref"],
            "PARTY_IDENTIFIED": partyIdentified,
            "PARTY_RELATED": partyIdentified + ["relationship"],
            "PARTICIPATION": ["function", "performer", "time", "mode"],
            "ORIGINAL_VERSION": version + [
                "uid", "data", "preceding_version_uid", "other_input_version_uids", "attestations", "lifecycle_state",
            ],
            "IMPORTED_VERSION": version + ["item"],
            "VERSIONED_OBJECT": ["uid", "owner_id", "time_created"],
            "CONTRIBUTION": ["uid", "versions", "audit"],
            "FOLDER": locatable + ["folders", "items", "details"],
            // Data types (DataTypes.xsd)
            "DV_BOOLEAN": ["value"],
            "DV_IDENTIFIER": ["issuer", "assigner", "id", "type"],
            "DV_STATE": ["value", "is_terminal"],
            "DV_INTERVAL": ["lower", "upper", "lower_included", "upper_included", "lower_unbounded", "upper_unbounded"],
            "REFERENCE_RANGE": ["meaning", "range"],
            "DV_COUNT": amount + ["magnitude"],
            "DV_QUANTITY": amount + ["magnitude", "units", "precision", "units_system", "units_display_name", "property"],
            "DV_ORDINAL": ordered + ["value", "symbol"],
            "DV_SCALE": ordered + ["value", "symbol"],
            "DV_PROPORTION": amount + ["numerator", "denominator", "type", "precision"],
            "DV_PARAGRAPH": ["items"],
            "DV_TEXT": text,
            "DV_CODED_TEXT": text + ["defining_code"],
            "CODE_PHRASE": ["terminology_id", "code_string", "preferred_term"],
            "TERM_MAPPING": ["match", "purpose", "target"],
            "DV_DATE_TIME": temporal,
            "DV_DATE": temporal,
            "DV_TIME": temporal,
            "DV_DURATION": amount + ["value"],
            "DV_PERIODIC_TIME_SPECIFICATION": ["value"],
            "DV_GENERAL_TIME_SPECIFICATION": ["value"],
            "DV_MULTIMEDIA": encapsulated + [
                "alternate_text", "uri", "data", "media_type", "compression_algorithm", "integrity_check",
                "integrity_check_algorithm", "size", "thumbnail",
            ],
            "DV_PARSABLE": encapsulated + ["value", "formalism", "size"],
            "DV_URI": ["value"],
            "DV_EHR_URI": ["value"],
            // Identifiers (BASE BaseTypes.xsd)
            "OBJECT_REF": objectRef,
            "PARTY_REF": objectRef,
            "ACCESS_GROUP_REF": objectRef,
            "LOCATABLE_REF": objectRef + ["path"],
            "GENERIC_ID": ["value", "scheme"],
        ]
        for identifier in [
            "HIER_OBJECT_ID", "OBJECT_VERSION_ID", "ARCHETYPE_ID", "TEMPLATE_ID", "TERMINOLOGY_ID", "INTERNET_ID", "ISO_OID", "UUID",
            "VERSION_TREE_ID",
        ] {
            order[identifier] = ["value"]
        }
        return order
    }()

    /// Each element's place in its class's sequence.
    static let elementRank: [String: [String: Int]] = elementOrder.mapValues { order in
        Dictionary(order.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }
}
