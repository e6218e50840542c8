#ifndef MARSHAL_CLIBCRYPTO_SHIM_H
#define MARSHAL_CLIBCRYPTO_SHIM_H
// OpenSSL's libcrypto, for SHA-256 fingerprints of journaled documents (SHA256(3)).
#include <openssl/sha.h>
#endif
