import Foundation
import MarshalCore
import MarshalJournal

/// Who runs Marshal, as `user@machine`, for the journal and the lock.
enum Operator {
    static var name: String {
        var user = ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.environment["LOGNAME"]
        if user == nil, let entry = getpwuid(getuid()), let pwName = entry.pointee.pw_name { user = String(cString: pwName) }
        return OperatorName.make(user: user ?? "uid\(getuid())", machine: machine)
    }

    /// This machine's name in the journal and locks: `$MARSHAL_MACHINE` when set (containers and CI
    /// runners often have random host names), else the host name.
    static var machine: String {
        if let name = ProcessInfo.processInfo.environment["MARSHAL_MACHINE"], !name.isEmpty, !name.contains("@") { return name }
        return ProcessLiveness.localMachineName()
    }

    /// Probes this machine's processes under the name above.
    static var liveness: ProcessLiveness { .thisMachine(named: machine) }
}
