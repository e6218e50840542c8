/// `redis: { url: redis://host:6379/0, password: "{{ secrets.redis }}", queues: [default],
/// keys: { failed_jobs: { zcard: failed_jobs } }, expect: "queue_depth < 50" }`: INFO fields and key
/// sizes of a Redis server, as named values held to `expect`.
public struct RedisStep: Sendable, Hashable {
    /// A named value read from one key.
    public struct Key: Sendable, Hashable {
        public enum Command: String, Sendable, Hashable, CaseIterable {
            case llen, zcard, scard, get, hlen
            /// The Redis command, as sent.
            public var verb: String { rawValue.uppercased() }
        }

        public var name: String
        public var command: Command
        public var key: TemplateString
        public init(name: String, command: Command, key: TemplateString) {
            self.name = name
            self.command = command
            self.key = key
        }
    }

    /// `redis://host:port/db`; a password in it is used for AUTH like `password`.
    public var url: TemplateString
    /// Sent with AUTH over the connection (or to redis-cli in its environment), never in an argument list.
    public var password: TemplateString?
    /// Laravel queue names: `queue_depth` is the sum of `LLEN queues:NAME`.
    public var queues: [TemplateString]
    public var keys: [Key]
    public var expect: Expression?
    public var onNoData: NoDataPolicy
    /// Connect and answer timeout of one check.
    public var timeout: Duration

    public init(url: TemplateString, password: TemplateString? = nil, queues: [TemplateString] = [], keys: [Key] = [],
                expect: Expression?, onNoData: NoDataPolicy = .fail, timeout: Duration = .seconds(5)) {
        self.url = url
        self.password = password
        self.queues = queues
        self.keys = keys
        self.expect = expect
        self.onNoData = onNoData
        self.timeout = timeout
    }

    /// Names every redis check offers besides the INFO fields (`keyspace_hits`, `used_memory`, …).
    public static let derivedNames = ["hits", "misses", "hit_rate", "lifetime_hit_rate"]
}
