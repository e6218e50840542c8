/// The files of the machine Marshal runs on, as steps see them (a release's artifact, an upload's
/// source). The transports read the bytes themselves; Core only asks whether a file is there, so
/// that a missing artifact fails before anything changes on a host. The CLI wires the real file
/// system; engine tests use a list of paths.
public protocol LocalFiles: Sendable {
    func isReadableFile(atPath path: String) -> Bool
}
