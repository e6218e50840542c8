#ifndef MARSHAL_CLIBSSH2_SHIM_H
#define MARSHAL_CLIBSSH2_SHIM_H
// libssh2 exposes many entry points as macros, which Swift cannot call;
// these typed inline wrappers and constants make them visible (see shared/notes).
#include <libssh2.h>
#include <libssh2_sftp.h>

static inline const char *marshal_libssh2_version(void) { return libssh2_version(0); }
#endif
