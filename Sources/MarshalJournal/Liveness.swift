import Foundation
import MarshalCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ProcessLiveness {
    /// This machine's processes, probed with `kill(pid, 0)`; the machine name is the host name, which
    /// is also what the CLI puts after the `@` of operator names (`OperatorName.make`).
    /// - Parameter name: the name this machine goes by in operator names (the host name by default).
    public static func thisMachine(named name: String = localMachineName()) -> ProcessLiveness {
        ProcessLiveness(machine: name, isAlive: { pid in
            guard pid > 0 else { return false }
            // EPERM: it exists but belongs to another user, so it is alive.
            return kill(pid, 0) == 0 || errno == EPERM
        })
    }

    /// The host name as `gethostname(2)` reports it (no DNS lookup).
    public static func localMachineName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
