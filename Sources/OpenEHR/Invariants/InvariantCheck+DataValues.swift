import JSONCore

/// RM 1.1.0 data_types package invariants.
extension InvariantCheck {
    mutating func text() {
        requireNonEmpty("formatting", RMInvariant("DV_TEXT", "Formatting_valid"))
        codeSet("language", "ISO_639-1", RMInvariant("DV_TEXT", "Language_valid"))
        codeSet("encoding", "IANA_character-sets", RMInvariant("DV_TEXT", "Encoding_valid"))
    }

    mutating func codePhrase() {
        requireNonEmpty("code_string", RMInvariant("CODE_PHRASE", "Code_string_valid"))
    }

    mutating func termMapping() {
        if let match = string("match"), !["<", ">", "=", "?"].contains(match) {
            violation(RMInvariant("TERM_MAPPING", "Match_valid"), "/match", "'\(match)' is not a match code (<, >, = or ?)")
        }
        group("purpose", "term_mapping_purpose", RMInvariant("TERM_MAPPING", "Purpose_valid"))
    }

    mutating func identifier() {
        requireNonEmpty("id", RMInvariant("DV_IDENTIFIER", "Id_valid"))
        requireNonEmpty("issuer", RMInvariant("DV_IDENTIFIER", "Issuer_valid"))
        requireNonEmpty("assigner", RMInvariant("DV_IDENTIFIER", "Assigner_valid"))
        requireNonEmpty("type", RMInvariant("DV_IDENTIFIER", "Type_valid"))
    }

    /// DV_ORDERED and its descendants (DV_QUANTIFIED, DV_AMOUNT, the
    /// temporal types, DV_QUANTITY, DV_PROPORTION).
    mutating func ordered() {
        codeSet("normal_status", "openehr_normal_statuses", RMInvariant("DV_ORDERED", "Normal_status_validity"))
        normalRangeAndStatus()
        if ["DV_QUANTITY", "DV_COUNT", "DV_PROPORTION", "DV_DURATION"].contains(type) {
            if let status = string("magnitude_status"), !["=", "<", ">", "<=", ">=", "~"].contains(status) {
                violation(RMInvariant("DV_QUANTIFIED", "Magnitude_status_valid"), "/magnitude_status", "'\(status)' is not a magnitude status (=, <, >, <=, >=, ~)")
            }
            amount()
        }
        switch type {
        case "DV_QUANTITY":
            if number("precision") == 0, let magnitude = number("magnitude"), !Self.isIntegral(magnitude) {
                violation(RMInvariant("DV_QUANTITY", "Precision_validity"), "/magnitude", "precision 0 makes the quantity integral, but the magnitude is \(magnitude)")
            }
        case "DV_PROPORTION": proportion()
        case "DV_DATE", "DV_TIME", "DV_DATE_TIME", "DV_DURATION": temporal()
        default: break
        }
    }

    mutating func amount() {
        let percent = object["accuracy_is_percent"]?.boolValue == true
        guard let accuracy = number("accuracy") else { return }
        if accuracy == 0 && percent {
            violation(RMInvariant("DV_AMOUNT", "Accuracy_is_percent_validity"), "/accuracy_is_percent", "an accuracy of 0 (unknown) is not a percentage")
        }
        if percent && !(0...100).contains(accuracy) {
            violation(RMInvariant("DV_AMOUNT", "Accuracy_validity"), "/accuracy", "a percentage accuracy lies between 0 and 100, found \(accuracy)")
        }
    }

    /// DV_PROPORTION: the kind of proportion (PROPORTION_KIND: 0 ratio,
    /// 1 unitary, 2 percent, 3 fraction, 4 integer fraction) fixes the denominator or integrality.
    mutating func proportion() {
        guard let numerator = number("numerator"), let denominator = number("denominator") else { return }
        if denominator == 0 { violation(RMInvariant("DV_PROPORTION", "Valid_denominator"), "/denominator", "the denominator must not be 0") }
        if number("precision") == 0, !Self.isIntegral(numerator) || !Self.isIntegral(denominator) {
            violation(RMInvariant("DV_PROPORTION", "Is_integral_validity"), "", "precision 0 makes the proportion integral, but it is \(numerator)/\(denominator)")
        }
        guard let kind = number("type") else { return }
        switch kind {
        case 0: break
        case 1 where denominator != 1:
            violation(RMInvariant("DV_PROPORTION", "Unitary_validity"), "/denominator", "a unitary proportion (type 1) has denominator 1, found \(denominator)")
        case 2 where denominator != 100:
            violation(RMInvariant("DV_PROPORTION", "Percent_validity"), "/denominator", "a percent (type 2) has denominator 100, found \(denominator)")
        case 3, 4:
            if !Self.isIntegral(numerator) || !Self.isIntegral(denominator) {
                violation(RMInvariant("DV_PROPORTION", "Fraction_validity"), "", "a fraction (type \(Int(kind))) has an integral numerator and denominator, found \(numerator)/\(denominator)")
            }
        case 1, 2: break
        default:
            violation(RMInvariant("DV_PROPORTION", "Type_validity"), "/type", "\(kind) is not a proportion kind (0 ratio, 1 unitary, 2 percent, 3 fraction, 4 integer fraction)")
        }
    }

    /// DV_DATE, DV_TIME, DV_DATE_TIME and DV_DURATION values are ISO 8601
    /// (BASE foundation_types time: fields in their ranges), whatever the template says.
    mutating func temporal() {
        guard let value = string("value") else { return }
        let valid: Bool
        switch type {
        case "DV_DATE_TIME": valid = ISO8601Text.isDateTime(value)
        case "DV_DATE": valid = ISO8601Text.isDate(value)
        case "DV_TIME": valid = ISO8601Text.isTime(value)
        default: valid = ISO8601Text.isDuration(value)
        }
        if !valid {
            let kind = type.dropFirst(3).lowercased().replacingOccurrences(of: "_", with: "-")
            violation(RMInvariant(type, "Value_valid"), "/value", "'\(value)' is not an ISO 8601 \(kind)")
        }
    }

    /// `normal_status` is N exactly when the value lies in `normal_range`.
    mutating func normalRangeAndStatus() {
        guard let status = object["normal_status"]?["code_string"]?.stringValue, case .object(let range)? = object["normal_range"],
            let inRange = OrderedValue.interval(range, contains: .object(object))
        else { return }
        if (status == "N") != inRange {
            violation(
                RMInvariant("DV_ORDERED", "Normal_range_and_status_consistency"), "/normal_status",
                inRange ? "the value lies in its normal range, so its normal status is N, not \(status)" : "the value lies outside its normal range, so its normal status cannot be N")
        }
    }

    mutating func interval() {
        for side in ["lower", "upper"] {
            let invariant = RMInvariant("DV_INTERVAL", side == "lower" ? "Lower_unbounded" : "Upper_unbounded")
            let unbounded = object[side + "_unbounded"]?.boolValue
            let present = object[side] != nil
            if unbounded == true && object[side + "_included"]?.boolValue == true {
                violation(invariant, "/\(side)_included", "an unbounded \(side) limit cannot be included")
            }
            if unbounded == true && present { violation(invariant, "/\(side)_unbounded", "the interval has a \(side) limit, so it is not \(side)-unbounded") }
            if unbounded == false && !present { violation(invariant, "/\(side)_unbounded", "the interval has no \(side) limit, so it is \(side)-unbounded") }
        }
        guard let lower = object["lower"], let upper = object["upper"] else { return }
        guard let low = OrderedValue(lower), let high = OrderedValue(upper) else { return }
        guard low.isComparable(to: high) else {
            violation(RMInvariant("DV_INTERVAL", "Limits_comparable"), "/upper", "the limits are not comparable: \(low.kind) and \(high.kind)")
            return
        }
        if low.value > high.value {
            violation(RMInvariant("DV_INTERVAL", "Limits_consistent"), "/lower", "the lower limit is above the upper limit")
        }
    }

    /// REFERENCE_RANGE: the range's limits are simple values (no ranges of their own).
    mutating func referenceRange() {
        for side in ["lower", "upper"] {
            if let limit = object["range"]?[side], limit["normal_range"] != nil || limit["other_reference_ranges"] != nil {
                violation(RMInvariant("REFERENCE_RANGE", "Range_is_simple"), "/range/" + side, "a reference range's limits have no ranges of their own")
            }
        }
    }

    mutating func timeSpecification() {
        let allowed = type == "DV_PERIODIC_TIME_SPECIFICATION" ? ["HL7:PIVL", "HL7:EIVL"] : ["HL7:GTS"]
        let formalism = object["value"]?["formalism"]?.stringValue ?? ""
        if !allowed.contains(formalism) {
            violation(RMInvariant(type, "Value_valid"), "/value/formalism", "must be \(allowed.joined(separator: " or ")), found '\(formalism)'")
        }
    }

    /// DV_ENCAPSULATED, DV_MULTIMEDIA, DV_PARSABLE.
    mutating func encapsulated() {
        codeSet("language", "ISO_639-1", RMInvariant("DV_ENCAPSULATED", "Language_valid"))
        codeSet("charset", "IANA_character-sets", RMInvariant("DV_ENCAPSULATED", "Charset_valid"))
        if type == "DV_PARSABLE" {
            requireNonEmpty("formalism", RMInvariant("DV_PARSABLE", "Formalism_valid"))
            return
        }
        if object["data"] == nil && object["uri"] == nil {
            violation(RMInvariant("DV_MULTIMEDIA", "Not_empty"), "", "a DV_MULTIMEDIA holds its data inline (data) or refers to it (uri)")
        }
        codeSet("media_type", "IANA_media-types", RMInvariant("DV_MULTIMEDIA", "Media_type_valid"))
        codeSet("compression_algorithm", "openehr_compression_algorithms", RMInvariant("DV_MULTIMEDIA", "Compression_algorithm_validity"))
        codeSet("integrity_check_algorithm", "openehr_integrity_check_algorithms", RMInvariant("DV_MULTIMEDIA", "Integrity_check_algorithm_validity"))
        if object["integrity_check"] != nil && object["integrity_check_algorithm"] == nil {
            violation(RMInvariant("DV_MULTIMEDIA", "Integrity_check_validity"), "/integrity_check_algorithm", "an integrity check needs its algorithm")
        }
        if let size = number("size"), size < 0 { violation(RMInvariant("DV_MULTIMEDIA", "Size_valid"), "/size", "the size must not be negative") }
    }

    /// DV_URI: a URI reference (RFC 3986: no spaces, `%` escapes of two hex
    /// digits, a well-formed scheme); DV_EHR_URI: of the `ehr` scheme.
    mutating func uri() {
        guard let value = string("value") else { return }
        guard let scheme = URIText.scheme(ofReference: value) else {
            violation(
                RMInvariant("DV_URI", "Value_valid"), "/value",
                "'\(value)' is not a URI (RFC 3986: URI characters only, no spaces, % followed by two hex digits, a scheme of letters, digits, +, - and .)")
            return
        }
        if type == "DV_EHR_URI", scheme.lowercased() != "ehr" {
            violation(RMInvariant("DV_EHR_URI", "Scheme_valid"), "/value", "a DV_EHR_URI is of the ehr scheme (ehr://…), found '\(scheme):'")
        }
    }
}
