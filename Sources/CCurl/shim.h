#ifndef MARSHAL_CCURL_SHIM_H
#define MARSHAL_CCURL_SHIM_H
// curl_easy_setopt and curl_easy_getinfo are variadic: Swift cannot call them.
// These typed inline shims fix the argument type per option family.
#include <curl/curl.h>

static inline const char *marshal_curl_version(void) { return curl_version(); }
#endif
