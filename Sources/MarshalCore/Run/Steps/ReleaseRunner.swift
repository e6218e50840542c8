import Foundation

/// `release`: upload the artifact, unpack it into `PATH/releases/<id>/`, switch `PATH/current`
/// atomically, prune to `keep`. The release that was live before is evidence, so undo can go back.
enum ReleaseRunner {
    static func run(_ release: ReleaseStep, on executor: any RemoteExecutor, timeout: Duration?, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let artifact = try context.render(release.artifact).plainValue
        let path = try context.render(release.path).plainValue
        let id = try release.releaseID.map { (t: TemplateString) throws(StepFailure) in try context.render(t).plainValue } ?? context.runId
        // Checked again here, after rendering: a param or step output can hold `..` or `/`.
        if let problem = PathComponent.problem(id) {
            throw StepFailure("\(release.releaseID?.location.description ?? "release id"): release id is not usable: \(problem); \(PathComponent.rule)")
        }
        if let problem = PathComponent.problemInParams(release.path, params: context.scope.params) {
            throw StepFailure("release path: \(problem)", at: release.path.location)
        }
        guard context.files.isReadableFile(atPath: artifact) else {
            throw StepFailure("artifact \(artifact) not found on this machine", at: release.artifact.location)
        }
        let sends = ReleaseStep.Commands(path: path, id: id)
        let (prepared, _) = await RemoteCommand.run(sends.prepare, on: executor, timeout: timeout, context: context)
        if prepared.status != .succeeded { return prepared }
        let tarball = sends.tarball
        let upload: UploadResult
        do {
            upload = try await executor.upload(localPath: artifact, remotePath: tarball, mode: ReleaseStep.Commands.tarballMode)
        } catch {
            return .failed(error.description, command: "upload \(artifact) → \(tarball)")
        }
        let (unpacked, unpackResult) = await RemoteCommand.run(sends.unpack,
                                                               on: executor, timeout: timeout, context: context)
        let created = unpackResult?.stdoutText.split(separator: "\n").contains("existed=no") ?? false
        // A release that fails from here on leaves no half-made release dir behind.
        func cleanedUp(_ failed: StepOutcome) async -> StepOutcome {
            var failed = failed
            let (cleanup, _) = await RemoteCommand.run(ReleaseCommands.cleanUpFailed(path: path, releaseID: id, tarball: tarball, created: created),
                                                       on: executor, timeout: .seconds(120), context: context)
            failed.message = (failed.message ?? "failed") + (cleanup.status == .succeeded
                ? (created ? "; removed the partial releases/\(id)" : "; releases/\(id) existed before and was left")
                : "; could not remove the partial releases/\(id): \(cleanup.message ?? "failed")")
            return failed
        }
        if unpacked.status != .succeeded { return await cleanedUp(unpacked) }
        let previous = unpackResult?.stdoutText.split(separator: "\n")
            .first { $0.hasPrefix("previous=") }.map { String($0.dropFirst("previous=".count)) } ?? ""
        var (outcome, _) = await RemoteCommand.run(sends.switchCurrent, on: executor, timeout: timeout, context: context)
        if outcome.status != .succeeded { return await cleanedUp(outcome) }
        _ = await RemoteCommand.run(sends.prune(keep: release.keep), on: executor, timeout: timeout, context: context)
        outcome.command = "release \(artifact) → \(path)/releases/\(id)"
        outcome.message = "current → releases/\(id)" + (previous.isEmpty ? " (first release)" : " (was \(previous))")
        outcome.evidence = .record([
            "release": .string(id), "previous": previous.isEmpty ? .null : .string(previous), "path": .string(path),
            "sha256": .string(upload.sha256), "bytes": .number(Double(upload.bytes)),
        ])
        return outcome
    }

    /// The automatic undo of a release: point `current` back at the release recorded as previous.
    static func undo(evidence: ConfigValue, on executor: any RemoteExecutor, context: StepContext) async -> StepOutcome {
        guard case .string(let path)? = evidence["path"] else { return .failed("the release's evidence has no path; cannot undo") }
        guard case .string(let previous)? = evidence["previous"] else {
            return StepOutcome(status: .succeeded, message: "no release was live before this one; nothing to switch back to")
        }
        var (outcome, _) = await RemoteCommand.run(ReleaseCommands.switchCurrent(path: path, releaseID: previous),
                                                   on: executor, timeout: .seconds(120), context: context)
        if outcome.status == .succeeded { outcome.message = "current → releases/\(previous)" }
        return outcome
    }
}

enum UploadRunner {
    static func run(_ upload: UploadStep, on executor: any RemoteExecutor, context: StepContext) async throws(StepFailure) -> StepOutcome {
        let source = try context.render(upload.source).plainValue
        let destination = try context.render(upload.destination).plainValue
        let command = "upload \(source) → \(destination)"
        guard context.files.isReadableFile(atPath: source) else {
            throw StepFailure("\(source) not found on this machine", at: upload.source.location)
        }
        do {
            let result = try await executor.upload(localPath: source, remotePath: destination, mode: upload.mode)
            return StepOutcome(status: .succeeded, message: "\(result.bytes) bytes, sha256 \(result.sha256.prefix(12))…",
                               evidence: .record(["path": .string(destination), "sha256": .string(result.sha256),
                                                  "bytes": .number(Double(result.bytes))]),
                               command: command)
        } catch {
            return .failed(error.description, command: command)
        }
    }
}
