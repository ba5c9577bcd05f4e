import Foundation
import JSONCore
import OpenEHR
import Templates

/// One input through a resolved context, either way, as `socle mappings map`
/// runs it for an integration team trying its mappings: a composition gives
/// its FHIR resources; a FHIR resource (or bundle) gives the composition,
/// read through FLAT and validated against the template like any write.
public struct MappingRun: Sendable {
    public let context: ResolvedContext
    public let template: OperationalTemplate
    public let format: FlatComposition
    let mappingTemplate: MappingTemplate

    public init(context: ResolvedContext, template: OperationalTemplate) {
        self.context = context
        self.template = template
        format = FlatComposition(template: template)
        mappingTemplate = MappingTemplate(webTemplate: format.webTemplate)
    }

    public enum Outcome: Sendable {
        /// openEHR → FHIR: the resources and what the engine left out.
        case resources(FHIRMappingOutcome)
        /// FHIR → openEHR: the composition, what the engine left out, and
        /// what the template's validation found (empty: a valid composition).
        case composition(JSON, notes: [String], problems: [DecodingProblem])
        /// FHIR → openEHR: the context's preprocessor conditions do not hold for the input.
        case notApplicable
    }

    /// A canonical composition (`_type` COMPOSITION, or an archetyped object with content).
    public static func isComposition(_ json: JSON) -> Bool {
        json["_type"]?.stringValue == "COMPOSITION" || (json["resourceType"] == nil && json["archetype_node_id"] != nil)
    }

    /// Maps `input`; `contextValues` are FLAT `ctx/` values for the way to
    /// openEHR (`language`, `territory`, `composer_name`…), `zone` the zone of
    /// date-times without one on the way to FHIR.
    public func run(_ input: JSON, contextValues: [String: JSON] = [:], zone: TimeZone = .current) throws(FlatError) -> Outcome {
        if Self.isComposition(input) {
            let engine = OpenEHRToFHIR(context: context, template: mappingTemplate, zone: zone)
            return .resources(engine.map(flat: format.flat(input)))
        }
        guard var outcome = FHIRToOpenEHR(context: context, template: mappingTemplate).map(input) else { return .notApplicable }
        for (key, value) in contextValues.sorted(by: { $0.key < $1.key }) { outcome.flat["ctx/" + key] = value }
        let composition = try format.composition(outcome.flat)
        return .composition(composition, notes: outcome.notes, problems: TemplateValidator().validate(composition, against: template))
    }
}
