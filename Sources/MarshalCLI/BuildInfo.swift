/// The version and the commit this binary was built from. `make install` and `make dist` write the
/// commit here for the build and put the placeholder back afterwards; a plain `swift build` says "dev".
enum BuildInfo {
    static let version = "0.1.0"
    static let commit = "dev"
}
