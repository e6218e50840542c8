// libFuzzer entry point over three parsers of hostile input: the YAML loader (runbooks and
// environments), the expression language, and the load generator's HTTP response parser.
// Built only by scripts/fuzz (MARSHAL_FUZZ=1, -sanitize=fuzzer,address); the first input byte
// picks the target, so one corpus and one run cover all three. A broken invariant aborts, which
// libFuzzer reports as a finding with the input that caused it.
import Foundation
import MarshalCore
@testable import MarshalHTTP
@testable import MarshalLoading

private let scratch: String = {
    let dir = (ProcessInfo.processInfo.environment["MARSHAL_FUZZ_DIR"] ?? NSTemporaryDirectory()) + "/marshal-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}()

private func fail(_ why: String) -> Never {
    FileHandle.standardError.write(Data("marshal-fuzz invariant broken: \(why)\n".utf8))
    abort()
}

/// Loads the bytes as a YAML file: any diagnostic is fine, an unpositioned one (or a crash) is not.
private func loader(_ bytes: UnsafeRawBufferPointer) {
    let path = scratch + "/input.yml"
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    for diagnostic in Loader(root: scratch).validate(paths: [path], environmentPath: nil) {
        if diagnostic.location.line < 1 || diagnostic.location.column < 1 { fail("unpositioned diagnostic: \(diagnostic)") }
        if diagnostic.message.isEmpty { fail("empty diagnostic message at \(diagnostic.location)") }
    }
}

private let base = SourceLocation(file: "fuzz", line: 1, column: 1)
private let scope = DictionaryScope(
    ["a": .bool(true), "b": .number(0), "c": .string("x"), "p95": .number(0.3), "value": .number(5),
     "body": .string(String(repeating: "a", count: 30) + "!"), "status": .number(200)],
    document: ExprValue.fromJSON(Array(#"{"status": "up", "services": {"a": {"up": true}}, "items": [{"id": 1}], "tags": ["x"]}"#.utf8)))

/// Parses and evaluates the text: errors must point inside it.
private func expression(_ bytes: UnsafeRawBufferPointer) {
    let text = String(decoding: bytes, as: UTF8.self)
    do {
        let parsed = try Expression.parse(text, at: base)
        _ = try? parsed.evaluate(in: scope)
        _ = try? parsed.test(in: scope)
        _ = parsed.explain(in: scope)
        _ = Expression.unknownName(in: text, at: base) { $0 == "p95" }
    } catch {
        let column = error.location.column
        if column < 1 || column > 1 + text.count { fail("error column \(column) outside a text of \(text.count) characters") }
    }
}

private enum Parsed: Equatable {
    case needMore, complete(Int, Bool, Int), malformed(String)
}

private func parse(_ bytes: UnsafeRawBufferPointer, cut: Int, bodiless: Bool) -> Parsed {
    var parser = ResponseParser()
    parser.reset(bodiless: bodiless)
    var start = 0
    for end in [cut, bytes.count] where end > start {
        switch parser.feed(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) {
        case .needMore: start = end
        case .complete(let status, let keepAlive, let consumed):
            if consumed > end - start { fail("consumed \(consumed) of a \(end - start)-byte piece") }
            return .complete(status, keepAlive, start + consumed)
        case .malformed(let why): return .malformed(why)
        }
    }
    return .needMore
}

/// Feeds the bytes whole and split at a point the input chooses: where the response ends, or why
/// it is refused, must not depend on how the bytes arrive.
private func response(_ bytes: UnsafeRawBufferPointer) {
    guard let first = bytes.first else { return }
    let rest = UnsafeRawBufferPointer(rebasing: bytes.dropFirst())
    let cut = rest.isEmpty ? 0 : Int(first) % (rest.count + 1)
    let bodiless = first & 0x80 != 0
    let whole = parse(rest, cut: 0, bodiless: bodiless)
    let split = parse(rest, cut: cut, bodiless: bodiless)
    if whole != split { fail("whole \(whole) but split at \(cut) \(split)") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let selector = bytes.first else { return 0 }
    let input = UnsafeRawBufferPointer(rebasing: bytes.dropFirst())
    switch selector % 3 {
    case 0: loader(input)
    case 1: expression(input)
    default: response(input)
    }
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                       _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

/// SwiftPM links an executable target's entry point as `<target>_main` (so tests can import it);
/// libFuzzer's own `main` is then not linked, so this one hands over to libFuzzer's driver.
@_cdecl("marshal_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments) { data, size in fuzz(data, size) }
}
