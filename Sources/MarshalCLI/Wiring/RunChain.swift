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
        for link in chain { records += try await journal.steps(runId: link.id) }
        return records
    }
}
