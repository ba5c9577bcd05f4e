import OpenEHR
import Testing

/// The ISO 8601 text Socle writes (an interval event's width, a Period's
/// start at its end's offset), read back by the same module's readers.
@Suite struct ISO8601WritingTests {
    @Test func durationsAreExactAndReadBack() {
        let cases: [(Int64, String)] = [
            (0, "PT0S"), (30 * 60_000_000, "PT30M"), (2 * 3_600_000_000, "PT2H"), (86_400_000_000 + 30 * 60_000_000, "P1DT30M"),
            (500_000, "PT0.5S"), (-90 * 1_000_000, "-PT1M30S"),
        ]
        for (microseconds, text) in cases {
            #expect(ISO8601Text.duration(microseconds: microseconds) == text)
            #expect(ISO8601Text.seconds(ofDuration: text, nominal: false) == Double(microseconds) / 1e6, "\(text)")
        }
    }

    @Test func anInstantIsWrittenAtAnOffset() throws {
        let instant = try #require(ISODateTime("2024-02-21T15:46:17Z"))
        #expect(instant.text(offsetMinutes: 60) == "2024-02-21T16:46:17+01:00")
        #expect(instant.text(offsetMinutes: -330) == "2024-02-21T10:16:17-05:30")
        #expect(instant.text(offsetMinutes: 0) == "2024-02-21T15:46:17Z")
        #expect(try #require(ISODateTime("2024-02-21T15:46:17.25Z")).text(offsetMinutes: 0) == "2024-02-21T15:46:17.25Z")
        #expect(ISODateTime.offsetMinutes(of: "2024-02-21T16:46:17+01:00") == 60)
        #expect(ISODateTime.offsetMinutes(of: "2024-02-21T10:16:17-0530") == -330)
        #expect(ISODateTime.offsetMinutes(of: "2024-02-21T16:46:17Z") == 0)
        #expect(ISODateTime.offsetMinutes(of: "2024-02-21T16:46:17") == nil && ISODateTime.offsetMinutes(of: "2024-02-21") == nil)
    }
}
