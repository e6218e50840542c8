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
}
