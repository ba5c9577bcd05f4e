/// A query run for a user limited to some EHRs (a token with a patient
/// context, issue 16 §3) reads those EHRs only, whatever it says: every
/// source of the main query that carries an EHR id is held to them (an
/// inner one in WHERE, a LEFT JOINed one in its join). Node and folder item
/// rows are reached through a composition or a folder, which are held.
extension PlanBuilder {
    func restrict(_ scope: Scope, to ehrIDs: [String]) {
        let allowed = ehrIDs.map { PlanExpression.value(.text($0)) }
        var held = false
        for index in scope.sources.indices {
            let source = scope.sources[index]
            switch source.table {
            case .composition, .ehr, .versionedObject, .version, .folder:
                let condition = allowed.isEmpty ? PlanCondition.always(false) : .anyOf(.column(source.alias, .ehrID), allowed)
                if index == 0 || source.join == .inner { scope.conditions.append(condition) } else { scope.sources[index].on.append(condition) }
                held = true
            case .node, .folderItem, .document: continue
            }
        }
        if !held { scope.conditions.append(.always(false)) }
    }
}
