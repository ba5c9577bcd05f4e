import Foundation
import Yams

/// Where each setting's value comes from: a flag, else its `SOCLE_*`
/// environment variable, else the configuration file (`--config FILE` or
/// `SOCLE_CONFIG`, YAML or JSON), else its default. A file key that is no
/// setting, a value that is not a scalar (or a list of scalars), and a file
/// that cannot be read are refused, naming the file, the line and the key.
public struct SettingValues: Sendable {
    public enum Source: String, Sendable {
        case flag, environment, file, `default`
    }

    var flags: [String: String]
    var environment: [String: String]
    var file: [String: String]
    /// The configuration file read, if any.
    public let filePath: String?

    /// - Parameters:
    ///   - flags: values given as flags, by setting name (`SOCLE_PORT`).
    ///   - environment: the process environment.
    public init(flags: [String: String] = [:], environment: [String: String] = [:], file: [String: String] = [:], filePath: String? = nil) {
        self.flags = flags
        self.environment = environment
        self.file = file
        self.filePath = filePath
    }

    /// Reads the configuration file the flags or the environment name, if any.
    public static func load(flags: [String: String], environment: [String: String]) throws(ConfigurationError) -> SettingValues {
        let name = Settings.config.name
        guard let path = flags[name] ?? environment[name], !path.isEmpty else {
            return SettingValues(flags: flags, environment: environment)
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError("the configuration file \(path) cannot be read: \(error.localizedDescription)")
        }
        return SettingValues(flags: flags, environment: environment, file: try parse(text, path: path), filePath: path)
    }

    /// A file's settings by name: a mapping of file keys (`port`,
    /// `database_url`) to scalars; a list of scalars is joined with commas.
    static func parse(_ text: String, path: String) throws(ConfigurationError) -> [String: String] {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError("the configuration file \(path) is not valid YAML: \(error)")
        }
        guard let root else { return [:] }
        guard case .mapping(let mapping) = root else {
            throw ConfigurationError("\(path): the configuration file must be a mapping of settings (key: value)")
        }
        let byKey = Dictionary(uniqueKeysWithValues: Settings.all.filter { $0 != Settings.config }.map { ($0.fileKey, $0) })
        var values: [String: String] = [:]
        var unknown: [String] = []
        for (keyNode, valueNode) in mapping {
            let key = keyNode.string ?? "\(keyNode)"
            let line = keyNode.mark.map { "line \($0.line)" } ?? "?"
            guard let setting = byKey[key] else {
                unknown.append("'\(key)' (\(line))")
                continue
            }
            switch valueNode {
            case .scalar(let scalar):
                values[setting.name] = scalar.string
            case .sequence(let sequence) where sequence.allSatisfy({ $0.scalar != nil }):
                values[setting.name] = sequence.compactMap(\.string).joined(separator: ",")
            default:
                throw ConfigurationError("\(path), \(line): \(key) must be a value or a list of values")
            }
        }
        guard unknown.isEmpty else {
            throw ConfigurationError(
                "\(path): unknown settings \(unknown.joined(separator: ", ")); the settings are \(byKey.keys.sorted().joined(separator: ", "))")
        }
        return values
    }

    /// The value of a setting and where it came from; nil when none is given and it has no default.
    public func value(_ setting: Setting) -> (value: String, source: Source)? {
        if let value = flags[setting.name] { return (value, .flag) }
        if let value = environment[setting.name] { return (value, .environment) }
        if let value = file[setting.name] { return (value, .file) }
        return setting.defaultValue.map { ($0, .default) }
    }

    /// Reads a setting with `read`; a value it refuses is an error naming
    /// the setting, the value, where it came from and what was expected.
    func read<T>(_ setting: Setting, _ expected: String, _ read: (String) -> T?) throws(ConfigurationError) -> T? {
        guard let (text, source) = value(setting) else { return nil }
        guard let value = read(text) else {
            let origin = source == .file ? "the file \(filePath ?? "")" : source == .flag ? "the flag \(setting.flag ?? "")" : "the \(source.rawValue)"
            throw ConfigurationError("\(setting.name) '\(setting.masked(text))' (from \(origin)) must be \(expected)")
        }
        return value
    }

    /// Each setting with its value (masked) and source, as `socle config check` prints them.
    public var effective: [(setting: Setting, value: String?, source: Source?)] {
        Settings.all.map { setting in
            let found = value(setting)
            return (setting, found.map { setting.masked($0.value) }, found?.source)
        }
    }
}
