/// OBJECT_VERSION_ID (BASE 1.1.0 §4.4.5): `object_id::creating_system_id::version_tree_id`,
/// for example `8849182c-82ad-4088-a07f-48ead4180515::socle.example.org::2`.
public struct ObjectVersionID: Sendable, Hashable, CustomStringConvertible {
    public var objectID: String
    public var creatingSystemID: String
    /// Trunk version number; Socle does not branch version trees.
    public var versionNumber: Int

    public init(objectID: String, creatingSystemID: String, versionNumber: Int) {
        self.objectID = objectID
        self.creatingSystemID = creatingSystemID
        self.versionNumber = versionNumber
    }

    /// Parses the three `::`-separated parts; the object id must be a UUID and
    /// the version tree id a positive trunk number.
    public init?(_ text: String) {
        let parts = text.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, UUIDText.isValid(parts[0]), !parts[1].isEmpty,
            let number = Int(parts[2]), number > 0, String(number) == parts[2]
        else { return nil }
        self.init(objectID: parts[0].lowercased(), creatingSystemID: parts[1], versionNumber: number)
    }

    public var description: String { "\(objectID)::\(creatingSystemID)::\(versionNumber)" }
}

/// UUID text as openEHR writes it (8-4-4-4-12 hexadecimal digits).
public enum UUIDText {
    public static func isValid(_ text: String) -> Bool {
        let utf8 = Array(text.utf8)
        guard utf8.count == 36 else { return false }
        for (index, byte) in utf8.enumerated() {
            switch index {
            case 8, 13, 18, 23:
                if byte != UInt8(ascii: "-") { return false }
            default:
                let isHex = (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 70) || (byte >= 97 && byte <= 102)
                if !isHex { return false }
            }
        }
        return true
    }

    /// A new random (version 4) UUID in lower case.
    public static func random() -> String {
        var bytes = randomBytes()
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return text(bytes)
    }

    /// A new time-ordered (version 7, RFC 9562 §5.7) UUID in lower case: the Unix time
    /// in milliseconds in its first 48 bits, then 74 random bits. Ids made one after
    /// another sort together, so a commit adds them at the end of the indexes that
    /// hold them, where a random id lands on a page of its own (BENCHMARKS.md
    /// §PostgreSQL statements, time-ordered ids). The id tells the millisecond it was made: Socle gives
    /// these to contributions and to the versioned objects inside an EHR, whose
    /// versions carry their commit time anyway, never to an EHR.
    public static func timeOrdered(milliseconds: UInt64 = UInt64(ISODateTime.now().microsecondsSinceEpoch / 1000)) -> String {
        var bytes = randomBytes()
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (40 - 8 * UInt64(index))) }
        bytes[6] = (bytes[6] & 0x0F) | 0x70
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return text(bytes)
    }

    /// 16 bytes from the system's generator (two draws, one system call each).
    private static func randomBytes() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let (high, low) = (generator.next() as UInt64, generator.next() as UInt64)
        return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) } + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    /// 16 bytes as 8-4-4-4-12 lower-case hexadecimal digits, written in place.
    private static func text(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: 36) { text in
            var at = 0
            for (index, byte) in bytes.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    text[at] = UInt8(ascii: "-")
                    at += 1
                }
                text[at] = digits[Int(byte >> 4)]
                text[at + 1] = digits[Int(byte & 0x0F)]
                at += 2
            }
            return at
        }
    }
}
