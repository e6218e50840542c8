import Foundation
import MarshalCore
import MarshalHTTP
import Testing

extension HTTPLab {
    @Suite("libcurl HTTP client against the lab")
    final class HTTPClientTests {
        let lab: Lab
        let client = CurlHTTPClient()

        init() throws {
            lab = try Lab()
        }

        @Test("GET of a static file returns status, headers, body and timings")
        func getStaticFile() async throws {
            let response = try await client.send(HTTPRequest(url: lab.nginxURL + "/index.html"))
            #expect(response.status == 200)
            #expect(response.text == "hello from the marshal lab\n")
            #expect(response.header("content-type") == "text/html")
            #expect(response.header("Server")?.hasPrefix("nginx") == true)
            #expect(response.timings.total > .zero)
            #expect(response.timings.ttfb <= response.timings.total)
        }

        @Test("POST sends the JSON body and the request headers")
        func postJSON() async throws {
            let body = Array(#"{"release":"v42"}"#.utf8)
            let request = HTTPRequest(method: "POST", url: lab.appURL + "/echo",
                                      headers: [("Content-Type", "application/json"), ("X-Marshal-Run", "r1")], body: body)
            let response = try await client.send(request)
            #expect(response.status == 200)
            let echo = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
            #expect(echo["method"] as? String == "POST")
            #expect(echo["body"] as? String == #"{"release":"v42"}"#)
            let headers = try #require(echo["headers"] as? [String: String])
            #expect(headers["x-marshal-run"] == "r1")
            #expect(headers["content-type"] == "application/json")
            #expect(headers["expect"] == nil)
        }

        @Test("PUT and DELETE go out with their own method")
        func otherMethods() async throws {
            for method in ["PUT", "DELETE"] {
                let response = try await client.send(HTTPRequest(method: method, url: lab.appURL + "/echo", body: method == "PUT" ? [65] : []))
                let echo = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
                #expect(echo["method"] as? String == method)
            }
        }

        @Test("A 404 or 503 is a response, not an error")
        func errorStatusesAreResponses() async throws {
            #expect(try await client.send(HTTPRequest(url: lab.nginxURL + "/missing")).status == 404)
            #expect(try await client.send(HTTPRequest(url: lab.appURL + "/status/503")).status == 503)
        }

        @Test("Health turns from 503 to 200 once the app is ready")
        func healthBecomesHealthy() async throws {
            var statuses: [Int] = []
            for _ in 0..<30 {
                let response = try await client.send(HTTPRequest(url: lab.appURL + "/health"))
                statuses.append(response.status)
                if response.status == 200 {
                    #expect(response.text.contains("healthy"))
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(statuses.last == 200)
        }

        @Test("A refused connection is a connect error naming the URL")
        func connectionRefused() async {
            let url = "http://127.0.0.1:\(Lab.closedPort())/health"
            await #expect {
                _ = try await client.send(HTTPRequest(url: url))
            } throws: { error in
                guard case .connect(let shown, _) = error as? HTTPError else { return false }
                return shown == url && "\(error)".contains(url)
            }
        }

        @Test("A slow answer is a timeout error, raised near the timeout")
        func timeout() async {
            let started = ContinuousClock.now
            await #expect {
                _ = try await client.send(HTTPRequest(url: lab.appURL + "/delay?ms=3000", timeout: .milliseconds(300)))
            } throws: { error in
                guard case .timeout(_, .response, _) = error as? HTTPError else { return false }
                return true
            }
            #expect(ContinuousClock.now - started < .seconds(2))
        }

        @Test("Only http and https are allowed: ftp:// and file:// are refused")
        func protocolRestriction() async {
            for url in ["ftp://127.0.0.1:\(Lab.closedPort())/x", "file:///etc/passwd"] {
                await #expect {
                    _ = try await client.send(HTTPRequest(url: url))
                } throws: { error in
                    guard case .protocolNotAllowed = error as? HTTPError else { return false }
                    return true
                }
            }
        }

        @Test("An HTTP/0.9 answer or a malformed status line is reported as the server's answer, not as a refused URL scheme")
        func notHTTPAnswer() async {
            for path in ["/http09", "/bad-status"] {
                await #expect {
                    _ = try await client.send(HTTPRequest(url: lab.appURL + path))
                } throws: { error in
                    guard case .notHTTP = error as? HTTPError else { return false }
                    let text = "\(error)"
                    return text.contains("not an HTTP/1.x response") && !text.contains("only http:// and https://")
                }
            }
        }

        @Test("Error messages mask userinfo and query values")
        func errorMessagesMaskSecrets() async {
            let url = "http://admin:hunter2@127.0.0.1:\(Lab.closedPort())/x?token=abc"
            await #expect {
                _ = try await client.send(HTTPRequest(url: url))
            } throws: { error in
                let text = "\(error)"
                return !text.contains("hunter2") && !text.contains("abc") && text.contains("***@127.0.0.1")
            }
        }
    }
}

@Suite("Masking URLs for display")
struct URLMaskTests {
    @Test("userinfo and query values are masked, scheme, host and path kept")
    func masks() {
        #expect(URLMask.display("https://u:p@example.com:8443/a/b?token=s3cret&x=1#frag") == "https://***@example.com:8443/a/b?token=***&x=***")
        #expect(URLMask.display("http://127.0.0.1:8080/health") == "http://127.0.0.1:8080/health")
        #expect(URLMask.display("http://host/p?flag") == "http://host/p?flag")
    }
}
