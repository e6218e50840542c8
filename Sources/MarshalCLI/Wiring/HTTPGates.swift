import MarshalCore

/// Wires the HTTP-based gates; replaced by the libcurl-backed runner when it lands.
enum HTTPGates {
    static func make(renderer: any TemplateRendering) -> (any GateRunner)? { nil }
}
