import Hummingbird
import NIOCore
import NIOPosix
import Logging
import PeepholeCore
import PeepholeProtocols
import ServiceLifecycle

/// The server over `store`: the router, and a service that loads every model at start and
/// reloads when the store changes. `/ready` answers 503 until loading is done, and once `drain` begins.
public func buildApplication(config: ServerConfig, store: ModelStore, logger: Logger, drain: DrainState = DrainState()) -> some ApplicationProtocol {
    let registry = ModelRegistry(store: store, defaultModel: config.defaultModel, logger: logger)
    let router = buildRouter(registry: registry, metrics: ServerMetrics(), config: config, drain: drain)
    let connections = ConnectionCounter(limit: config.maxConnections)
    let headerTimeout = TimeAmount.seconds(Int64(config.headerTimeoutSeconds))
    let bodyTimeout = TimeAmount.seconds(Int64(config.bodyTimeoutSeconds))
    let idleTimeout = TimeAmount.seconds(Int64(config.idleTimeoutSeconds))
    return Application(
        router: router,
        server: .http1(configuration: .init(
            additionalChannelHandlers: [ConnectionGuard(counter: connections, headerTimeout: headerTimeout, bodyTimeout: bodyTimeout, idleTimeout: idleTimeout)],
            idleTimeout: idleTimeout)),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "peephole"),
        services: [ModelLoaderService(
            registry: registry, store: store,
            interval: config.reloadIntervalMilliseconds > 0 ? .milliseconds(config.reloadIntervalMilliseconds) : nil,
            logger: logger)],
        logger: logger)
}

/// The routes over `registry`, with metrics, JSON errors and JSON 404/405 for unknown routes.
public func buildRouter(registry: ModelRegistry, metrics: ServerMetrics, config: ServerConfig,
                        drain: DrainState = DrainState()) -> Router<PeepholeRequestContext> {
    let router = Router(context: PeepholeRequestContext.self)
    router.add(middleware: MetricsMiddleware(metrics: metrics))
    router.add(middleware: ErrorMiddleware())
    OperationsController(registry: registry, metrics: metrics, drain: drain).addRoutes(to: router)
    V2HealthController(registry: registry, drain: drain).addRoutes(to: router)
    ModelsController(registry: registry).addRoutes(to: router)
    let batcher = InferenceBatcher(workers: config.resolvedBatchWorkers, limits: config.batchLimits,
                                   modelLimits: config.modelBatchLimits, metrics: metrics)
    let runner = ServerRunner(admission: ModelAdmission(limit: config.maxQueuePerModel), metrics: metrics, batcher: batcher)
    let api = PeepholeAPI(limits: config.limits, runner: runner)
    let decoder = PeepholeBodyDecoder(maxBodyBytes: config.maxBodyBytes, limits: config.limits)
    InferenceController(registry: registry, api: api, decoder: decoder).addRoutes(to: router)
    GenerateController(registry: registry, api: api, decoder: decoder).addRoutes(to: router)
    let sessions = SessionRegistry(limit: config.maxSessions, idleSeconds: config.sessionIdleSeconds)
    SessionController(registry: registry, sessions: sessions, api: api, decoder: decoder).addRoutes(to: router)
    let coding = ProtocolBodyCoding(maxBodyBytes: config.maxBodyBytes)
    KServeV2Controller(registry: registry, sessions: sessions, api: KServeV2API(limits: config.limits, runner: runner),
                       coding: coding, limits: config.limits).addRoutes(to: router)
    TFServingController(registry: registry, api: TFServingAPI(limits: config.limits, runner: runner), coding: coding).addRoutes(to: router)
    InspectorController(registry: registry, api: api, decoder: decoder, cache: InspectorCache(registry: registry)).addRoutes(to: router)
    AdminController(registry: registry, token: config.adminToken).addRoutes(to: router)
    // Added after the routes, so it wraps only the not-found responder.
    router.add(middleware: UnmatchedRouteMiddleware(routes: router.routes))
    return router
}

/// Runs the server until SIGTERM or SIGINT, then fails readiness at once, goes on serving for
/// `drain_seconds`, stops accepting connections, finishes the requests in flight and returns.
public func runServer(config: ServerConfig, store: ModelStore, logger: Logger) async throws {
    let drain = DrainState()
    let app = buildApplication(config: config, store: store, logger: logger, drain: drain)
    // Shut down in reverse order: the drain first, then the server.
    let group = ServiceGroup(configuration: .init(
        services: [app, DrainService(state: drain, seconds: config.drainSeconds, logger: logger)],
        gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
}

/// Makes NIO's event loops Swift Concurrency's global executor, so a request's handler runs on
/// the thread that read it instead of hopping to the concurrency pool and back. Call once, at
/// the start of the process, before any other concurrent work; false when it could not be done.
public func runConcurrencyOnEventLoops() -> Bool {
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}
