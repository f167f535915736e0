import ClientBase
import Hummingbird
import Jobs
import Logging
import Outbound
import Postgres
import ServiceLifecycle
import Surveys
import Tenancy

/// The HTTP API: routes, middleware and the services it runs with (the database pool and the
/// authentication cache). Shutting down stops taking connections, finishes the requests in
/// flight, then closes the pool.
public struct APIServer: Sendable {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        /// How long a good API key is trusted without asking the database again.
        public var credentialCacheTTL: Duration
        /// bcrypt's cost (log2 rounds) for user passwords: 12 in production, 4 in tests.
        public var passwordHashCost: UInt8
        public var users: UserStore.Settings
        /// Seals the tenants' SMTP passwords (CLIENTELE_SECRET_KEY); nil: none can be stored.
        public var secretBox: SecretBox?

        public init(
            host: String = "127.0.0.1", port: Int = 8080, credentialCacheTTL: Duration = .seconds(30),
            passwordHashCost: UInt8 = 12, users: UserStore.Settings = .init(), secretBox: SecretBox? = nil
        ) {
            self.host = host
            self.port = port
            self.credentialCacheTTL = credentialCacheTTL
            self.passwordHashCost = passwordHashCost
            self.users = users
            self.secretBox = secretBox
        }
    }

    public let database: PostgresClient
    public let settings: Settings
    public let metrics: HTTPMetrics
    let authenticator: Authenticator
    public let users: UserStore
    /// The API key store the server authenticates with.
    public var authenticatorKeys: APIKeyStore { authenticator.keys }
    let logger: Logger

    /// `listenForChanges` wires the auth cache to `clientele_auth` notifications.
    public init(database: PostgresClient, settings: Settings = Settings(), listenForChanges: Bool = true, logger: Logger) {
        self.database = database
        self.settings = settings
        self.logger = logger
        self.metrics = HTTPMetrics(database: database)
        let listener = listenForChanges
            ? PostgresListener(configuration: database.configuration, channels: [APIKeyStore.changeChannel], logger: logger)
            : nil
        self.users = UserStore(
            client: database, hasher: PasswordHasher(cost: settings.passwordHashCost), settings: settings.users,
            mailQueue: AccountMailJobs.enqueue)
        self.authenticator = Authenticator(
            keys: APIKeyStore(client: database), users: users, timeToLive: settings.credentialCacheTTL, listener: listener)
    }

    public func makeRouter() -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: RequestLogMiddleware())
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ProblemMiddleware())
        HealthRoutes(database: database, metrics: metrics).register(on: router)
        OpenAPIRoutes().register(on: router)
        let auth = AuthRoutes(users: users, authenticator: authenticator)
        auth.registerPublic(on: router.group("v1/auth"))
        SurveyPageRoutes(responses: SurveyResponses(database: database), logger: logger).register(on: router.group("s"))
        AccountPageRoutes(users: users, authenticator: authenticator, logger: logger).register(on: router)
        let v1 = router.group("v1").add(middleware: AuthMiddleware(authenticator: authenticator))
        auth.registerAuthenticated(on: v1)
        UserRoutes(users: users, keys: authenticator.keys, authenticator: authenticator)
            .register(users: v1.group("users"), keys: v1.group("api-keys"))
        AuditRoutes(database: database).register(on: v1.group("audit-log"))
        AccountRoutes(repository: AccountRepository(database: database)).register(on: v1.group("account"))
        ClientRoutes(repository: ClientRepository(database: database), idempotency: IdempotentRequests(database: database))
            .register(on: v1.group("clients"))
        CustomFieldRoutes(repository: CustomFieldRepository(database: database)).register(on: v1.group("custom-fields"))
        TimelineRoutes(repository: TimelineRepository(database: database)).register(on: v1.group("clients"))
        AroundThePurchaseRoutes.register(on: v1, database: database)
        AnalyticsRoutes.register(on: v1, database: database)
        ChurnRoutes.register(on: v1, database: database)
        SurveyRoutes.register(on: v1, database: database)
        MailRoutes(store: TenantMailSettingsStore(database: database, secretBox: settings.secretBox)).register(on: v1.group("mail"))
        JobRoutes(queue: JobQueue(client: database)).register(on: v1.group("jobs"))
        DataRightsRoutes(repository: DataRightsRepository(database: database)).register(on: v1.group("clients"))
        ImportRoutes(clients: ClientImporter(database: database), purchases: PurchaseImporter(database: database))
            .register(on: v1.group("imports"))
        ExportRoutes(export: ClientExport(repository: ClientRepository(database: database))).register(on: v1.group("exports"))
        return router
    }

    /// The application, with the pool and the auth listener as services shut down after it.
    /// `background` services (the job worker) stop after the HTTP server and before the pool.
    public func makeApplication(
        background: [any Service] = [],
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: makeRouter(),
            server: .http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()])),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "clientele"),
            services: [database, authenticator, HasherLifetime(hasher: users.hasher)] + background,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}

/// Stops the password hashing threads when the server shuts down.
struct HasherLifetime: Service {
    let hasher: PasswordHasher

    func run() async throws {
        try? await gracefulShutdown()
        await hasher.shutdown()
    }
}
