import OpenEHR
import Testing

@Suite("Identifiers (BASE 1.1.0 §4.4)")
struct IdentifierTests {
    @Test func parsesObjectVersionID() throws {
        let uid = try #require(ObjectVersionID("8849182C-82ad-4088-a07f-48ead4180515::openEHRSys.example.com::2"))
        #expect(uid.objectID == "8849182c-82ad-4088-a07f-48ead4180515")
        #expect(uid.creatingSystemID == "openEHRSys.example.com")
        #expect(uid.versionNumber == 2)
        #expect(uid.description == "8849182c-82ad-4088-a07f-48ead4180515::openEHRSys.example.com::2")
    }

    @Test(arguments: [
        "8849182c-82ad-4088-a07f-48ead4180515",
        "8849182c-82ad-4088-a07f-48ead4180515::sys",
        "8849182c-82ad-4088-a07f-48ead4180515::sys::0",
        "8849182c-82ad-4088-a07f-48ead4180515::::1",
        "8849182c-82ad-4088-a07f-48ead4180515::sys::01",
        "not-a-uuid::sys::1",
        "8849182c-82ad-4088-a07f-48ead4180515::sys::1::2",
    ])
    func refusesMalformedVersionUIDs(text: String) {
        #expect(ObjectVersionID(text) == nil)
    }

    @Test func validatesUUIDText() {
        #expect(UUIDText.isValid("7d44b88c-4199-4bad-97dc-d78268e01398"))
        #expect(!UUIDText.isValid("7d44b88c41994bad97dcd78268e01398"))
        #expect(!UUIDText.isValid("7d44b88c-4199-4bad-97dc-d78268e0139g"))
        let random = UUIDText.random()
        #expect(UUIDText.isValid(random))
        #expect(Array(random)[14] == "4")
        #expect(random != UUIDText.random())
        // RFC 4122 §4.4: version 4, variant 10xx, lower-case hex; every draw its own.
        let draws = (0..<2000).map { _ in UUIDText.random() }
        #expect(draws.allSatisfy { UUIDText.isValid($0) && $0 == $0.lowercased() && Array($0)[14] == "4" && "89ab".contains(Array($0)[19]) })
        #expect(Set(draws).count == draws.count)
        // Every hex digit turns up in every position but the fixed ones.
        for position in [0, 9, 15, 20, 35] { #expect(Set(draws.map { Array($0)[position] }).count == 16, "position \(position)") }
    }

    /// RFC 9562 §5.7: the Unix time in milliseconds in the first 48 bits (big-endian),
    /// version 7, variant 10xx, the remaining 74 bits random.
    @Test func timeOrderedIdsCarryTheirMillisecondFirst() throws {
        // The RFC's own example (Appendix A.6): 2022-02-22T19:22:22Z is 0x017F22E279B0 ms.
        let example = UUIDText.timeOrdered(milliseconds: 0x017F_22E2_79B0)
        #expect(example.hasPrefix("017f22e2-79b0-7") && "89ab".contains(Array(example)[19]) && UUIDText.isValid(example))
        let before = ISODateTime.now().microsecondsSinceEpoch / 1000
        let draws = (0..<2000).map { _ in UUIDText.timeOrdered() }
        let after = ISODateTime.now().microsecondsSinceEpoch / 1000
        for draw in draws {
            let hex = draw.replacingOccurrences(of: "-", with: "")
            let millis = try #require(Int64(hex.prefix(12), radix: 16))
            #expect(millis >= before && millis <= after && Array(draw)[14] == "7" && "89ab".contains(Array(draw)[19]) && draw == draw.lowercased())
        }
        #expect(Set(draws).count == draws.count)
        // The random bits vary in every position that is not fixed.
        for position in [15, 20, 35] { #expect(Set(draws.map { Array($0)[position] }).count == 16, "position \(position)") }
        // Ids of later milliseconds sort after earlier ones, as text too.
        let ordered = (0..<50).map { UUIDText.timeOrdered(milliseconds: 1_700_000_000_000 + UInt64($0) * 1) }
        #expect(ordered == ordered.sorted())
    }
}

@Suite("ISO 8601 date-times (ITS-REST 1.0.3 §Datetime format)")
struct ISODateTimeTests {
    @Test func parsesOffsetsAndFractions() throws {
        let a = try #require(ISODateTime("2015-01-20T19:30:22.765+01:00"))
        let b = try #require(ISODateTime("2015-01-20T18:30:22.765Z"))
        #expect(a == b)
        #expect(b.description == "2015-01-20T18:30:22.765000Z")
        #expect(ISODateTime("2015-01-20T18:30:22.765 01:00") == ISODateTime("2015-01-20T17:30:22.765Z"))
        #expect(ISODateTime("2015-01-20T18:30:22-0230") == ISODateTime("2015-01-20T21:00:22Z"))
        #expect(ISODateTime("2015-01-20T18:30") == ISODateTime("2015-01-20T18:30:00Z"))
        #expect(ISODateTime("2015-01-20") == ISODateTime("2015-01-20T00:00:00Z"))
        #expect(ISODateTime("1970-01-01T00:00:00.000001Z")?.microsecondsSinceEpoch == 1)
    }

    @Test(arguments: ["2015-02-29T00:00:00Z", "2015-13-01", "2015-01-20T24:00:00Z", "20150120T000000Z", "2015-01-20T10:00:00+", "yesterday", ""])
    func refusesInvalidDateTimes(text: String) {
        #expect(ISODateTime(text) == nil)
    }

    @Test func formatsBeforeTheEpochAndLeapDays() {
        #expect(ISODateTime("1960-02-29T12:00:00.5Z")?.description == "1960-02-29T12:00:00.500000Z")
        #expect(ISODateTime("2024-02-29T23:59:59.999999Z")?.description == "2024-02-29T23:59:59.999999Z")
    }

    @Test func givesWeekdayForHTTPDates() throws {
        let fields = try #require(ISODateTime("1994-11-06T08:49:37Z")).utcFields
        #expect(fields.weekday == 0)
        #expect(fields.year == 1994 && fields.month == 11 && fields.day == 6 && fields.hour == 8)
    }
}
