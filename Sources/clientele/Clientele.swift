import ArgumentParser

@main
struct Clientele: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clientele",
        abstract: "Clientele: the client-relationship server for small businesses.",
        discussion: """
            With no DATABASE_URL, every command uses a private PostgreSQL cluster in ./.clientele \
            (CLIENTELE_DATA_DIR), created on first use.
            """,
        subcommands: [ServeCommand.self, TenantCommand.self, APIKeyCommand.self, UserCommand.self, JobCommand.self, WorkerCommand.self, MigrateCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
