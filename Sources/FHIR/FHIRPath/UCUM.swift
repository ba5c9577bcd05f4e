import Foundation

/// Enough of UCUM (the Unified Code for Units of Measure) to compare and
/// convert the units clinical data uses: metric prefixes, the base and
/// derived units of mass, length, volume, time, amount, pressure, and the
/// common customary units, combined with `.`, `/`, exponents and factors
/// (`mg/dL`, `mm[Hg]`, `kg.m-2`, `10*3/uL`). Units outside it are compared
/// by their codes only.
public struct UCUMUnit: Sendable, Equatable {
    /// Multiplier to the base units.
    public var factor: Decimal
    /// Exponents of the base dimensions: m, g, s, mol, K, A, cd, and
    /// one slot for arbitrary units ([IU], [arb'U]) that do not mix.
    public var dimensions: [Int]

    static let baseCount = 8
    static let dimensionless = UCUMUnit(factor: 1, dimensions: Array(repeating: 0, count: baseCount))

    static func base(_ index: Int, factor: Decimal = 1) -> UCUMUnit {
        var dims = Array(repeating: 0, count: baseCount)
        dims[index] = 1
        return UCUMUnit(factor: factor, dimensions: dims)
    }

    func times(_ other: UCUMUnit) -> UCUMUnit {
        UCUMUnit(factor: factor * other.factor, dimensions: zip(dimensions, other.dimensions).map(+))
    }

    func power(_ exponent: Int) -> UCUMUnit {
        var result = UCUMUnit.dimensionless
        for _ in 0..<abs(exponent) { result = result.times(self) }
        if exponent < 0 { result = UCUMUnit(factor: 1 / result.factor, dimensions: result.dimensions.map { -$0 }) }
        return result
    }

    static let prefixes: [(String, Decimal)] = [
        ("da", 10), ("k", 1000), ("M", 1_000_000), ("G", 1_000_000_000), ("h", 100), ("d", Decimal(string: "0.1")!),
        ("c", Decimal(string: "0.01")!), ("m", Decimal(string: "0.001")!), ("u", Decimal(string: "0.000001")!),
        ("n", Decimal(string: "0.000000001")!), ("p", Decimal(string: "0.000000000001")!),
        ("f", Decimal(string: "0.000000000000001")!),
    ]

    /// Atoms: (code, metric (takes prefixes), definition).
    static let atoms: [String: (metric: Bool, unit: UCUMUnit)] = {
        var table: [String: (Bool, UCUMUnit)] = [:]
        let m = base(0), g = base(1), s = base(2), mol = base(3), k = base(4), a = base(5), cd = base(6), arbitrary = base(7)
        let liter = m.power(3).times(UCUMUnit(factor: Decimal(string: "0.001")!, dimensions: dimensionless.dimensions))
        func scaled(_ unit: UCUMUnit, _ factor: String) -> UCUMUnit {
            UCUMUnit(factor: unit.factor * Decimal(string: factor)!, dimensions: unit.dimensions)
        }
        let pascal = scaled(g.times(m.power(-1)).times(s.power(-2)), "1000")
        table["m"] = (true, m); table["g"] = (true, g); table["s"] = (true, s); table["mol"] = (true, scaled(mol, "1"))
        table["K"] = (true, k); table["A"] = (true, a); table["cd"] = (true, cd)
        table["L"] = (true, liter); table["l"] = (true, liter)
        table["min"] = (false, scaled(s, "60")); table["h"] = (false, scaled(s, "3600")); table["d"] = (false, scaled(s, "86400"))
        table["wk"] = (false, scaled(s, "604800")); table["mo"] = (false, scaled(s, "2629800")); table["a"] = (false, scaled(s, "31557600"))
        table["Pa"] = (true, pascal); table["bar"] = (true, scaled(pascal, "100000"))
        table["mm[Hg]"] = (false, scaled(pascal, "133.322")); table["m[Hg]"] = (true, scaled(pascal, "133322"))
        table["cm[H2O]"] = (false, scaled(pascal, "98.0665"))
        table["N"] = (true, scaled(g.times(m).times(s.power(-2)), "1000"))
        table["J"] = (true, scaled(g.times(m.power(2)).times(s.power(-2)), "1000"))
        table["cal"] = (true, scaled(g.times(m.power(2)).times(s.power(-2)), "4184"))
        table["kat"] = (true, mol.times(s.power(-1)))
        table["U"] = (true, scaled(mol.times(s.power(-1)), "0.0000000166667"))
        table["Hz"] = (true, s.power(-1))
        table["W"] = (true, scaled(g.times(m.power(2)).times(s.power(-3)), "1000"))
        table["V"] = (true, scaled(g.times(m.power(2)).times(s.power(-3)).times(a.power(-1)), "1000"))
        table["Cel"] = (true, k)
        table["[degF]"] = (false, scaled(k, "0.5555555555555556"))
        table["[in_i]"] = (false, scaled(m, "0.0254")); table["[ft_i]"] = (false, scaled(m, "0.3048"))
        table["[yd_i]"] = (false, scaled(m, "0.9144")); table["[mi_i]"] = (false, scaled(m, "1609.344"))
        table["[lb_av]"] = (false, scaled(g, "453.59237")); table["[oz_av]"] = (false, scaled(g, "28.349523125"))
        table["[gal_us]"] = (false, scaled(liter, "3.785411784")); table["[foz_us]"] = (false, scaled(liter, "0.0295735295625"))
        table["[pi]"] = (false, UCUMUnit(factor: Decimal(string: "3.1415926535897932")!, dimensions: dimensionless.dimensions))
        table["%"] = (false, UCUMUnit(factor: Decimal(string: "0.01")!, dimensions: dimensionless.dimensions))
        table["[ppm]"] = (false, UCUMUnit(factor: Decimal(string: "0.000001")!, dimensions: dimensionless.dimensions))
        table["[iU]"] = (true, arbitrary); table["[IU]"] = (true, arbitrary); table["[arb'U]"] = (true, arbitrary)
        table["eq"] = (true, mol); table["osm"] = (true, mol)
        table["deg"] = (true, UCUMUnit(factor: Decimal(string: "0.0174532925199433")!, dimensions: dimensionless.dimensions))
        table["1"] = (false, dimensionless)
        return table
    }()

    /// Parses a UCUM expression; nil when it uses what this table lacks.
    /// Results are kept: a data set uses few units many times.
    public static func parse(_ code: String) -> UCUMUnit? {
        cache.lock.lock()
        if let known = cache.units[code] {
            cache.lock.unlock()
            return known
        }
        cache.lock.unlock()
        let parsed = parseUncached(code)
        cache.lock.lock()
        if cache.units.count < 10_000 { cache.units[code] = parsed }
        cache.lock.unlock()
        return parsed
    }

    final class Cache: @unchecked Sendable {
        let lock = NSLock()
        var units: [String: UCUMUnit?] = [:]
    }

    static let cache = Cache()

    static func parseUncached(_ code: String) -> UCUMUnit? {
        if code.isEmpty || code == "1" { return dimensionless }
        var result = dimensionless
        var text = Substring(code)
        var dividing = false
        if text.hasPrefix("/") {
            dividing = true
            text = text.dropFirst()
        }
        while !text.isEmpty {
            var term = ""
            var depth = 0
            while let c = text.first {
                if c == "[" { depth += 1 }
                if c == "]" { depth -= 1 }
                if depth == 0 && (c == "." || c == "/") { break }
                term.append(c)
                text = text.dropFirst()
            }
            if let annotation = term.firstIndex(of: "{") { term = String(term[..<annotation]) }
            guard let unit = term.isEmpty ? dimensionless : parseTerm(term) else { return nil }
            result = result.times(dividing ? unit.power(-1) : unit)
            if let separator = text.first {
                dividing = separator == "/"
                text = text.dropFirst()
            }
        }
        return result
    }

    private static func parseTerm(_ term: String) -> UCUMUnit? {
        if let factor = tenPower(term) { return factor }
        if let value = Int(term) { return UCUMUnit(factor: Decimal(value), dimensions: dimensionless.dimensions) }
        var body = Substring(term)
        var exponent = 1
        if !term.hasSuffix("]") {
            let digits = body.reversed().prefix { $0.isNumber || $0 == "-" || $0 == "+" }
            if !digits.isEmpty && digits.count < body.count {
                exponent = Int(String(digits.reversed())) ?? 1
                body = body.dropLast(digits.count)
            }
            // Units of clinical data have small powers; a larger one is not a unit Socle knows.
            guard abs(exponent) <= 12 else { return nil }
        }
        guard let unit = atom(String(body)) else { return nil }
        return unit.power(exponent)
    }

    private static func tenPower(_ term: String) -> UCUMUnit? {
        guard term.hasPrefix("10*") || term.hasPrefix("10^"), let exponent = Int(term.dropFirst(3)), abs(exponent) <= 30 else { return nil }
        var factor: Decimal = 1
        for _ in 0..<abs(exponent) { factor *= 10 }
        return UCUMUnit(factor: exponent < 0 ? 1 / factor : factor, dimensions: dimensionless.dimensions)
    }

    private static func atom(_ code: String) -> UCUMUnit? {
        if let found = atoms[code] { return found.unit }
        for (prefix, factor) in prefixes where code.hasPrefix(prefix) {
            let rest = String(code.dropFirst(prefix.count))
            if let found = atoms[rest], found.metric {
                return UCUMUnit(factor: found.unit.factor * factor, dimensions: found.unit.dimensions)
            }
        }
        return nil
    }

    /// The FHIRPath calendar duration keywords and the UCUM unit each stands for.
    public static let calendarUnits: [String: String] = [
        "year": "a", "years": "a", "month": "mo", "months": "mo", "week": "wk", "weeks": "wk", "day": "d", "days": "d",
        "hour": "h", "hours": "h", "minute": "min", "minutes": "min", "second": "s", "seconds": "s",
        "millisecond": "ms", "milliseconds": "ms",
    ]
}
