"""Writes a JSON text into a Swift source file as a raw string literal, the
form in which Socle ships generated tables (parsed once at start with JSONCore)."""


def write_json_literal(target, header, type_name, text):
    """`header`: comment lines; the literal becomes `type_name.source`."""
    with open(target, "w") as out:
        for line in header:
            out.write("// " + line + "\n")
        out.write("\nextension %s {\n    static let source = #\"\"\"\n" % type_name)
        for start in range(0, len(text), 4000):
            out.write(text[start:start + 4000] + "\\#\n")
        out.write("\"\"\"#\n}\n")
