import Foundation

/// Instant queries against Prometheus' HTTP API (`GET /api/v1/query`).
public struct PrometheusClient: Sendable {
    public let baseURL: String
    public let http: any HTTPClient
    public var timeout: Duration

    public init(baseURL: String, http: any HTTPClient, timeout: Duration = .seconds(10)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.http = http
        self.timeout = timeout
    }

    /// Evaluates `query` at `time` (now when nil).
    public func query(_ query: String, at time: Date? = nil) async throws(PrometheusError) -> PrometheusResult {
        var url = "\(baseURL)/api/v1/query?query=\(Self.formEncode(query))"
        if let time { url += "&time=\(String(format: "%.3f", time.timeIntervalSince1970))" }
        let request = HTTPRequest(url: url, headers: [("Accept", "application/json")], timeout: timeout)
        let response: HTTPResponse
        do {
            response = try await http.send(request)
        } catch {
            throw .unreachable(error)
        }
        return try Self.parse(status: response.status, body: response.body, query: query)
    }

    /// Reads an API answer. Public so recorded answers can be checked without a server.
    public static func parse(status: Int, body: [UInt8], query: String) throws(PrometheusError) -> PrometheusResult {
        let object = try? JSONSerialization.jsonObject(with: Data(body))
        guard let root = object as? [String: Any] else {
            if status != 200 { throw .httpStatus(query: query, status: status, body: excerpt(body)) }
            throw .malformed(query: query, reason: "the answer is not a JSON object")
        }
        if (root["status"] as? String) != "success" {
            let type = root["errorType"] as? String ?? "unknown"
            let message = root["error"] as? String ?? "HTTP \(status)"
            throw .queryFailed(query: query, errorType: type, message: message)
        }
        guard let data = root["data"] as? [String: Any], let resultType = data["resultType"] as? String else {
            throw .malformed(query: query, reason: "no data.resultType")
        }
        switch resultType {
        case "scalar":
            guard let pair = data["result"] as? [Any], pair.count == 2 else {
                throw .malformed(query: query, reason: "a scalar result is not [time, value]")
            }
            return .scalar(try sampleValue(pair[1], query: query))
        case "vector":
            guard let items = data["result"] as? [[String: Any]] else {
                throw .malformed(query: query, reason: "a vector result is not a list")
            }
            if items.isEmpty { return .noData }
            var samples: [PrometheusSample] = []
            for item in items {
                guard let pair = item["value"] as? [Any], pair.count == 2 else {
                    throw .malformed(query: query, reason: "a vector sample has no [time, value]")
                }
                let labels = item["metric"] as? [String: String] ?? [:]
                samples.append(PrometheusSample(labels: labels, value: try sampleValue(pair[1], query: query)))
            }
            return .vector(samples)
        default:
            throw .unsupportedResultType(query: query, resultType: resultType)
        }
    }

    // Prometheus sends sample values as strings ("1.5", "NaN", "+Inf") to keep them exact.
    private static func sampleValue(_ raw: Any, query: String) throws(PrometheusError) -> Double {
        guard let text = raw as? String else { throw .malformed(query: query, reason: "a sample value is not a string") }
        switch text {
        case "NaN": return .nan
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        default:
            guard let value = Double(text) else { throw .malformed(query: query, reason: "sample value \"\(text)\" is not a number") }
            return value
        }
    }

    private static func excerpt(_ body: [UInt8]) -> String {
        String(String(decoding: body.prefix(200), as: UTF8.self).split(separator: "\n").first ?? "")
    }

    private static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// One series of an instant vector.
public struct PrometheusSample: Sendable, Hashable {
    public var labels: [String: String]
    public var value: Double

    public init(labels: [String: String], value: Double) {
        self.labels = labels
        self.value = value
    }
}

/// An instant query's answer. An empty vector is `.noData`, never zero: a gate on a metric
/// that does not exist must not pass by accident.
public enum PrometheusResult: Sendable, Hashable {
    case scalar(Double)
    case vector([PrometheusSample])
    case noData

    /// The single number a gate compares, or nil when there is none or more than one series.
    public var singleValue: Double? {
        switch self {
        case .scalar(let v): v
        case .vector(let samples): samples.count == 1 ? samples[0].value : nil
        case .noData: nil
        }
    }
}

/// Why a Prometheus query gave no usable answer.
public enum PrometheusError: Error, Sendable, Hashable, CustomStringConvertible {
    case unreachable(HTTPError)
    case httpStatus(query: String, status: Int, body: String)
    case queryFailed(query: String, errorType: String, message: String)
    case malformed(query: String, reason: String)
    case unsupportedResultType(query: String, resultType: String)

    public var description: String {
        switch self {
        case .unreachable(let e):
            "Prometheus is unreachable: \(e)"
        case .httpStatus(let q, let s, let b):
            "Prometheus answered HTTP \(s) to query \(q): \(b)"
        case .queryFailed(let q, let t, let m):
            "Prometheus rejected query \(q) (\(t)): \(m)"
        case .malformed(let q, let r):
            "Prometheus answer to query \(q) is malformed: \(r)"
        case .unsupportedResultType(let q, let t):
            "query \(q) returned a \(t); only instant vectors and scalars can be compared. Wrap it in an aggregation"
        }
    }
}
