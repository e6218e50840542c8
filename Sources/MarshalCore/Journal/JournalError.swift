import Foundation

/// Why the journal could not be read or written, written for the operator. `journal` names the store
/// (the SQLite file path, or the PostgreSQL location).
public enum JournalError: Error, Sendable, Hashable, CustomStringConvertible {
    case cannotOpen(journal: String, reason: String)
    /// The journal was written by a newer marshal with a schema this one does not know.
    case newerSchema(journal: String)
    /// Another process kept the journal locked longer than the busy timeout.
    case busy(journal: String, operation: String)
    /// The disk is full, read-only, failing, or the file is damaged.
    case storageFailed(journal: String, operation: String, reason: String)
    /// A row the journal holds cannot be read back (a value this version does not know).
    case unreadableRecord(journal: String, detail: String)
    case runNotFound(reference: String, environment: String?, journal: String)
    case ambiguousRun(reference: String, candidates: [String], journal: String)
    case runInOtherEnvironment(id: String, environment: String, expected: String)
    case duplicateRun(id: String, journal: String)
    case stepNotFound(runId: String, sequence: Int, journal: String)
    /// Like `busy`, with the processes of this machine that held the journal locked.
    case busyHeldBy(journal: String, operation: String, holders: [String])
    /// The store's server cannot be reached or dropped the connection (PostgreSQL down, network gone).
    case unreachable(journal: String, operation: String, reason: String)
    /// The file failed its integrity check; nothing is written to a damaged journal.
    case damaged(journal: String, reason: String)
    /// The state location given by the operator is not a folder or a postgres:// URL that can be used.
    case invalidLocation(reason: String)
    /// The caller was asked to renew or use a lock it no longer holds.
    case lockNotHeld(environment: String, runId: String, current: LockRecord?, journal: String)

    public var description: String {
        switch self {
        case .cannotOpen(let j, let r):
            "cannot open the run journal \(j): \(r). Check that the directory exists and is writable, or point --state at another directory"
        case .newerSchema(let j):
            "the run journal \(j) was written by a newer marshal; upgrade marshal to read it (this version leaves it untouched)"
        case .busy(let j, let op):
            "the run journal \(j) is busy (another marshal process is writing to it) and stayed so while trying to \(op); retry in a moment"
        case .storageFailed(let j, let op, let r):
            "could not \(op) in the run journal \(j): \(r). Check free disk space and that the file is writable; the journal keeps every step committed before this error"
        case .unreadableRecord(let j, let d):
            "the run journal \(j) holds a record this marshal cannot read (\(d)); it may have been written by a newer version"
        case .busyHeldBy(let j, let op, let holders):
            "the run journal \(j) stayed locked by \(holders.joined(separator: ", ")) while trying to \(op); marshal gave up waiting. Let that process finish (or stop it), then retry"
        case .unreachable(let j, let op, let r):
            "cannot reach the state store \(j) to \(op): \(r). Check that the server is up and reachable from this machine"
        case .damaged(let j, let r):
            "the run journal \(j) is damaged (\(r)); marshal will not write to it. Move it aside and restore a copy (`marshal state copy` can move history into a new store)"
        case .invalidLocation(let r):
            "invalid state location: \(r)"
        case .runNotFound(let ref, let env, let j):
            if ref == RunID.last {
                if let env { "no runs of environment \(env) in the journal \(j) yet" } else { "no runs in the journal \(j) yet" }
            } else {
                "no run \(ref)\(env.map { " of environment \($0)" } ?? "") in the journal \(j); `marshal runs` lists the runs it holds"
            }
        case .ambiguousRun(let ref, let c, let j):
            "run id \(ref) matches several runs in \(j): \(c.joined(separator: ", ")); give more of the id"
        case .runInOtherEnvironment(let id, let env, let expected):
            "run \(id) belongs to environment \(env), not \(expected); check the run id or -e"
        case .duplicateRun(let id, let j):
            "a run with id \(id) already exists in \(j); start the run again to get a new id"
        case .stepNotFound(let id, let seq, let j):
            "run \(id) has no step #\(seq) in the journal \(j)"
        case .lockNotHeld(let env, let id, let current, let j):
            if let current {
                "run \(id) no longer holds the lock of environment \(env): \(current.holderDescription) holds it since \(current.since) (journal \(j)). Stop and check what that run did before going on"
            } else {
                "run \(id) no longer holds the lock of environment \(env): it was released (`marshal lock release`?) (journal \(j)). Stop and check the environment before going on"
            }
        }
    }
}
