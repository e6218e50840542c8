#ifndef MARSHAL_CLIBPQ_SHIM_H
#define MARSHAL_CLIBPQ_SHIM_H
// libpq, PostgreSQL's C client (https://www.postgresql.org/docs/15/libpq.html). Debian puts the
// header in /usr/include/postgresql, which pkg-config's `libpq` cflags add.
#include <libpq-fe.h>

// Field codes of PQresultErrorField are character macros, which Swift does not import.
static const int MARSHAL_PG_DIAG_SQLSTATE = PG_DIAG_SQLSTATE;
static const int MARSHAL_PG_DIAG_MESSAGE_PRIMARY = PG_DIAG_MESSAGE_PRIMARY;
#endif
