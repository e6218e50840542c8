/// A secret value. It prints as `***` in every description, interpolation, dump and encoding;
/// only `reveal()` gives the value, and only transports call it, at the moment of use.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, Encodable {
    public let name: String
    private let value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public static let mask = "***"

    public func reveal() -> String { value }

    public var description: String { Secret.mask }
    public var debugDescription: String { "Secret(\(name): \(Secret.mask))" }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Secret.mask)
    }
}

extension Secret: CustomReflectable {
    // `dump()` and debuggers use reflection; show the mask there too.
    public var customMirror: Mirror { Mirror(self, children: ["name": name, "value": Secret.mask]) }
}
