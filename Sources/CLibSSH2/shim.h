#ifndef MARSHAL_CLIBSSH2_SHIM_H
#define MARSHAL_CLIBSSH2_SHIM_H
// libssh2 exposes many entry points as macros, which Swift cannot call;
// these typed inline wrappers make them visible (see shared/notes). Its constants are plain
// integer macros, which Swift imports as they are.
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <signal.h>
#include <string.h>

// MARK: known_hosts hashed names
// `|1|salt|hash` entries hold HMAC-SHA1(salt, name). The keyed pads are hashed once per entry
// when the file is read, so testing a name costs two SHA-1 blocks; the scan over all hashed
// entries runs here, in C, because it is the one loop whose length is the file's.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>

typedef struct {
    SHA_CTX inner;
    SHA_CTX outer;
    unsigned char hash[SHA_DIGEST_LENGTH];
} marshal_hashed_name;

static inline void marshal_hashed_name_init(marshal_hashed_name *entry, const unsigned char *salt, size_t saltLength,
                                            const unsigned char *hash) {
    unsigned char key[64], pad[64];
    memset(key, 0, sizeof key);
    if (saltLength > sizeof key) SHA1(salt, saltLength, key); else memcpy(key, salt, saltLength);
    for (int i = 0; i < 64; i++) pad[i] = key[i] ^ 0x36;
    SHA1_Init(&entry->inner);
    SHA1_Update(&entry->inner, pad, 64);
    for (int i = 0; i < 64; i++) pad[i] = key[i] ^ 0x5c;
    SHA1_Init(&entry->outer);
    SHA1_Update(&entry->outer, pad, 64);
    memcpy(entry->hash, hash, SHA_DIGEST_LENGTH);
}

/// Index of the first entry at or after `start` whose hash is HMAC-SHA1(salt, name), or `count`.
static inline size_t marshal_hashed_name_find(const marshal_hashed_name *entries, size_t count, size_t start,
                                              const char *name, size_t nameLength) {
    for (size_t i = start; i < count; i++) {
        SHA_CTX context = entries[i].inner;
        unsigned char digest[SHA_DIGEST_LENGTH];
        SHA1_Update(&context, name, nameLength);
        SHA1_Final(digest, &context);
        context = entries[i].outer;
        SHA1_Update(&context, digest, sizeof digest);
        SHA1_Final(digest, &context);
        if (memcmp(digest, entries[i].hash, SHA_DIGEST_LENGTH) == 0) return i;
    }
    return count;
}

// MARK: macro wrappers
static inline LIBSSH2_SESSION *marshal_session_init(void) {
    return libssh2_session_init_ex(NULL, NULL, NULL, NULL);
}

static inline LIBSSH2_CHANNEL *marshal_channel_open_session(LIBSSH2_SESSION *s) {
    return libssh2_channel_open_ex(s, "session", sizeof("session") - 1,
                                   LIBSSH2_CHANNEL_WINDOW_DEFAULT, LIBSSH2_CHANNEL_PACKET_DEFAULT, NULL, 0);
}

static inline int marshal_channel_exec(LIBSSH2_CHANNEL *c, const char *command, unsigned int length) {
    return libssh2_channel_process_startup(c, "exec", sizeof("exec") - 1, command, length);
}

static inline ssize_t marshal_channel_read(LIBSSH2_CHANNEL *c, int stream, char *buffer, size_t length) {
    return libssh2_channel_read_ex(c, stream, buffer, length);
}

static inline ssize_t marshal_channel_write(LIBSSH2_CHANNEL *c, const char *buffer, size_t length) {
    return libssh2_channel_write_ex(c, 0, buffer, length);
}

static inline int marshal_userauth_publickey_fromfile(LIBSSH2_SESSION *s, const char *user, const char *publicKey,
                                                      const char *privateKey, const char *passphrase) {
    return libssh2_userauth_publickey_fromfile_ex(s, user, (unsigned int)strlen(user), publicKey, privateKey,
                                                  passphrase);
}

static inline LIBSSH2_SFTP_HANDLE *marshal_sftp_open_for_writing(LIBSSH2_SFTP *sftp, const char *path,
                                                                 unsigned int length, long mode) {
    return libssh2_sftp_open_ex(sftp, path, length, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC,
                                mode, LIBSSH2_SFTP_OPENFILE);
}

static inline int marshal_sftp_chmod(LIBSSH2_SFTP *sftp, const char *path, unsigned int length,
                                     unsigned long mode) {
    LIBSSH2_SFTP_ATTRIBUTES attributes;
    memset(&attributes, 0, sizeof attributes);
    attributes.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
    attributes.permissions = mode;
    return libssh2_sftp_stat_ex(sftp, path, length, LIBSSH2_SFTP_SETSTAT, &attributes);
}

static inline int marshal_sftp_unlink(LIBSSH2_SFTP *sftp, const char *path, unsigned int length) {
    return libssh2_sftp_unlink_ex(sftp, path, length);
}

static inline LIBSSH2_CHANNEL *marshal_channel_direct_tcpip(LIBSSH2_SESSION *s, const char *host, int port) {
    return libssh2_channel_direct_tcpip_ex(s, host, port, "127.0.0.1", 22);
}

static inline int marshal_session_disconnect(LIBSSH2_SESSION *s, const char *reason) {
    return libssh2_session_disconnect_ex(s, SSH_DISCONNECT_BY_APPLICATION, reason, "");
}

static inline int marshal_errno(void) { return errno; }

#endif
