import Foundation
import MarshalCore
import MarshalJournal
import MarshalJournalPostgres

/// Where the journal and lock of a command live, resolved from `--state`, the environment's
/// `state:`, `$MARSHAL_STATE` or the default `.marshal`, in that order.
enum StateLocation {
    case folder(String)
    case postgres(PostgresSettings)

    static let defaultFolder = ".marshal"
    static let environmentVariable = "MARSHAL_STATE"

    static func resolve(option: String?, environment: StateSource?, processEnvironment: [String: String]) throws -> StateLocation {
        if let option {
            if option.hasPrefix("env:") {
                return try parse(variable(String(option.dropFirst(4)), processEnvironment, origin: "--state \(option)"))
            }
            // Anything on a command line is visible to every local user (`ps`, /proc/*/cmdline).
            if StateSource.urlHasPassword(option) {
                throw JournalError.invalidLocation(reason: "--state holds a password, which every user of this machine can read in the process list; put the URL in a variable and pass --state env:VARIABLE (or use PGPASSWORD or ~/.pgpass)")
            }
            return try parse(option)
        }
        switch environment {
        case .literal(let text)?: return try parse(text)
        case .environmentVariable(let name)?: return try parse(variable(name, processEnvironment, origin: "the environment's state: { env: \(name) }"))
        case nil: break
        }
        if let fallback = processEnvironment[environmentVariable], !fallback.isEmpty { return try parse(fallback) }
        return .folder(defaultFolder)
    }

    private static func variable(_ name: String, _ environment: [String: String], origin: String) throws -> String {
        guard !name.isEmpty, let value = environment[name], !value.isEmpty else {
            throw JournalError.invalidLocation(reason: "\(origin) names the variable \(name.isEmpty ? "(none)" : name), which is not set; export it with the state folder or postgresql:// URL")
        }
        return value
    }

    private static func parse(_ text: String) throws -> StateLocation {
        if StateSource.isURL(text) { return .postgres(try PostgresSettings(url: text)) }
        if text.contains("://") {
            throw JournalError.invalidLocation(reason: "only folders and postgres:// or postgresql:// URLs are state locations")
        }
        return .folder(text)
    }

    /// Opens the store (creating or migrating its schema).
    func open() throws -> any JournalStore {
        switch self {
        case .folder(let directory): try SQLiteJournal(directory: directory, liveness: Operator.liveness)
        case .postgres(let settings):
            SpooledJournal(inner: try PostgresJournal(settings: settings, liveness: Operator.liveness),
                           directory: Self.defaultFolder + "/spool")
        }
    }

    /// The embedded store of an environment reached over SSH also holds its lock on the lock host
    /// (`lock_host:`, else the first host), so that operators with separate journals exclude each
    /// other. Environments run on this machine (`transport: local`) keep the store's lock only.
    static func withHostLock(_ store: any JournalStore, environment: Environment) -> any JournalStore {
        let named = environment.lockHost.flatMap { environment.host(named: $0) }
        guard let host = named ?? environment.hosts.first, (host.transport ?? environment.transport) == .ssh else { return store }
        let secrets = SecretResolver().resolve(environment.secrets, strict: false).secrets
        let endpoint = EndpointBuilder.endpoint(for: host, in: environment, secrets: secrets, processEnvironment: ProcessInfo.processInfo.environment)
        return HostLockedJournal(inner: store, connector: TransportRouter(), endpoint: endpoint, liveness: Operator.liveness,
                                 clock: SystemClock())
    }

    /// A store opened without the environment (`resume RUN --state DIR`), once the run names it:
    /// an embedded store gets its host lock, so that the resume takes over the lock its dead run
    /// left on the lock host and releases it when it ends (otherwise that lock stayed, stale, and
    /// refused the next run from another journal).
    static func withHostLock(ifEmbedded store: any JournalStore, environment: Environment) -> any JournalStore {
        guard store is SQLiteJournal else { return store }
        return withHostLock(store, environment: environment)
    }

    var isShared: Bool {
        if case .postgres = self { true } else { false }
    }
}

extension JournalStore {
    /// Ends a command's use of the store: the embedded journal is checkpointed so that its one file
    /// holds everything (a shared store has nothing to do).
    func close() {
        if let locked = self as? HostLockedJournal { locked.inner.close() }
        (self as? SQLiteJournal)?.checkpoint()
    }
}
