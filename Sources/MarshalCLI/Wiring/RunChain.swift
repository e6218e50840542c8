import MarshalCore
import MarshalJournal

/// A run and the runs it continues (a resume of a resume), oldest first, with all their step
/// records: what `resume` and `rollback` read to know what already happened.
enum RunChain {
    static func records(endingAt run: RunRecord, journal: any JournalStore, throughRollbacks: Bool) async throws -> [StepRecord] {
        var chain = [run]
        while let parent = chain.first?.parentRunId, chain.count < 50,
              let record = try? await journal.run(id: parent, environment: nil),
              throughRollbacks || record.kind != .rollback {
            chain.insert(record, at: 0)
        }
        var records: [StepRecord] = []
        for link in chain { records += try await steps(of: link.id, journal: journal) }
        return records
    }

    /// Every run of a rollout's story: the rollout, its resumes and every rollback of any of
    /// them (runs whose parent is in the family), oldest first, with their step records. What a
    /// rollback reads, so an undo done or failed by an earlier rollback counts.
    static func family(of run: RunRecord, journal: any JournalStore) async throws -> (runs: [RunRecord], records: [StepRecord]) {
        let all = try await journal.runs(matching: RunQuery(environment: run.environment))
        let byId = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var root = byId[run.id] ?? run
        var hops = 0
        while let parent = root.parentRunId, let record = byId[parent], hops < 100 {
            root = record
            hops += 1
        }
        var members: Set<String> = [root.id]
        var grew = true
        while grew {
            grew = false
            for candidate in all where !members.contains(candidate.id) {
                if let parent = candidate.parentRunId, members.contains(parent) {
                    members.insert(candidate.id)
                    grew = true
                }
            }
        }
        let runs = all.filter { members.contains($0.id) }.sorted { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }
        var records: [StepRecord] = []
        for member in runs { records += try await steps(of: member.id, journal: journal) }
        return (runs, records)
    }

    /// Each run's status as read now: what a resume or rollback planned from (`RunRequest.journalAsRead`).
    static func statuses(_ runs: [RunRecord]) -> [String: RunRecord.Status] {
        Dictionary(runs.map { ($0.id, $0.status) }, uniquingKeysWith: { first, _ in first })
    }

    /// A run's step records: its recovery file's when the journal could not take them all.
    static func steps(of runId: String, journal: any JournalStore) async throws -> [StepRecord] {
        if let recovered = RecoveryFiles.steps(of: runId) { return recovered }
        return try await journal.steps(runId: runId)
    }
}
