import Foundation
import JSONCore

extension FHIRPathEvaluator {
    /// The function library (FHIRPath 2.0 §Functions, with the FHIR
    /// additions of FHIR R4 §FHIRPath: extension, resolve, memberOf, …).
    func call(_ name: String, _ arguments: [FHIRPathExpression], on items: [FHIRPathValue], frame: Frame) throws(FHIRPathError) -> [FHIRPathValue] {
        func argument(_ index: Int) throws(FHIRPathError) -> [FHIRPathValue] {
            guard arguments.indices.contains(index) else { throw FHIRPathError(.semantic, "\(name)() needs more arguments") }
            // Arguments are evaluated with the function's own input as $this.
            return try evaluate(arguments[index], input: frame.this.map { [$0] } ?? items, frame: frame)
        }
        func arity(_ allowed: ClosedRange<Int>) throws(FHIRPathError) {
            guard allowed.contains(arguments.count) else {
                throw FHIRPathError(.semantic, "\(name)() takes \(allowed.lowerBound == allowed.upperBound ? "\(allowed.lowerBound)" : "\(allowed.lowerBound) to \(allowed.upperBound)") argument(s), got \(arguments.count)")
            }
        }
        func each(_ expression: FHIRPathExpression, _ item: FHIRPathValue, _ index: Int, total: [FHIRPathValue]? = nil) throws(FHIRPathError) -> [FHIRPathValue] {
            try evaluate(expression, input: [item], frame: Frame(this: item, index: index, total: total))
        }
        switch name {
        // Existence
        case "empty": try arity(0...0); return [.boolean(items.isEmpty)]
        case "exists":
            try arity(0...1)
            if arguments.isEmpty { return [.boolean(!items.isEmpty)] }
            for (i, item) in items.enumerated() where try boolean(each(arguments[0], item, i), "exists() criteria") == true {
                return [.boolean(true)]
            }
            return [.boolean(false)]
        case "all":
            try arity(1...1)
            for (i, item) in items.enumerated() where try boolean(each(arguments[0], item, i), "all() criteria") != true {
                return [.boolean(false)]
            }
            return [.boolean(true)]
        case "allTrue", "anyTrue", "allFalse", "anyFalse":
            try arity(0...0)
            let values = try items.map { (item) throws(FHIRPathError) -> Bool in
                guard case .boolean(let b) = item.system else { throw FHIRPathError(.execution, "\(name)() needs booleans") }
                return b
            }
            switch name {
            case "allTrue": return [.boolean(values.allSatisfy { $0 })]
            case "anyTrue": return [.boolean(values.contains(true))]
            case "allFalse": return [.boolean(values.allSatisfy { !$0 })]
            default: return [.boolean(values.contains(false))]
            }
        case "subsetOf", "supersetOf":
            try arity(1...1)
            let other = try argument(0)
            let (small, large) = name == "subsetOf" ? (items, other) : (other, items)
            return [.boolean(small.allSatisfy { item in large.contains { Self.equal(item, $0) == true } })]
        case "count": try arity(0...0); return [.integer(items.count)]
        case "distinct": try arity(0...0); return Self.union(items, [])
        case "isDistinct": try arity(0...0); return [.boolean(Self.union(items, []).count == items.count)]
        // Filtering and projection
        case "where":
            try arity(1...1)
            var result: [FHIRPathValue] = []
            for (i, item) in items.enumerated() where try boolean(each(arguments[0], item, i), "where() criteria") == true {
                result.append(item)
            }
            return result
        case "select":
            try arity(1...1)
            var result: [FHIRPathValue] = []
            for (i, item) in items.enumerated() { result += try each(arguments[0], item, i) }
            return result
        case "repeat":
            try arity(1...1)
            var result: [FHIRPathValue] = []
            var queue = items
            var guardCount = 0
            while !queue.isEmpty && guardCount < 100_000 {
                var next: [FHIRPathValue] = []
                for (i, item) in queue.enumerated() {
                    for produced in try each(arguments[0], item, i) where !result.contains(where: { Self.equal($0, produced) == true }) {
                        result.append(produced)
                        next.append(produced)
                    }
                }
                queue = next
                guardCount += 1
            }
            return result
        case "ofType":
            try arity(1...1)
            let type = try Self.typeSpecifier(arguments[0])
            return items.filter { isExactType($0, type) }
        case "as":
            try arity(1...1)
            let type = try Self.typeSpecifier(arguments[0])
            guard items.count <= 1 || context.collectionAs else {
                throw FHIRPathError(.execution, "as() applies to one item, got \(items.count)")
            }
            return items.filter { isExactType($0, type) }
        case "is":
            try arity(1...1)
            let type = try Self.typeSpecifier(arguments[0])
            guard let item = items.first else { return [] }
            guard items.count == 1 else { throw FHIRPathError(.execution, "is() applies to one item, got \(items.count)") }
            return [.boolean(isType(item, type))]
        // Subsetting
        case "single":
            try arity(0...0)
            guard items.count <= 1 else { throw FHIRPathError(.execution, "single() found \(items.count) items") }
            return items
        case "first": try arity(0...0); return items.first.map { [$0] } ?? []
        case "last": try arity(0...0); return items.last.map { [$0] } ?? []
        case "tail": try arity(0...0); return Array(items.dropFirst())
        case "skip":
            try arity(1...1)
            guard let n = try singleInteger(argument(0), "skip()") else { return items }
            return Array(items.dropFirst(max(n, 0)))
        case "take":
            try arity(1...1)
            guard let n = try singleInteger(argument(0), "take()") else { return [] }
            return Array(items.prefix(max(n, 0)))
        case "intersect":
            try arity(1...1)
            let other = try argument(0)
            return Self.union(items.filter { item in other.contains { Self.equal(item, $0) == true } }, [])
        case "exclude":
            try arity(1...1)
            let other = try argument(0)
            return items.filter { item in !other.contains { Self.equal(item, $0) == true } }
        case "union": try arity(1...1); return Self.union(items, try argument(0))
        case "combine": try arity(1...1); return items + (try argument(0))
        // Conversion
        case "iif":
            try arity(2...3)
            guard items.count <= 1 else { throw FHIRPathError(.semantic, "iif() applies to at most one item") }
            let criterion = try evaluate(arguments[0], input: items, frame: Frame(this: items.first ?? frame.this, index: frame.index, total: frame.total))
            guard criterion.count <= 1 else { throw FHIRPathError(.semantic, "iif() criterion must be a single boolean") }
            if let value = criterion.first, case .boolean = value.system {} else if !criterion.isEmpty {
                throw FHIRPathError(.semantic, "iif() criterion must be a boolean")
            }
            let chosen = (try boolean(criterion, "iif() criterion")) == true ? 1 : 2
            guard chosen < arguments.count else { return [] }
            return try evaluate(arguments[chosen], input: items, frame: Frame(this: items.first ?? frame.this, index: frame.index, total: frame.total))
        case "not":
            try arity(0...0)
            guard let value = try boolean(items, "not()") else { return [] }
            return [.boolean(!value)]
        case "toBoolean", "convertsToBoolean", "toInteger", "convertsToInteger", "toDecimal", "convertsToDecimal", "toString",
            "convertsToString", "toDate", "convertsToDate", "toDateTime", "convertsToDateTime", "toTime", "convertsToTime",
            "toQuantity", "convertsToQuantity":
            return try conversion(name, items, arguments.isEmpty ? nil : try argument(0))
        // Strings
        case "indexOf", "substring", "startsWith", "endsWith", "contains", "upper", "lower", "replace", "matches", "matchesFull",
            "replaceMatches", "length", "toChars", "encode", "decode", "escape", "unescape", "trim", "split":
            guard let text = try stringInput(items, name) else { return [] }
            var values: [[FHIRPathValue]] = []
            for index in arguments.indices { values.append(try argument(index)) }
            return try stringFunction(name, text, values)
        case "join":
            try arity(0...1)
            let separator = arguments.isEmpty ? "" : (try singleString(argument(0), "join()") ?? "")
            return [.string(items.compactMap(\.text).joined(separator: separator))]
        // Math
        case "abs", "ceiling", "exp", "floor", "ln", "log", "power", "round", "sqrt", "truncate":
            guard let item = items.first else { return [] }
            guard items.count == 1 else { throw FHIRPathError(.execution, "\(name)() applies to one number") }
            var values: [[FHIRPathValue]] = []
            for index in arguments.indices { values.append(try argument(index)) }
            return try math(name, item.system, values)
        // Tree navigation
        case "children":
            try arity(0...0)
            return items.flatMap { item -> [FHIRPathValue] in
                guard case .node(let node) = item else { return [] }
                return node.children().map { .node($0) }
            }
        case "descendants":
            try arity(0...0)
            var result: [FHIRPathValue] = []
            var queue = items
            while !queue.isEmpty {
                var next: [FHIRPathValue] = []
                for item in queue {
                    guard case .node(let node) = item else { continue }
                    for child in node.children() { next.append(.node(child)) }
                }
                result += next
                queue = next
            }
            return result
        // Utility
        case "trace":
            try arity(1...2)
            let label = try singleString(argument(0), "trace()") ?? ""
            var shown = items
            if arguments.count == 2 {
                shown = []
                for (i, item) in items.enumerated() { shown += try each(arguments[1], item, i) }
            }
            context.trace?(label, shown)
            return items
        case "now", "today", "timeOfDay":
            try arity(0...0)
            return [.temporal(Self.now(name, context.now))]
        case "type":
            try arity(0...0)
            return items.map { let t = $0.typeName; return .typeInfo(namespace: t.namespace, name: t.name) }
        case "aggregate":
            try arity(1...2)
            var total = arguments.count == 2 ? try argument(1) : []
            for (i, item) in items.enumerated() { total = try each(arguments[0], item, i, total: total) }
            return total
        case "sort":
            return try sort(items, arguments)
        case "lowBoundary", "highBoundary", "precision":
            guard let item = items.first else { return [] }
            let digits = arguments.isEmpty ? nil : try singleInteger(argument(0), "\(name)()")
            return try boundary(name, item.system, digits)
        case "comparable":
            try arity(1...1)
            guard case .quantity(let x)? = items.first?.system, case .quantity(let y)? = try argument(0).first?.system else { return [] }
            let ux = UCUMUnit.parse(x.ucumCode), uy = UCUMUnit.parse(y.ucumCode)
            return [.boolean(ux != nil && uy != nil && ux!.dimensions == uy!.dimensions)]
        // FHIR
        case "extension":
            try arity(1...1)
            guard let url = try singleString(argument(0), "extension()") else { return [] }
            return try member("extension", of: items, root: false).filter {
                guard case .node(let node) = $0 else { return false }
                return node.value?["url"]?.stringValue == url
            }
        case "hasValue":
            try arity(0...0)
            guard items.count == 1, case .node(let node) = items[0] else { return [.boolean(false)] }
            return [.boolean(node.isPrimitive && node.value != nil)]
        case "getValue":
            guard items.count == 1, case .node(let node) = items[0], node.isPrimitive, node.value != nil else { return [] }
            return [items[0].system]
        case "resolve":
            return items.compactMap { item -> FHIRPathValue? in
                let reference: String?
                if case .node(let node) = item, node.value?.objectValue != nil { reference = node.value?["reference"]?.stringValue }
                else { reference = item.text }
                guard let reference else { return nil }
                return resolve(reference).map { .node($0) }
            }
        case "memberOf":
            try arity(1...1)
            guard let url = try singleString(argument(0), "memberOf()"), let item = items.first else { return [] }
            guard let codes = context.valueSets[url] ?? context.valueSets[String(url.split(separator: "|").first ?? "")] else { return [] }
            let candidates = Self.codings(item)
            return [.boolean(candidates.contains { c in c.hasPrefix("|") ? codes.contains { $0.hasSuffix(c) } : codes.contains(c) })]
        case "conformsTo":
            try arity(1...1)
            guard let url = try singleString(argument(0), "conformsTo()") else { return [] }
            guard url.hasPrefix("http://hl7.org/fhir/StructureDefinition/") else { throw FHIRPathError(.execution, "unknown profile \(url)") }
            let type = String(url.dropFirst("http://hl7.org/fhir/StructureDefinition/".count))
            guard FHIRSchema.r4.type(type) != nil else { throw FHIRPathError(.execution, "unknown profile \(url)") }
            return items.map { item in
                guard case .node(let node) = item else { return .boolean(false) }
                return .boolean(FHIRSchema.r4.isType(node.type, a: type))
            }
        case "htmlChecks":
            return [.boolean(items.allSatisfy { Self.isSafeNarrative($0.text ?? "") })]
        default:
            throw FHIRPathError(.semantic, "unknown function \(name)()")
        }
    }

    func resolve(_ reference: String) -> FHIRNode? {
        if reference.hasPrefix("#") {
            let id = String(reference.dropFirst())
            for contained in context.resource?.children(named: "contained") ?? [] where contained.value?["id"]?.stringValue == id {
                return contained
            }
            return nil
        }
        if let resolver = context.resolver, let found = resolver(reference) { return found }
        // Within a bundle: an entry whose fullUrl or type/id matches.
        if let root = context.rootResource ?? context.resource, root.type == "Bundle" {
            for entry in root.children(named: "entry") ?? [] {
                let fullUrl = entry.value?["fullUrl"]?.stringValue
                guard let resource = entry.children(named: "resource")?.first else { continue }
                let typeAndID = "\(resource.type)/\(resource.value?["id"]?.stringValue ?? "")"
                if fullUrl == reference || typeAndID == reference || (fullUrl?.hasSuffix("/" + reference) ?? false) { return resource }
            }
        }
        return Self.referenceStub(reference)
    }

    /// What a reference that cannot be followed still tells: the type and
    /// id it names (`Patient/1` → a Patient with id 1), so that
    /// `resolve() is Patient` in search parameters works without a store.
    static func referenceStub(_ reference: String) -> FHIRNode? {
        var parts = reference.split(separator: "/").map(String.init)
        if parts.count >= 4, parts[parts.count - 2] == "_history" { parts.removeLast(2) }
        guard parts.count >= 2, FHIRSchema.r4.isResourceType(parts[parts.count - 2]) else { return nil }
        let type = parts[parts.count - 2]
        let json: JSON = .object(JSONObject([("resourceType", .string(type)), ("id", .string(parts[parts.count - 1]))]))
        return FHIRNode(value: json, type: type, element: nil, name: type, location: type)
    }

    /// `system|code` of a code, Coding or CodeableConcept (a bare code is `|code`).
    static func codings(_ item: FHIRPathValue) -> [String] {
        guard case .node(let node) = item else { return item.text.map { ["|" + $0] } ?? [] }
        switch node.type {
        case "Coding": return [(node.value?["system"]?.stringValue ?? "") + "|" + (node.value?["code"]?.stringValue ?? "")]
        case "CodeableConcept": return (node.children(named: "coding") ?? []).flatMap { codings(.node($0)) }
        default: return item.text.map { ["|" + $0] } ?? []
        }
    }

    static func isSafeNarrative(_ html: String) -> Bool {
        let lowered = html.lowercased()
        return !["<script", "<object", "<applet", "<iframe", "<form", "<embed", "javascript:", " onclick", " onload"].contains { lowered.contains($0) }
    }

    static func now(_ name: String, _ date: Date) -> FHIRPathTemporal {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond], from: date)
        let dateText = String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
        let timeText = String(format: "%02d:%02d:%02d.%03d", parts.hour!, parts.minute!, parts.second!, parts.nanosecond! / 1_000_000)
        switch name {
        case "today": return FHIRPathTemporal(dateText, kind: .date)!
        case "timeOfDay": return FHIRPathTemporal(timeText, kind: .time)!
        default: return FHIRPathTemporal(dateText + "T" + timeText + "Z", kind: .dateTime)!
        }
    }

    /// sort(key, -key2): ascending by each key; a key written with a unary
    /// minus sorts descending (FHIRPath 3.0 sort(), in the R4 test suite).
    func sort(_ items: [FHIRPathValue], _ arguments: [FHIRPathExpression]) throws(FHIRPathError) -> [FHIRPathValue] {
        var keyExpressions: [FHIRPathExpression] = []
        var descending: [Bool] = []
        for argument in arguments {
            if case .unary("-", let inner) = argument {
                keyExpressions.append(inner)
                descending.append(true)
            } else {
                keyExpressions.append(argument)
                descending.append(false)
            }
        }
        var keyed: [(item: FHIRPathValue, keys: [FHIRPathValue?])] = []
        for (i, item) in items.enumerated() {
            var keys: [FHIRPathValue?] = []
            for expression in keyExpressions {
                keys.append(try evaluate(expression, input: [item], frame: Frame(this: item, index: i)).first)
            }
            if keyExpressions.isEmpty { keys.append(item) }
            keyed.append((item, keys))
        }
        if keyExpressions.isEmpty { descending = [false] }
        var failure: FHIRPathError?
        let sorted = keyed.sorted { a, b in
            for index in descending.indices {
                let x = a.keys[index], y = b.keys[index]
                if x == nil && y == nil { continue }
                // An empty key sorts after every value (before them when descending).
                guard let x else { return descending[index] }
                guard let y else { return !descending[index] }
                do {
                    guard let order = try Self.compare(x, y), order != 0 else { continue }
                    return descending[index] ? order > 0 : order < 0
                } catch {
                    failure = error as? FHIRPathError
                    return false
                }
            }
            return false
        }
        if let failure { throw failure }
        return sorted.map { $0.item }
    }
}
