import Foundation
import MarshalCore
import Testing

/// Answers recorded from Prometheus 2.x's `/api/v1/query`, named for what each shows.
enum PrometheusFixtures {
    static let vectorOneSeries = #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"api","instance":"web1:9100"},"value":[1764000000.123,"0.0421"]}]}}"#
    static let vectorTwoSeries = #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"web1"},"value":[1764000000,"1"]},{"metric":{"instance":"web2"},"value":[1764000000,"NaN"]}]}}"#
    static let vectorEmpty = #"{"status":"success","data":{"resultType":"vector","result":[]}}"#
    static let scalar = #"{"status":"success","data":{"resultType":"scalar","result":[1764000000.5,"12.5"]}}"#
    static let badQuery = #"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected \")\""}"#
    static let matrix = #"{"status":"success","data":{"resultType":"matrix","result":[]}}"#
}

/// Answers every request with one canned response and remembers the URL asked for.
final class CannedHTTPClient: HTTPClient, @unchecked Sendable {
    let status: Int
    let body: String
    private let lock = NSLock()
    private var urls: [String] = []

    init(status: Int = 200, body: String) {
        self.status = status
        self.body = body
    }

    var requestedURLs: [String] { lock.withLock { urls } }

    func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        lock.withLock { urls.append(request.url) }
        return HTTPResponse(status: status, headers: [], body: Array(body.utf8), timings: HTTPTimings(total: .zero, connect: .zero, ttfb: .zero))
    }
}

@Suite("Prometheus instant queries")
struct PrometheusClientTests {
    func parse(_ json: String, status: Int = 200) throws -> PrometheusResult {
        try PrometheusClient.parse(status: status, body: Array(json.utf8), query: "q")
    }

    @Test("A one-series vector gives its value and labels")
    func oneSeries() throws {
        let result = try parse(PrometheusFixtures.vectorOneSeries)
        #expect(result == .vector([PrometheusSample(labels: ["job": "api", "instance": "web1:9100"], value: 0.0421)]))
        #expect(result.singleValue == 0.0421)
    }

    @Test("An empty vector is no data, never zero")
    func emptyIsNoData() throws {
        let result = try parse(PrometheusFixtures.vectorEmpty)
        #expect(result == .noData)
        #expect(result.singleValue == nil)
    }

    @Test("A scalar gives its number; NaN sample values parse")
    func scalarAndNaN() throws {
        #expect(try parse(PrometheusFixtures.scalar) == .scalar(12.5))
        guard case .vector(let samples) = try parse(PrometheusFixtures.vectorTwoSeries) else {
            Issue.record("expected a vector")
            return
        }
        #expect(samples.count == 2 && samples[1].value.isNaN)
        #expect(try parse(PrometheusFixtures.vectorTwoSeries).singleValue == nil)
    }

    @Test("A rejected query reports Prometheus' error type and message")
    func badQuery() {
        #expect {
            _ = try parse(PrometheusFixtures.badQuery, status: 400)
        } throws: { error in
            guard case .queryFailed(_, "bad_data", let message) = error as? PrometheusError else { return false }
            return message.contains("parse error")
        }
    }

    @Test("A range result is refused with advice; non-JSON answers are errors")
    func unsupported() {
        #expect(throws: PrometheusError.unsupportedResultType(query: "q", resultType: "matrix")) {
            _ = try parse(PrometheusFixtures.matrix)
        }
        #expect(throws: PrometheusError.httpStatus(query: "q", status: 502, body: "Bad Gateway")) {
            _ = try parse("Bad Gateway", status: 502)
        }
    }

    @Test("The query is form-encoded into GET /api/v1/query")
    func encodesQuery() async throws {
        let http = CannedHTTPClient(body: PrometheusFixtures.scalar)
        let client = PrometheusClient(baseURL: "http://127.0.0.1:9090/", http: http)
        let result = try await client.query(#"sum(rate(http_requests_total{code=~"5.."}[5m]))"#)
        #expect(result == .scalar(12.5))
        #expect(http.requestedURLs == [
            "http://127.0.0.1:9090/api/v1/query?query=sum%28rate%28http_requests_total%7Bcode%3D~%225..%22%7D%5B5m%5D%29%29",
        ])
    }
}
