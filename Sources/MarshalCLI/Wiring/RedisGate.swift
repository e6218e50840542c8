import MarshalCore
import MarshalRedis

/// Wires the redis gate to the RESP client.
enum RedisGate {
    static func make() -> any RedisClient { RESPClient() }
}
