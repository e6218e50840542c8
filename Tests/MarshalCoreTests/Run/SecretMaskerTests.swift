import Foundation
import MarshalCore
import Testing

@Suite("Masking by value")
struct SecretMaskerTests {
    let secret = Secret(name: "token", value: "s3cr3t/value+x")

    @Test("the value, its base64 and its URL-encoded forms are all replaced")
    func forms() {
        let masker = SecretMasker([secret])
        let base64 = Data("s3cr3t/value+x".utf8).base64EncodedString()
        let encoded = "s3cr3t%2Fvalue%2Bx"
        let text = "a s3cr3t/value+x b \(base64) c \(encoded) d"
        #expect(masker.mask(text) == "a *** b *** c *** d")
    }

    @Test("bytes that are not UTF-8 around a secret survive, the secret does not")
    func bytes() {
        let masker = SecretMasker([secret])
        let input: [UInt8] = [0xff, 0xfe] + Array("s3cr3t/value+x".utf8) + [0x00, 0x80]
        #expect(masker.mask(input) == [0xff, 0xfe] + Array("***".utf8) + [0x00, 0x80])
    }

    @Test("values too short to mask safely are left alone rather than masking ordinary text")
    func short() {
        #expect(SecretMasker([Secret(name: "pin", value: "ab")]).mask("abc") == "abc")
    }

    @Test("the parts of a connection string a program may echo are masked: password as written and decoded, user:password")
    func components() {
        let url = Secret(name: "db", value: "postgresql://app:S3cr3t%zz%40x@db.internal:5432/app")
        let masker = SecretMasker([url])
        // psql's own words for a bad escape in the password, and other echoes of parts.
        #expect(masker.mask(#"invalid percent-encoded token: "S3cr3t%zz%40x""#) == #"invalid percent-encoded token: "***""#)
        #expect(masker.mask("user info app:S3cr3t%zz%40x here") == "user info *** here")
        let decoded = SecretMasker([Secret(name: "db", value: "postgres://app:p%40ss%2Fword@db/app")])
        #expect(decoded.mask("password p@ss/word rejected") == "password *** rejected")
        #expect(decoded.mask("login app:p@ss/word") == "login ***")
        let keywords = SecretMasker([Secret(name: "db", value: "host=db user=app password='sp ace\\'s' dbname=app")])
        #expect(keywords.mask("got sp ace's back") == "got *** back")
        let http = SecretMasker([Secret(name: "hook", value: "https://bot:hunter22@hooks.example/x")])
        #expect(http.mask("auth hunter22 failed") == "auth *** failed")
    }
}
