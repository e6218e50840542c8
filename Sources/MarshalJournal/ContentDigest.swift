import Foundation
internal import CLibCrypto

/// SHA-256 fingerprints of the documents a run journals (its runbook and includes), so an operator
/// can tell whether the file on disk is the one the run used.
public enum ContentDigest {
    /// Lower-case hex SHA-256 of the text's UTF-8 bytes.
    public static func sha256(_ text: String) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { input in
            _ = SHA256(input.baseAddress, input.count, &digest)
        }
        return digest.map { String(format: "%02x", $0) }.joined()
    }
}
