/// The mappings Socle ships, in force by default (`SOCLE_MAPPINGS` unset or
/// `shipped`), and the templates they map, installed at start when the
/// store has none of their ids (docs/architecture.md §Shipped mappings):
/// the vital signs of the FHIR R4 vital signs profiles (body weight and
/// height, BMI, blood pressure, heart and respiratory rate, body
/// temperature, oxygen saturation), each Observation a composition;
/// conditions (problems and diagnoses); laboratory reports, each
/// DiagnosticReport with the result Observations sent with it one composition.
///
/// Carried in the binary, as text: the module has no dependencies, so a
/// change to the rest of Socle does not recompile it.
public enum ShippedMappings {}
