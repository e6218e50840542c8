import MarshalCore
import MarshalHTTP

/// Wires the HTTP-based gates to libcurl.
enum HTTPGates {
    static func make() -> any GateRunner {
        HTTPGateRunner(http: CurlHTTPClient(), load: CurlLoadGenerator())
    }
}
