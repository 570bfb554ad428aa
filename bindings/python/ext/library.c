/* libagtrace, bound by symbol lookup in the file uniffi's generated module
 * already loaded (agtrace/_native.py passes its path). dlopen of a loaded file
 * returns the handle the loader holds, so the extension and the uniffi layer
 * share one core whichever directory the library came from (the wheel's
 * agtrace/_uniffi/, or AGTRACE_PYTHON_NATIVE_DIR), and the extension has no
 * link-time dependency the wheel's platform tag would have to account for. */

#include "fastpath.h"
#include <dlfcn.h>

agtrace_lib_t lib;
static int bound;

int lib_bind(const char *path) {
    /* RTLD_NOLOAD: only a library that is already loaded, never a second copy. */
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (!h) {
        PyErr_Format(PyExc_ImportError, "agtrace: libagtrace is not loaded from %s (%s)", path, dlerror());
        return -1;
    }
#define BIND(field, name)                                                                                   \
    if (!(lib.field = (__typeof__(lib.field))dlsym(h, #name))) {                                          \
        PyErr_Format(PyExc_ImportError, "agtrace: %s has no %s: the library is older than this package", \
                     path, #name);                                                                        \
        return -1;                                                                                        \
    }
    BIND(spans_apply, agtrace_spans_apply)
    BIND(protocol_version, agtrace_protocol_version)
    BIND(tracer_free, agtrace_tracer_free)
    BIND(context_new, agtrace_context_new)
    BIND(context_ids, agtrace_context_ids)
    BIND(context_free, agtrace_context_free)
    BIND(headers_new, agtrace_headers_new)
    BIND(headers_set, agtrace_headers_set)
    BIND(headers_count, agtrace_headers_count)
    BIND(headers_get, agtrace_headers_get)
    BIND(headers_free, agtrace_headers_free)
    BIND(inject, agtrace_inject)
    BIND(extract, agtrace_extract)
    BIND(error_message, agtrace_error_message)
    BIND(error_free, agtrace_error_free)
    BIND(version, agtrace_version)
    BIND(misuse_report, agtrace_misuse_report)
    BIND(tracer_strict, agtrace_tracer_strict)
#undef BIND
    uint32_t version = lib.protocol_version();
    if (version != AGTRACE_PROTOCOL_VERSION) {
        PyErr_Format(PyExc_ImportError,
                     "agtrace: %s speaks span protocol version %u, this package version %u: "
                     "install the package and the library from the same build",
                     path, (unsigned)version, (unsigned)AGTRACE_PROTOCOL_VERSION);
        return -1;
    }
    bound = 1;
    return 0;
}

int lib_bound(void) {
    if (!bound)
        PyErr_SetString(PyExc_RuntimeError, "agtrace._fastpath: libagtrace is not bound (import agtrace first)");
    return bound;
}

void report_status(agtrace_status_t status, agtrace_error_t *error) {
    const char *message = error ? lib.error_message(error) : "";
    if (cfg.report) {
        PyObject *exc_type, *exc, *tb;
        PyErr_Fetch(&exc_type, &exc, &tb);
        PyObject *r = PyObject_CallFunction(cfg.report, "is", (int)status, message);
        if (r)
            Py_DECREF(r);
        else
            PyErr_WriteUnraisable(cfg.report);
        PyErr_Restore(exc_type, exc, tb);
    }
    if (error)
        lib.error_free(error);
}

int report_misuse(PyObject *tracer, uint32_t kind, PyObject *detail) {
    if (!tracer || tracer == Py_None)
        tracer = cfg.default_tracer;
    if (!tracer)
        return 0;
    TracerObject *t = (TracerObject *)tracer;
    Py_ssize_t n;
    const char *text = PyUnicode_AsUTF8AndSize(detail, &n);
    if (!text) { /* lone surrogates: the kind still counts */
        PyErr_Clear();
        text = "", n = 0;
    }
    lib.misuse_report(t->c, kind, (agtrace_str_t){text, (size_t)n});
    if (!t->strict)
        return 0;
    PyErr_SetObject(cfg.invalid_argument, detail);
    return -1;
}

int report_misuse_text(PyObject *tracer, uint32_t kind, const char *detail) {
    PyObject *text = PyUnicode_FromString(detail);
    if (!text)
        return -1;
    int r = report_misuse(tracer, kind, text);
    Py_DECREF(text);
    return r;
}
