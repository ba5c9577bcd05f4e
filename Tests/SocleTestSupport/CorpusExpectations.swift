/// What the corpus compositions must give, shared by the tests of each
/// stage (RM decoding, template validation, the HTTP API). Keys are paths
/// below `openehr/compositions/canonical_json`.
public enum CorpusExpectations {
    /// Corpus files that break the RM 1.1.0 schema or its class invariants
    /// (docs/architecture.md §RM invariants), with the rule each breaks first.
    public static let refusedByTheRMSchema: [String: String] = [
        // RM class invariants: the producers of these test files (the openEHR SDK, EHRbase) do not check them.
        "Test_dv_interval_dv_count_open_constraint.v0__.json": "the lower limit is above the upper limit (RM invariant DV_INTERVAL.Limits_consistent)",
        "Test_dv_interval_dv_quantity_open_constraint.v0__.json": "the lower limit is above the upper limit (RM invariant DV_INTERVAL.Limits_consistent)",
        "openEHR_SDK/datetime_tests.json": "the lower limit is above the upper limit (RM invariant DV_INTERVAL.Limits_consistent)",
        "openEHR_SDK/all_types_systematic_tests.json": "(RM invariant ELEMENT.Null_flavour_indicated)",
        "openEHR_SDK/compo_with_nested_party_related.json": "found 'external' (RM invariant PARTY_RELATED.Relationship_valid)",
        "openEHR_SDK/gecco_personendaten.json": "(RM invariant DV_INTERVAL.Lower_unbounded)",
        "openEHR_SDK/simple_composition_dvinterval.json": "'PractitionerRole' is not a party type (ACTOR, AGENT, GROUP, ORGANISATION, PARTY, PERSON, ROLE) (RM invariant PARTY_REF.Type_validity)",
        "openEHR_SDK/invalid.json": "unknown RM type 'EVENT_CONTEXT_WRONG'",
        "valid_templates/minimal/minimal_observation.composition.participations.extdatetimes.ehrbase.json": "/@type: is not an attribute of COMPOSITION",
        "family_history.v.1.2.3__.json": "time_asserted: is not an attribute of EVALUATION",
        "Test_dv_ordinal_open_constraint.v0__.json": "symbol/type: is not an attribute of DV_CODED_TEXT",
        "Test_dv_ordinal_with_constraints.v0__.json": "value/value: must be an integer, found a string",
        "Test_dv_proportion_open_constraint.v0__.json": "numerator: must be a number, found a string",
        "Test_dv_proportion_open_constraint_precision_1.v0__.json": "numerator: must be a number, found a string",
        "Test_dv_quantity_open_constraint.v0__.json": "magnitude: must be a number, found a string",
        "Test_dv_quantity_property_constrained.v0__.json": "magnitude: must be a number, found a string",
        "Test_dv_quantity_property_units_constrained.v0__.json": "magnitude: must be a number, found a string",
        "Test_dv_quantity_property_units_constrained_with_magnitude_range.v0__.json": "magnitude: must be a number, found a string",
        "openEHR_SDK/all_types_systematic_tests_feeder_audit.json": "feeder_system_audit: is not an attribute of INSTRUCTION",
        "aql_data_load/external/all_types_systematic_tests_feeder_audit.json": "feeder_system_audit: is not an attribute of INSTRUCTION",
    ]

    /// Compositions that break their template, with the first violation
    /// (path and rule) each must be refused for. Each was checked against
    /// its OPT: the values, codes, node ids and names are not what the
    /// template allows.
    public static let templateViolations: [String: String] = [
        "Test_dv_boolean_true_false.v0__.json": "items[at0029]/value/value: false is not allowed by the template",
        "Test_dv_count_range_constraint.v0__.json": "items[at0042]/value/magnitude: 25 is outside the range 10..20",
        "Test_dv_interval_dv_count_lower_upper_constraint.v0__.json": "items[at0046]/value/lower/magnitude: -10 is outside the range 0..100",
        "Test_dv_interval_dv_quantity_lower_upper_constraint.v0__.json": "items[at0046]/value/lower/magnitude: -10 Cel is outside the range 0.0..100.0",
        "Test_dv_multimedia_open_constraint.v0__.json": "value/media_type/code_string: 'application/dicom' is not in the template's code list",
        "Test_dv_parsable_open_constraint.v0__.json": "value/formalism: 'abc' is not one of the values the template allows",
        "aql_data_load/external/all_types_systematic_tests.json": "items[at0002]/value: DV_TEXT is not allowed here by the template (allowed: DV_URI)",
        "aql_data_load/external/minimal_evaluation.json": "items[at0003]: ELEMENT with archetype node id at0003 is not allowed here",
        "cardinality_of_section__full.json": "/content: has 10 item(s), the template allows 1..1",
        "clinical_content_validation__full.json": "name/value: 'Evaluation #2 with single element structure' is not one of the values",
        "hc3_spirometry_test_result_v0.6__.json": "items[at0044]/value/type: 3 is not one of 2",
        "nodes_in_template_invalid__.json": "items[at0010.1]: ELEMENT with archetype node id at0010.1 is not allowed here",
        "openEHR_SDK/cardinality_of_section__full.json": "/content: has 13 item(s), the template allows 1..1",
        "openEHR_SDK/compo_feeder_audit_details.json": "items[at0024]/name/value: 'Analyte name' is not one of the values the template allows (Bezeichnung)",
        "openEHR_SDK/compo_with_nested_party_identified.json": "SECTION with archetype node id openEHR-EHR-SECTION.allgemeine_angaben.v1 is not allowed",
        "openEHR_SDK/compo_with_nested_party_self.json": "SECTION with archetype node id openEHR-EHR-SECTION.allgemeine_angaben.v1 is not allowed",
        "openEHR_SDK/compo_with_nested_provider.json": "SECTION with archetype node id openEHR-EHR-SECTION.allgemeine_angaben.v1 is not allowed",
        "openEHR_SDK/duration_tests.json": "items[at0010.1]: ELEMENT with archetype node id at0010.1 is not allowed here",
        "openEHR_SDK/ips_invalid.json": "items[at0024]/value/value: false is not allowed by the template",
        // An ordinal's symbol is the archetype's term for its code.
        "openEHR_SDK/obs_admin.json": "symbol/value: 'ord1' is not the term of at0003 ('option 1')",
        "openEHR_SDK/obs_admin_null_flavour.json": "symbol/value: 'ord1' is not the term of at0003 ('option 1')",
        "openEHR_SDK/virology_finding_with_specimen.json": "/context/other_context[[at0001]]: ITEM_TREE with archetype node id [at0001] is not allowed",
    ]
}
