import ArgumentParser
import MarshalCore

/// The run a command names on its command line (`last`, an id, a unique prefix), or exit 2
/// saying why there is none.
enum NamedRun {
    static func find(_ reference: String, environment: String?, in journal: any JournalStore) async throws -> RunRecord {
        do {
            return try await journal.run(id: reference, environment: environment.map(EnvironmentName.of))
        } catch {
            Terminal.stderr("error: \(error)")
            throw ExitCode.invalidInput
        }
    }
}
