import Hummingbird
import JSONCore
import Logging
import Services
import Storage

/// Assembles Socle: opens and migrates the database, builds the services
/// and the router, and serves until SIGINT or SIGTERM.
public enum SocleServer {
    public static let version = "0.1.0"

    /// Everything the routes need, opened and ready.
    public struct Components: Sendable {
        public let database: any SQLDatabase
        public let store: VersionStore
        public let schemaVersion: Int
        public let configuration: ServerConfiguration

        public var ehrService: EHRService { EHRService(store: store, systemID: configuration.systemID) }
        public var adminService: AdminService { AdminService(store: store) }
        public let templateService: TemplateService
        public var compositionService: CompositionService {
            CompositionService(store: store, templates: templateService, systemID: configuration.systemID)
        }
        public var queryService: QueryService { QueryService(store: store, systemID: configuration.systemID) }
        public var directoryService: DirectoryService { DirectoryService(store: store, systemID: configuration.systemID) }
        public var contributionService: ContributionService {
            ContributionService(
                store: store, compositions: compositionService, ehrs: ehrService, directories: directoryService, systemID: configuration.systemID)
        }
    }

    /// Opens the database named in the configuration and brings its schema
    /// up to date (refusing one newer than this binary).
    public static func open(_ configuration: ServerConfiguration, logger: Logger) async throws -> Components {
        try configuration.validate()
        let database: any SQLDatabase
        switch try DatabaseLocation(configuration.databaseURL) {
        case .sqlite(let path): database = try SQLiteDatabase(path: path)
        case .postgresql(let url): database = PostgreSQLDatabase(url: url, logger: logger)
        }
        do {
            return try await open(configuration, database: database)
        } catch {
            try? await database.close()
            throw error
        }
    }

    /// Migrates an already opened database and builds the components on it.
    public static func open(_ configuration: ServerConfiguration, database: any SQLDatabase) async throws -> Components {
        let schemaVersion = try await Migrations.migrate(database)
        return Components(
            database: database, store: VersionStore(database: database), schemaVersion: schemaVersion, configuration: configuration,
            templateService: TemplateService(store: TemplateStore(database: database)))
    }

    public static func router(_ components: Components, logger: Logger) -> Router<SocleRequestContext> {
        let configuration = components.configuration
        let router = Router(context: SocleRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: ErrorMiddleware())
        let status = JSONSerializer.bytes([
            "socle_version": .string(version),
            "database": .string(components.database.kind.rawValue),
            "schema_version": JSON(components.schemaVersion),
            "system_id": .string(configuration.systemID),
        ])
        router.get("status") { _, _ in Response.json(bytes: status) }

        let authenticated = router.group()
        switch configuration.authentication {
        case .basic(let users): authenticated.add(middleware: BasicAuthMiddleware(directory: UserDirectory(users)))
        case .none: authenticated.add(middleware: AnonymousUserMiddleware())
        }
        let openEHR = authenticated.group("openehr/v1")
        EHRRoutes(service: components.ehrService, bodyLimit: configuration.maximumBodySize).register(on: openEHR)
        DefinitionRoutes(service: components.templateService, bodyLimit: configuration.maximumBodySize).register(on: openEHR)
        CompositionRoutes(service: components.compositionService, bodyLimit: configuration.maximumBodySize).register(on: openEHR)
        ContributionRoutes(service: components.contributionService, bodyLimit: configuration.maximumBodySize).register(on: openEHR)
        DirectoryRoutes(service: components.directoryService, bodyLimit: configuration.maximumBodySize).register(on: openEHR)
        QueryRoutes(service: components.queryService, bodyLimit: configuration.maximumBodySize).register(on: openEHR)
        AdminRoutes(
            service: components.adminService, templates: components.templateService, queries: components.queryService,
            bodyLimit: configuration.maximumBodySize)
            .register(on: authenticated.group("admin"))
        return router
    }

    public static func application(_ components: Components, logger: Logger) -> some ApplicationProtocol {
        Application(
            router: router(components, logger: logger),
            configuration: .init(address: .hostname(components.configuration.host, port: components.configuration.port), serverName: "Socle"),
            logger: logger)
    }

    /// Serves until SIGINT or SIGTERM, then finishes in-flight requests and
    /// closes the database.
    public static func serve(_ configuration: ServerConfiguration, logger: Logger) async throws {
        let components = try await open(configuration, logger: logger)
        logger.info(
            "Socle \(version) serving",
            metadata: [
                "socle.address": "\(configuration.host):\(configuration.port)", "socle.database": "\(components.database.kind.rawValue)",
                "socle.schema_version": "\(components.schemaVersion)",
            ])
        do {
            try await application(components, logger: logger).runService(gracefulShutdownSignals: [.sigterm, .sigint])
        } catch {
            try? await components.database.close()
            throw error
        }
        try await components.database.close()
        logger.info("Socle stopped")
    }
}
