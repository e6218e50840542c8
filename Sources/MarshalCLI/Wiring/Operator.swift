import Foundation
import MarshalCore
import MarshalJournal

/// Who runs Marshal, as `user@machine`, for the journal and the lock.
enum Operator {
    static var name: String {
        var user = ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.environment["LOGNAME"]
        if user == nil, let entry = getpwuid(getuid()), let pwName = entry.pointee.pw_name { user = String(cString: pwName) }
        return OperatorName.make(user: user ?? "uid\(getuid())", machine: ProcessLiveness.localMachineName())
    }
}
