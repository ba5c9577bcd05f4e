import Hummingbird
import JSONCore
import Logging
import Mappings
import NIOCore
import ServiceLifecycle
import Services
import ShippedMappings
import Storage
import UnixSignals

/// Assembles Socle: opens and prepares the store, builds the services and
/// the router, and serves until SIGINT or SIGTERM.
public enum SocleServer {
    public static let version = "0.1.0"

    /// Everything the routes need, opened and ready.
    public struct Components: Sendable {
        public let store: Store
        public let schemaVersion: Int
        public let configuration: ServerConfiguration

        public var ehrService: EHRService { EHRService(store: store.versions, systemID: configuration.systemID) }
        public var adminService: AdminService { AdminService(store: store) }
        public let templateService: TemplateService
        public var compositionService: CompositionService {
            var service = CompositionService(store: store.versions, templates: templateService, systemID: configuration.systemID)
            // A composition seen through FHIR is not deleted while a FHIR resource refers to what it is seen as.
            if store.projections.compositionView != nil && configuration.fhirReferentialIntegrity {
                let fhir = FHIRService(store: store, systemID: configuration.systemID, referentialIntegrity: true)
                service.deletionCheck = { objectID in try await fhir.requireUnreferenced(composition: objectID) }
            }
            return service
        }
        public var queryService: QueryService { QueryService(store: store, systemID: configuration.systemID) }
        /// FR Core and the conformance resources stored here, read at start.
        public let fhirProfiles: FHIRProfiles
        /// Every access to patient data, chained and signed; nil when `SOCLE_ACCESS_TRACE=off`.
        public let accessTrace: AccessTrace?
        /// The bearer token check, with its cache of the issuer's keys; nil without `SOCLE_OIDC_ISSUER`.
        public let bearerTokens: BearerTokenVerifier?
        /// The FHIRconnect mappings of `SOCLE_MAPPINGS` as loaded at start (empty without it); `mappingAdministration` has the set in force.
        public let mappings: MappingLibrary
        /// Adding and replacing mapping files while the server runs; nil without `SOCLE_MAPPINGS`.
        var mappingAdministration: MappingAdministration?
        /// Who cares for whom, when clinicians are limited to their patients (`SOCLE_CARE_RELATIONSHIPS`).
        var careRelationships: CareRelationships?
        public var fhirService: FHIRService {
            var service = FHIRService(
                store: store, systemID: configuration.systemID, referentialIntegrity: configuration.fhirReferentialIntegrity, profiles: fhirProfiles)
            service.conditionalDelete = configuration.fhirConditionalDelete
            service.compositions = compositionService
            return service
        }
        public var tagService: TagService { TagService(store: store, systemID: configuration.systemID) }
        public var directoryService: DirectoryService { DirectoryService(store: store.versions, systemID: configuration.systemID) }
        public var contributionService: ContributionService {
            ContributionService(
                store: store.versions, compositions: compositionService, ehrs: ehrService, directories: directoryService,
                systemID: configuration.systemID)
        }
    }

    /// Opens the database named in the configuration and brings its schema
    /// and projections up to date (refusing ones newer than this binary).
    /// With `SOCLE_MAPPINGS`, the FHIR search projection also keeps the
    /// resources compositions are seen as (`MappedCompositions`).
    public static func open(_ configuration: ServerConfiguration, logger: Logger, projections: [any Projection]? = nil)
        async throws -> Components
    {
        try configuration.validate()
        let projections = try projections ?? standardProjections(configuration)
        let store = try Store.open(try configuration.location(), settings: configuration.database, logger: logger, projections: projections)
        do {
            return try await open(configuration, store: store)
        } catch {
            try? await store.close()
            throw error
        }
    }

    /// The standard projections, the FHIR search index seeing compositions
    /// through the configuration's mappings when they map any template.
    public static func standardProjections(_ configuration: ServerConfiguration) throws -> [any Projection] {
        guard let source = configuration.mappings else { return Store.standardProjections }
        // With mappings on the view is kept even when it maps nothing yet: files may be added through the API.
        let view = MappedCompositions(library: try MappingFolder.load(source))
        return Store.standardProjections.map { $0 is FHIRSearchProjection ? FHIRSearchProjection(view: view) : $0 }
    }

    /// Prepares an already opened store and builds the components on it;
    /// EHRs made before each EHR had an EHR_ACCESS are given theirs. The
    /// mapped templates are made ready for the FHIR view of compositions
    /// before the projection maintenance may rebuild it.
    public static func open(_ configuration: ServerConfiguration, store: Store) async throws -> Components {
        let (schemaVersion, _) = try await store.prepare()
        let view = store.projections.compositionView as? MappedCompositions
        let templates = TemplateService(store: store.templates, mappedCompositions: view)
        var administration: MappingAdministration?
        if configuration.mappings == .shipped { try await installShippedTemplates(templates) }
        if let view, let source = configuration.mappings {
            // The source's files with those added through the API over them.
            let files = MappingFileService(store: store.versions, systemID: configuration.systemID)
            administration = MappingAdministration(source: source, files: files, view: view, templates: templates, projections: store.projections)
            try await administration?.reload()
        } else {
            try await view?.load(from: templates)
        }
        var components = Components(
            store: store, schemaVersion: schemaVersion, configuration: configuration, templateService: templates,
            fhirProfiles: try await FHIRProfiles.loaded(from: store.versions), accessTrace: try await openAccessTrace(configuration, store: store),
            bearerTokens: configuration.oidc.map { BearerTokenVerifier(settings: $0) },
            mappings: try view?.library ?? configuration.mappings.map(MappingFolder.load) ?? MappingLibrary(files: []), careRelationships: nil)
        components.mappingAdministration = administration
        if configuration.careRelationships {
            components.careRelationships = CareRelationships(fhir: components.fhirService, versions: store.versions)
        }
        try await components.ehrService.createMissingAccess()
        return components
    }

    /// The templates the shipped mappings map, stored when the store has
    /// none of their ids (a template of the same id the hospital uploaded is
    /// left as it is; two nodes starting together both find it stored).
    public static func installShippedTemplates(_ templates: TemplateService) async throws {
        for (file, text) in ShippedMappings.templates {
            do {
                try await templates.upload(Array(text.utf8))
            } catch let error as ServiceError where error.kind == .conflict {
                continue
            } catch {
                throw ConfigurationError("the shipped template \(file) cannot be installed: \(error)")
            }
        }
    }

    /// The access trace beside the store, its tables made, its key read (or made).
    static func openAccessTrace(_ configuration: ServerConfiguration, store: Store) async throws -> AccessTrace? {
        guard configuration.accessTrace.enabled else { return nil }
        let traceStore = try AccessTraceStore.beside(store)
        try await traceStore.prepare()
        let key = try AccessTraceKey.load(path: configuration.accessTrace.keyPath ?? traceStore.defaultKeyPath)
        return AccessTrace(store: traceStore, key: key)
    }

    public static func router(_ components: Components, logger: Logger) -> Router<SocleRequestContext> {
        let router = Router(context: SocleRequestContext.self)
        if components.configuration.metrics != .off {
            _ = SocleMetrics.registry
            router.add(middleware: RequestMetricsMiddleware())
        }
        router.add(middleware: RequestIDMiddleware())
        if components.configuration.tracing != nil { router.add(middleware: RequestTracingMiddleware()) }
        router.add(middleware: ErrorMiddleware())
        let configuration = components.configuration
        if configuration.maximumConcurrentRequests > 0 {
            router.add(
                middleware: RequestLimitMiddleware(
                    limiter: RequestLimiter(limit: configuration.maximumConcurrentRequests, wait: configuration.requestQueueTimeout)))
        }
        if let timeout = configuration.requestTimeout { router.add(middleware: RequestTimeoutMiddleware(timeout: timeout)) }
        router.add(middleware: NULRefusalMiddleware())
        router.add(middleware: PublicURLMiddleware(trusted: components.configuration.trustedProxies))
        // One route table, at the root and under /rest: the paths the
        // clients written for EHRbase call (`/rest/openehr/v1`, `/rest/admin`, `/rest/status`).
        RootRoute.register(on: router, version: version)
        APIDescriptionRoutes.register(on: router, version: version)
        routes(components, on: router.group())
        routes(components, on: router.group("rest"))
        fhirRoutes(components, on: router.group())
        return router
    }

    /// The status, the openEHR API and the admin API, on a group.
    static func routes(_ components: Components, on root: RouterGroup<SocleRequestContext>) {
        let configuration = components.configuration
        let status = JSONSerializer.bytes([
            "socle_version": .string(version),
            "database": .string(components.store.kind.rawValue),
            "schema_version": JSON(components.schemaVersion),
            "system_id": .string(configuration.systemID),
        ])
        root.get("status") { _, _ in Response.json(bytes: status) }
        HealthRoutes(store: components.store).register(on: root)

        let authenticated = root.group()
        authenticate(authenticated, components)
        if let trace = components.accessTrace { authenticated.add(middleware: AccessTraceMiddleware(trace: trace)) }
        authenticated.add(middleware: AuthorizationMiddleware(versions: components.store.versions, care: components.careRelationships))
        SocleMetrics.register(on: root, authenticated: authenticated, access: configuration.metrics, store: components.store)
        let openEHR = authenticated.group("openehr/v1")
        let limit = configuration.maximumBodySize
        EHRRoutes(service: components.ehrService, bodyLimit: limit).register(on: openEHR)
        DefinitionRoutes(service: components.templateService, bodyLimit: limit, systemID: configuration.systemID).register(on: openEHR)
        CompositionRoutes(service: components.compositionService, bodyLimit: limit).register(on: openEHR)
        ContributionRoutes(service: components.contributionService, bodyLimit: limit).register(on: openEHR)
        DirectoryRoutes(service: components.directoryService, bodyLimit: limit).register(on: openEHR)
        TagRoutes(service: components.tagService, bodyLimit: limit).register(on: openEHR)
        QueryRoutes(service: components.queryService, bodyLimit: limit).register(on: openEHR)
        AdminRoutes(
            service: components.adminService, templates: components.templateService, queries: components.queryService, fhir: components.fhirService,
            bodyLimit: limit, accessTrace: components.accessTrace, mappings: components.mappings, mappingSource: configuration.mappings,
            mappingAdministration: components.mappingAdministration
        )
            .register(on: authenticated.group("admin"))
    }

    /// The FHIR face, at `/fhir` only (FHIR clients know no `/rest` prefix):
    /// its errors are OperationOutcomes, authentication's too; the
    /// CapabilityStatement is public, as SMART clients expect.
    static func fhirRoutes(_ components: Components, on root: RouterGroup<SocleRequestContext>) {
        let fhir = root.group("fhir")
        fhir.add(middleware: FHIROutcomeMiddleware())
        fhir.get("metadata") { request, context in
            let format = try FHIRFormat.requested(request)
            return Response.fhir(.ok, FHIRCapabilities.statement(
                version: version, base: context.fhirBase, profiles: components.fhirProfiles.registry,
                conditionalDelete: components.configuration.fhirConditionalDelete, smart: components.bearerTokens != nil), format: format,
                pretty: request.fhirPretty)
        }
        SMARTConfiguration.register(on: fhir, bearer: components.bearerTokens)
        let authenticated = fhir.group()
        authenticate(authenticated, components)
        if let trace = components.accessTrace { authenticated.add(middleware: AccessTraceMiddleware(trace: trace)) }
        authenticated.add(middleware: AuthorizationMiddleware(versions: components.store.versions, care: components.careRelationships))
        FHIRAuditEvents(trace: components.accessTrace, systemID: components.configuration.systemID).register(on: authenticated)
        FHIRRoutes(service: components.fhirService, bodyLimit: components.configuration.maximumBodySize).register(on: authenticated)
    }

    static func authenticate(_ group: RouterGroup<SocleRequestContext>, _ components: Components) {
        let configuration = components.configuration
        switch configuration.authentication {
        case .basic(let users):
            // With an issuer and no users, bearer tokens alone.
            let directory = users.isEmpty && configuration.oidc != nil ? nil : UserDirectory(users)
            group.add(middleware: AuthenticationMiddleware(directory: directory, bearer: components.bearerTokens))
        case .none: group.add(middleware: AnonymousUserMiddleware())
        }
    }

    /// The services that run beside the HTTP server, in the order a service
    /// group starts them (it stops them in the reverse order, after the
    /// server, which comes last): the database, which closes only once the
    /// server has drained its requests, then the access trace (signed and
    /// closed before the database), then the projection maintenance.
    public static func services(_ components: Components, logger: Logger) -> [any Service] {
        var services: [any Service] = [DatabaseLifecycle(store: components.store)]
        if let trace = components.accessTrace {
            services.append(AccessTraceLifecycle(trace: trace, retentionDays: components.configuration.accessTrace.retentionDays, logger: logger))
        }
        return services + [ProjectionMaintenance(projections: components.store.projections, logger: logger)]
    }

    /// The HTTP server with the store's own services (`services`).
    /// `onServerRunning` is given the listening channel (its port, when 0 was asked for).
    public static func application(
        _ components: Components, logger: Logger, onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(components, logger: logger),
            configuration: .init(address: .hostname(components.configuration.host, port: components.configuration.port), serverName: "Socle"),
            services: services(components, logger: logger), onServerRunning: onServerRunning, logger: logger)
    }

    /// The application in a service group that stops on `signals`: the
    /// server stops accepting connections and drains its in-flight requests
    /// for up to `SOCLE_SHUTDOWN_GRACE_PERIOD`, after which what is left is
    /// cancelled; the database closes last.
    public static func serviceGroup(
        _ application: some ApplicationProtocol, _ configuration: ServerConfiguration, signals: [UnixSignal], logger: Logger, before: [any Service] = []
    ) -> ServiceGroup {
        var group = ServiceGroupConfiguration(services: before + [application], gracefulShutdownSignals: signals, logger: logger)
        group.maximumGracefulShutdownDuration = configuration.shutdownGracePeriod
        group.maximumCancellationDuration = .seconds(10)
        return ServiceGroup(configuration: group)
    }

    /// Serves until SIGINT or SIGTERM, then finishes in-flight requests and
    /// closes the database.
    public static func serve(_ configuration: ServerConfiguration, logger: Logger) async throws {
        let components = try await open(configuration, logger: logger)
        logger.info(
            "Socle \(version) serving",
            metadata: [
                "socle.address": "\(configuration.host):\(configuration.port)", "socle.database": "\(components.store.kind.rawValue)",
                "socle.schema_version": "\(components.schemaVersion)",
            ])
        do {
            // The exporter stops after the server (a group stops its services in reverse order), sending the last spans.
            let exporter = try configuration.tracing.map { try SocleTracing.bootstrap($0) }
            try await serviceGroup(
                application(components, logger: logger), configuration, signals: [.sigterm, .sigint], logger: logger, before: exporter.map { [$0] } ?? []
            ).run()
        } catch {
            try? await components.store.close()
            throw error
        }
        logger.info("Socle stopped")
    }
}
