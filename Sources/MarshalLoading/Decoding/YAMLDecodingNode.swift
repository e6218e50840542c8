import MarshalCore
import Yams

/// A Yams node read through a `NodeReader`, as Core's step kinds see it (`DecodingNode`): the
/// kinds decode in Core, this layer keeps the YAML types and the diagnostics.
struct YAMLDecodingNode: DecodingNode {
    let reader: NodeReader
    let node: Node

    var location: SourceLocation { reader.location(of: node) }
    var contentStart: SourceLocation { reader.contentStart(of: node) }
    var scalarText: String? { if case .scalar(let s) = node { s.string } else { nil } }
    var described: String { reader.describe(node) }
    func error(_ message: String, at location: SourceLocation) { reader.error(message, at: location) }

    func mapping(_ what: String, declaration: ObjectShape?) -> (any DecodingMap)? {
        reader.mapping(node, what).map { YAMLDecodingMap(map: $0.declare(declaration)) }
    }
    func sequence(_ what: String) -> [any DecodingNode]? { reader.sequence(node, what).map(wrap) }
    func listOrSingle() -> [any DecodingNode] { wrap(reader.listOrSingle(node)) }
    func string(_ what: String) -> String? { reader.string(node, what) }
    func template(_ what: String) -> TemplateString? { reader.template(node, what) }
    func int(_ what: String, min: Int?) -> Int? { reader.int(node, what, min: min) }
    func number(_ what: String) -> Double? { reader.number(node, what) }
    func bool(_ what: String) -> Bool? { reader.bool(node, what) }
    func duration(_ what: String) -> Duration? { reader.duration(node, what) }
    func takeTemplate(as key: TemplatedField.Key) -> Bool { reader.takeTemplate(node, as: key) }
    func choice<T: RawRepresentable & CaseIterable>(_ what: String, as type: T.Type) -> T? where T.RawValue == String {
        reader.choice(node, what, as: type)
    }
    func expression(_ what: String) -> Expression? { reader.expression(node, what) }
    func condition(subject: String, _ what: String) -> Expression? { reader.condition(node, subject: subject, what) }
    func configValue() -> ConfigValue { reader.configValue(node) }
    func configEntries(_ what: String) -> [ConfigEntry] { reader.configEntries(node, what) }
    func targets(_ what: String) -> TargetSelector? { RunbookDecoder(reader: reader, path: reader.file).decodeTargets(node, what) }
    func steps(_ what: String) -> [Step] { StepDecoder(reader: reader).decodeList(node, what) }

    private func wrap(_ nodes: [Node]) -> [any DecodingNode] { nodes.map { YAMLDecodingNode(reader: reader, node: $0) } }
}

/// A `MapReader` as Core's step kinds see it.
final class YAMLDecodingMap: DecodingMap {
    let map: MapReader
    init(map: MapReader) { self.map = map }

    var location: SourceLocation { map.location }
    var value: any DecodingNode { YAMLDecodingNode(reader: map.reader, node: map.node) }
    var entries: [DecodingEntry] {
        map.pairs.map { DecodingEntry(key: $0.key, keyLocation: $0.keyLocation, value: YAMLDecodingNode(reader: map.reader, node: $0.value)) }
    }
    func node(_ key: String, required: Bool, expected: String) -> (any DecodingNode)? {
        map.node(key, required: required, expected: expected).map { YAMLDecodingNode(reader: map.reader, node: $0) }
    }
    func keyLocation(_ key: String) -> SourceLocation? { map.keyLocation(key) }
    func accept(_ keys: [String]) { map.accept(keys) }
    func finish() { map.finish() }
}
