/* The OpenTelemetry bridge's hot-path half (agtrace/_otel.py and
 * agtrace/_otel_context.py are the rest).
 *
 * A process that uses both APIs has two current spans: agtrace's (its
 * ContextVar) and OpenTelemetry's (the span in its runtime context). Each
 * span of a bridged tracer keeps the OpenTelemetry span that was current when
 * it started (`otel_outer`, None for none); so does a SpanContext extracted
 * by such a tracer. The current agtrace span is the innermost of the two
 * while OpenTelemetry's current span is still that one; once another one is
 * current there (an OpenTelemetry span started inside the agtrace span), that
 * one is innermost. Nothing happens on enter or exit: the comparison is made
 * when a span starts without a parent (otel_parent, here) and when
 * OpenTelemetry reads its current context (_otel_context.py, through
 * otel_shows).
 *
 * Before the bridge is installed, a bridged tracer only looks, at each span
 * start, whether the application has imported `opentelemetry.trace` (one
 * dictionary lookup), and installs it then. */

#include "fastpath.h"

static struct {
    PyObject *install;     /* installs the bridge (agtrace._otel), until it ran */
    PyObject *module_name; /* "opentelemetry.trace" */
    PyObject *get;         /* OpenTelemetry's current Context, unbridged; NULL until installed */
    PyObject *key;         /* the Context key of its current span */
    PyTypeObject *marker;  /* the OpenTelemetry span that stands for an agtrace span or context */
    PyObject *parent_of;   /* (tracer, OpenTelemetry span) -> SpanContext | None */
    PyObject *str_agtrace; /* the marker's attribute holding what it stands for */
} otel;

int otel_active(void) {
    if (otel.get)
        return 1;
    if (!otel.install)
        return 0;
    PyObject *m = PyDict_GetItemWithError(PyImport_GetModuleDict(), otel.module_name);
    if (!m)
        return PyErr_Occurred() ? -1 : 0;
    PyObject *install = otel.install;
    otel.install = NULL; /* once, whatever it does: it logs its own failure */
    PyObject *r = PyObject_CallNoArgs(install);
    Py_DECREF(install);
    if (!r)
        return -1;
    Py_DECREF(r);
    return otel.get != NULL;
}

PyObject *otel_current_span(void) {
    PyObject *context = PyObject_CallNoArgs(otel.get);
    if (!context)
        return NULL;
    PyObject *span = PyDict_Check(context) ? PyDict_GetItemWithError(context, otel.key) : NULL;
    if (!span && PyErr_Occurred()) {
        Py_DECREF(context);
        return NULL;
    }
    span = Py_NewRef(span ? span : Py_None);
    Py_DECREF(context);
    return span;
}

/* The OpenTelemetry span current when `value` (a span or context) started;
 * NULL for one no bridged tracer made. */
static PyObject *outer_of(PyObject *value) {
    if (PyObject_TypeCheck(value, SpanBaseType))
        return ((SpanObject *)value)->otel_outer;
    if (Py_IS_TYPE(value, ContextType))
        return ((ContextObject *)value)->otel_outer;
    return NULL;
}

/* The innermost of `current` (agtrace's current span, context or None) and
 * `span` (OpenTelemetry's current span or None), as a parent: a new
 * reference, or NULL with an error set. */
static PyObject *otel_parent(PyObject *tracer, PyObject *current, PyObject *span) {
    PyObject *outer = current == Py_None ? NULL : outer_of(current);
    /* agtrace's current span is innermost, or is no bridged tracer's. */
    if ((current != Py_None && !outer) || outer == span || span == Py_None)
        return Py_NewRef(current);
    if (Py_IS_TYPE(span, otel.marker))
        return PyObject_GetAttr(span, otel.str_agtrace);
    PyObject *parent = PyObject_CallFunctionObjArgs(otel.parent_of, tracer, span, NULL);
    if (parent == Py_None) {
        Py_DECREF(parent);
        return Py_NewRef(current);
    }
    return parent;
}

int otel_start(PyObject *tracer, int given, PyObject **parent, PyObject **outer) {
    int active = otel_active();
    if (active <= 0)
        return active;
    PyObject *span = otel_current_span();
    if (!span)
        return -1;
    if (!given) {
        PyObject *innermost = otel_parent(tracer, *parent, span);
        if (!innermost) {
            Py_DECREF(span);
            return -1;
        }
        Py_DECREF(*parent);
        *parent = innermost;
    }
    *outer = span;
    return 0;
}

static PyObject *mod_otel_shows(PyObject *m, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_otel_shows takes the current agtrace value and OpenTelemetry span");
        return NULL;
    }
    PyObject *outer = outer_of(args[0]);
    return PyBool_FromLong(outer && outer == args[1]);
}

static PyObject *mod_otel_watch(PyObject *m, PyObject *install) {
    if (!otel.get && !otel.install)
        otel.install = Py_NewRef(install);
    Py_RETURN_NONE;
}

static PyObject *mod_otel_configure(PyObject *m, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"get", "key", "marker", "parent_of", NULL};
    PyObject *get, *key, *marker, *parent_of;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OUOO:_otel_configure", names, &get, &key, &marker, &parent_of))
        return NULL;
    if (!PyType_Check(marker)) {
        PyErr_SetString(PyExc_TypeError, "marker must be a type");
        return NULL;
    }
    if (otel.get) {
        PyErr_SetString(PyExc_RuntimeError, "the OpenTelemetry bridge is installed once");
        return NULL;
    }
    otel.key = Py_NewRef(key);
    otel.marker = (PyTypeObject *)Py_NewRef(marker);
    otel.parent_of = Py_NewRef(parent_of);
    otel.get = Py_NewRef(get);
    Py_CLEAR(otel.install);
    Py_RETURN_NONE;
}

static PyObject *mod_otel_context(PyObject *m, PyObject *args) {
    PyObject *trace_id, *span_id, *inherit;
    unsigned char flags;
    if (!PyArg_ParseTuple(args, "SSbO:_otel_context", &trace_id, &span_id, &flags, &inherit))
        return NULL;
    if (PyBytes_Size(trace_id) != 16 || PyBytes_Size(span_id) != 8 ||
        (inherit != Py_None && !Py_IS_TYPE(inherit, ContextType))) {
        PyErr_SetString(PyExc_TypeError, "_otel_context takes 16 and 8 bytes of ids, flags and a SpanContext or None");
        return NULL;
    }
    ContextObject *state = inherit == Py_None ? NULL : (ContextObject *)inherit;
    agtrace_context_t *ctx = NULL;
    agtrace_error_t *error = NULL;
    agtrace_status_t status = lib.context_new((const uint8_t *)PyBytes_AsString(trace_id),
                                              (const uint8_t *)PyBytes_AsString(span_id), flags,
                                              state ? state->ctx : NULL, &ctx, &error);
    if (status != AGTRACE_OK) {
        report_status(status, error);
        Py_RETURN_NONE;
    }
    return context_wrap(ctx, state && state->carries_state);
}

static PyMethodDef otel_methods[] = {
    {"_otel_context", mod_otel_context, METH_VARARGS,
     "_otel_context(trace_id, span_id, flags, inherit) -> SpanContext | None: the context of an "
     "OpenTelemetry span (16 and 8 bytes of ids, W3C flags), carrying the trace state of inherit (a "
     "SpanContext or None)."},
    {"_otel_watch", mod_otel_watch, METH_O,
     "_otel_watch(install): bridged tracers call install() at the first span start that finds "
     "opentelemetry.trace imported."},
    {"_otel_configure", (PyCFunction)(void (*)(void))mod_otel_configure, METH_VARARGS | METH_KEYWORDS,
     "_otel_configure(get, key, marker, parent_of): installs the bridge's hot path: get() is "
     "OpenTelemetry's current Context, key its span's key, marker the type of the spans that stand for "
     "agtrace's, parent_of(tracer, span) the SpanContext of an OpenTelemetry span (or None)."},
    {"_otel_shows", (PyCFunction)(void (*)(void))mod_otel_shows, METH_FASTCALL,
     "_otel_shows(current, span) -> bool: whether agtrace's current span or context is innermost while "
     "OpenTelemetry's current span is span (None for none)."},
    {NULL},
};

int otel_init(PyObject *module) {
    if (!(otel.module_name = PyUnicode_InternFromString("opentelemetry.trace")) ||
        !(otel.str_agtrace = PyUnicode_InternFromString("agtrace")))
        return -1;
    return PyModule_AddFunctions(module, otel_methods);
}
