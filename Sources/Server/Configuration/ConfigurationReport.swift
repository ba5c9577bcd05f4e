/// What `socle config check` prints: each setting, its value (passwords
/// masked) and where the value came from, in the order of `Settings.all`.
public enum ConfigurationReport {
    public static func text(_ settings: SettingValues) -> String {
        let rows = settings.effective.map { entry in
            (entry.setting.name, entry.value ?? "(not set)", entry.source.map { source in
                source == .file ? "file \(settings.filePath ?? "")" : source.rawValue
            } ?? "")
        }
        let nameWidth = rows.map(\.0.count).max() ?? 0
        let valueWidth = min(rows.map(\.1.count).max() ?? 0, 60)
        let lines = rows.map { name, value, source in
            name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  " + value.padding(toLength: max(valueWidth, value.count), withPad: " ", startingAt: 0)
                + "  " + source
        }
        let header = settings.filePath.map { "Configuration file: \($0)\n" } ?? "No configuration file.\n"
        return header + lines.joined(separator: "\n") + "\nThe configuration is valid."
    }
}
