import Testing

@testable import Templates

/// ISO 8601 durations field by field (RM 1.1.0 §DV_DURATION): an `M`
/// before `T` is months, after it minutes.
struct DurationFieldsTests {
    @Test func amountsAndText() {
        #expect(DurationFields.amounts("P1Y2M3W4DT5H6M7S") == ["year": 1, "month": 2, "week": 3, "day": 4, "hour": 5, "minute": 6, "second": 7])
        #expect(DurationFields.amounts("PT24H") == ["hour": 24])
        #expect(DurationFields.text(["minute": "6", "month": "2"]) == "P2MT6M")
        #expect(DurationFields.text([:]) == "PT0S")
    }

    @Test func whatIsNotADurationHasNoFields() {
        for text in ["", "1Y", "P1Y1Y", "P1H", "PT1D", "P1.5Y", "P1Y2", "PY"] {
            #expect(DurationFields.amounts(text).isEmpty, "\(text)")
        }
    }

    @Test func patternsAllowTheirFields() {
        #expect(DurationFields.allowed(by: "PYMWD") == ["year", "month", "week", "day"])
        #expect(DurationFields.allowed(by: "PTHMS") == ["hour", "minute", "second"])
        #expect(DurationFields.allowed(by: nil) == nil)
        #expect(DurationFields.allowed(by: "XYZ") == nil)
    }
}
