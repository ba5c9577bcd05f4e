import JSONCore

/// RM 1.1.0 invariants of data_structures, common (parties, participations,
/// archetyped) and the composition package.
extension InvariantCheck {
    mutating func structure() {
        switch type {
        case "ITEM_TABLE": itemTable()
        case "ELEMENT": element()
        case "HISTORY": history()
        case "INTERVAL_EVENT": group("math_function", "event_math_function", RMInvariant("INTERVAL_EVENT", "Math_function_validity"))
        case "COMPOSITION": composition()
        case "EVENT_CONTEXT":
            group("setting", "setting", RMInvariant("EVENT_CONTEXT", "Setting_valid"))
            requireNonEmpty("location", RMInvariant("EVENT_CONTEXT", "Location_valid"))
        case "OBSERVATION", "EVALUATION", "INSTRUCTION", "ACTION", "ADMIN_ENTRY":
            codeSet("language", "ISO_639-1", RMInvariant("ENTRY", "Language_valid"))
            codeSet("encoding", "IANA_character-sets", RMInvariant("ENTRY", "Encoding_valid"))
        case "ACTIVITY": requireNonEmpty("action_archetype_id", RMInvariant("ACTIVITY", "Action_archetype_id_valid"))
        case "ISM_TRANSITION":
            group("current_state", "instruction_states", RMInvariant("ISM_TRANSITION", "Current_state_valid"))
            group("transition", "instruction_transitions", RMInvariant("ISM_TRANSITION", "Transition_valid"))
        case "INSTRUCTION_DETAILS": requireNonEmpty("activity_id", RMInvariant("INSTRUCTION_DETAILS", "Activity_path_valid"))
        case "PARTY_IDENTIFIED", "PARTY_RELATED": party()
        case "PARTICIPATION": participation()
        case "ARCHETYPED": requireNonEmpty("rm_version", RMInvariant("ARCHETYPED", "Rm_version_valid"))
        case "FEEDER_AUDIT_DETAILS": requireNonEmpty("system_id", RMInvariant("FEEDER_AUDIT_DETAILS", "System_id_valid"))
        default: break
        }
    }

    /// ITEM_TABLE: each row is a CLUSTER of ELEMENTs (its columns).
    mutating func itemTable() {
        for (index, row) in (object["rows"]?.arrayValue ?? []).enumerated() {
            if row["_type"]?.stringValue != "CLUSTER" {
                violation(RMInvariant("ITEM_TABLE", "Valid_structure"), "/rows[\(index)]", "a table row is a CLUSTER")
                continue
            }
            if row["items"]?.arrayValue?.contains(where: { $0["_type"]?.stringValue != "ELEMENT" }) == true {
                violation(RMInvariant("ITEM_TABLE", "Valid_structure"), "/rows[\(index)]", "a table row holds ELEMENTs only (its columns)")
            }
        }
    }

    /// ELEMENT: a value, or a null flavour saying why there is none.
    mutating func element() {
        let isNull = object["value"] == nil
        if isNull && object["null_flavour"] == nil {
            violation(RMInvariant("ELEMENT", "Null_flavour_indicated"), "/null_flavour", "an ELEMENT without a value says why with a null flavour")
        }
        group("null_flavour", "null_flavours", RMInvariant("ELEMENT", "Null_flavour_valid"))
        if !isNull && object["null_reason"] != nil {
            violation(RMInvariant("ELEMENT", "Null_reason_valid"), "/null_reason", "an ELEMENT with a value has no null reason")
        }
    }

    /// HISTORY: events or a summary; in a periodic history, each event's
    /// offset from the origin is a whole number of periods.
    mutating func history() {
        let events = object["events"]?.arrayValue ?? []
        if events.isEmpty && object["summary"] == nil {
            violation(RMInvariant("HISTORY", "Events_valid"), "/events", "a HISTORY holds events or a summary")
        }
        guard let periodText = object["period"]?["value"]?.stringValue, let period = OrderedValue.exactSeconds(ofDuration: periodText), period > 0,
            let originText = object["origin"]?["value"]?.stringValue, let origin = ISODateTime(originText)
        else { return }
        for (index, event) in events.enumerated() {
            guard let timeText = event["time"]?["value"]?.stringValue, let time = ISODateTime(timeText) else { continue }
            let offset = Double(time.microsecondsSinceEpoch - origin.microsecondsSinceEpoch) / 1e6
            let periods = offset / period
            if abs(periods - periods.rounded()) > 1e-6 {
                let node = event["archetype_node_id"]?.stringValue.map { "[\($0)]" } ?? "[\(index)]"
                violation(
                    RMInvariant("HISTORY", "Period_consistency"), "/events" + node + "/time",
                    "the event is \(offset) s after the origin, not a whole number of periods of \(periodText)")
            }
        }
    }

    mutating func composition() {
        group("category", "composition_category", RMInvariant("COMPOSITION", "Category_validity"))
        if object["category"]?["defining_code"]?["code_string"]?.stringValue == "431", object["context"] != nil {
            violation(RMInvariant("COMPOSITION", "Is_persistent_validity"), "/context", "a persistent composition (category 431) has no context")
        }
        codeSet("territory", "ISO_3166-1", RMInvariant("COMPOSITION", "Territory_valid"))
        codeSet("language", "ISO_639-1", RMInvariant("COMPOSITION", "Language_valid"))
    }

    /// PARTY_IDENTIFIED and PARTY_RELATED: named, identified or referenced.
    mutating func party() {
        if object["name"] == nil && object["identifiers"] == nil && object["external_ref"] == nil {
            violation(RMInvariant("PARTY_IDENTIFIED", "Basic_validity"), "", "an identified party has a name, identifiers or an external reference")
        }
        requireNonEmpty("name", RMInvariant("PARTY_IDENTIFIED", "Name_valid"))
        if type == "PARTY_RELATED" { group("relationship", "subject_relationship", RMInvariant("PARTY_RELATED", "Relationship_valid")) }
    }

    /// PARTICIPATION: a coded function and the mode come from the openEHR terminology.
    mutating func participation() {
        if object["function"]?["defining_code"] != nil {
            group("function", "participation_function", RMInvariant("PARTICIPATION", "Function_valid"))
        }
        group("mode", "participation_mode", RMInvariant("PARTICIPATION", "Mode_valid"))
    }
}
