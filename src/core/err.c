/* Status codes and error messages (one table in gad.h gives both). */
#include <stdarg.h>
#include <stdio.h>

#include "gad/gad.h"

const char *gad_strerror(int code) {
    switch (code) {
#define GAD_ERRNO_STR_(name, val, desc) \
    case val:                           \
        return desc;
        GAD_ERRNO_MAP(GAD_ERRNO_STR_)
#undef GAD_ERRNO_STR_
    }
    return "unknown error";
}

int gad_err_set(gad_err *err, int code, const char *fmt, ...) {
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *gad_version(void) { return GAD_VERSION_STRING; }
