/* agtrace._fastpath.Tracer, the C side of agtrace.Tracer (which adds the cold
 * API over uniffi): it owns the tracer's C ABI handle and starts spans, one
 * call into the library each; and agtrace._fastpath.SpanContext, a context
 * object of the C ABI (propagation, parents). */

#include "fastpath.h"
#include <string.h>

PyTypeObject *TracerType, *ContextType;

/* ---- SpanContext ---- */

static PyObject *raise_status(agtrace_status_t status, agtrace_error_t *error) {
    PyObject *e = PyObject_CallFunction(cfg.error_of, "is", (int)status, error ? lib.error_message(error) : "");
    if (error)
        lib.error_free(error);
    if (e) {
        PyErr_SetObject((PyObject *)Py_TYPE(e), e);
        Py_DECREF(e);
    }
    return NULL;
}

PyObject *context_wrap(agtrace_context_t *ctx, int carries_state) {
    ContextObject *c = (ContextObject *)PyType_GenericAlloc(ContextType, 0);
    if (!c) {
        lib.context_free(ctx);
        return NULL;
    }
    c->ctx = ctx;
    c->carries_state = (uint8_t)carries_state;
    c->otel_outer = NULL;
    bool sampled = false;
    agtrace_error_t *error = NULL;
    agtrace_status_t status = lib.context_ids(ctx, c->trace_id, c->span_id, &sampled, &error);
    if (status != AGTRACE_OK) {
        Py_DECREF(c);
        return raise_status(status, error);
    }
    c->sampled = sampled;
    return (PyObject *)c;
}

static int all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

PyObject *context_of_span(SpanObject *s) {
    if (all_zero(s->trace_id, 16))
        Py_RETURN_NONE;
    ContextObject *inherit = (ContextObject *)s->inherit;
    agtrace_context_t *ctx = NULL;
    agtrace_error_t *error = NULL;
    agtrace_status_t status =
        lib.context_new(s->trace_id, s->span_id, s->flags, inherit ? inherit->ctx : NULL, &ctx, &error);
    if (status != AGTRACE_OK)
        return raise_status(status, error);
    PyObject *c = context_wrap(ctx, inherit != NULL);
    if (c)
        ((ContextObject *)c)->otel_outer = Py_XNewRef(s->otel_outer);
    return c;
}

static PyObject *hex(const uint8_t *p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    char out[32];
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    return PyUnicode_FromStringAndSize(out, (Py_ssize_t)(2 * n));
}

static PyObject *context_trace_id(PyObject *self, void *unused) {
    return hex(((ContextObject *)self)->trace_id, 16);
}

static PyObject *context_span_id(PyObject *self, void *unused) {
    return hex(((ContextObject *)self)->span_id, 8);
}

static PyObject *context_sampled(PyObject *self, void *unused) {
    return PyBool_FromLong(((ContextObject *)self)->sampled);
}

static PyObject *context_carries_state(PyObject *self, void *unused) {
    return PyBool_FromLong(((ContextObject *)self)->carries_state);
}

static PyObject *context_repr(PyObject *self) {
    PyObject *t = context_trace_id(self, NULL), *s = context_span_id(self, NULL);
    PyObject *r = t && s ? PyUnicode_FromFormat("SpanContext(trace_id=%U, span_id=%U)", t, s) : NULL;
    Py_XDECREF(t);
    Py_XDECREF(s);
    return r;
}

static void context_dealloc(PyObject *self) {
    PyTypeObject *type = Py_TYPE(self);
    lib.context_free(((ContextObject *)self)->ctx);
    Py_CLEAR(((ContextObject *)self)->otel_outer);
    ((freefunc)PyType_GetSlot(type, Py_tp_free))(self);
    Py_DECREF(type);
}

static PyGetSetDef context_getset[] = {
    {"trace_id", context_trace_id, NULL, "32 lowercase hex digits (all zero for baggage without a parent).", NULL},
    {"span_id", context_span_id, NULL, "16 lowercase hex digits.", NULL},
    {"sampled", context_sampled, NULL, "Whether the span is sampled.", NULL},
    {"_carries_state", context_carries_state, NULL, "Whether it carries trace state or baggage.", NULL},
    {NULL},
};

static PyType_Slot context_slots[] = {
    {Py_tp_dealloc, context_dealloc},
    {Py_tp_getset, context_getset},
    {Py_tp_repr, context_repr},
    {Py_tp_doc, "A span's identity: a remote parent from agtrace.extract, or a local span's context "
                "(Span.context). Usable as parent=. Immutable; thread-safe."},
    {0, NULL},
};

static PyType_Spec context_spec = {
    .name = "agtrace.SpanContext",
    .basicsize = sizeof(ContextObject),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = context_slots,
};

/* ---- starting spans ---- */

static PyObject *new_span(const agtrace_begun_t *begun, PyObject *tracer, PyObject *session, PyObject *inherit,
                          uint64_t start_ns) {
    SpanObject *s = (SpanObject *)cfg.span_alloc(cfg.span_class, 0);
    if (!s)
        return NULL;
    s->handle = begun->handle;
    memcpy(s->trace_id, begun->trace_id, 16);
    memcpy(s->span_id, begun->span_id, 8);
    s->flags = begun->flags;
    s->start_ns = start_ns;
    Py_XINCREF(tracer); /* a span that records nothing still reports misuse to it */
    s->tracer = tracer;
    Py_XINCREF(session);
    s->session = session;
    Py_XINCREF(inherit);
    s->inherit = inherit;
    return (PyObject *)s;
}

/* The kind's code; an unknown kind is misuse (PLAIN, or -1 with
 * InvalidArgument set in strict mode). */
static long kind_code(PyObject *kind, PyObject *reporter) {
    if (!kind)
        return AGTRACE_KIND_PLAIN;
    if (PyLong_Check(kind) && !PyBool_Check(kind)) {
        long k = PyLong_AsLong(kind);
        if (k >= AGTRACE_KIND_PLAIN && k <= AGTRACE_KIND_EVALUATOR)
            return k;
        PyErr_Clear();
    }
    /* Names, and the errors naming what is wrong, are agtrace's span_kind. */
    PyObject *k = PyObject_CallFunctionObjArgs(cfg.kind_of, kind, NULL);
    if (!k) {
        if (!PyErr_ExceptionMatches(cfg.invalid_argument))
            return -1;
        PyObject *t, *e, *tb;
        PyErr_Fetch(&t, &e, &tb);
        PyErr_NormalizeException(&t, &e, &tb);
        PyObject *detail = e ? PyObject_Str(e) : NULL;
        Py_XDECREF(t);
        Py_XDECREF(e);
        Py_XDECREF(tb);
        int r = detail ? report_misuse(reporter, AGTRACE_MISUSE_BAD_CALL, detail) : -1;
        Py_XDECREF(detail);
        return r < 0 ? -1 : AGTRACE_KIND_PLAIN;
    }
    long code = PyLong_AsLong(k);
    Py_DECREF(k);
    return code;
}

/* The BEGIN record's parent, and what the new span inherits. */
static int put_parent(buf_t *b, PyObject *parent, PyObject *session, PyObject **inherit, int *same_session) {
    *inherit = NULL;
    *same_session = 0;
    if (parent == Py_None) {
        if (buf_reserve(b, 1) < 0)
            return -1;
        put_u8(b, AGTRACE_PROTO_PARENT_ROOT);
        return 0;
    }
    if (PyObject_TypeCheck(parent, SpanBaseType)) {
        SpanObject *p = (SpanObject *)parent;
        *same_session = p->session == session;
        if (buf_reserve(b, 34) < 0)
            return -1;
        if (all_zero(p->trace_id, 16)) { /* a span of no tracer: nothing to continue */
            put_u8(b, AGTRACE_PROTO_PARENT_ROOT);
            return 0;
        }
        /* A live span counts this child in its rollups. */
        uint8_t form = p->handle && p->state == SPAN_LIVE ? AGTRACE_PROTO_PARENT_LOCAL : AGTRACE_PROTO_PARENT_SPAN;
        *inherit = p->inherit;
        put_u8(b, *inherit ? form | AGTRACE_PROTO_PARENT_INHERIT : form);
        put_raw(b, p->trace_id, 16);
        put_raw(b, p->span_id, 8);
        put_u8(b, p->flags);
        if (*inherit)
            put_u64(b, (uint64_t)(uintptr_t)((ContextObject *)*inherit)->ctx);
        return 0;
    }
    if (Py_IS_TYPE(parent, ContextType)) {
        ContextObject *c = (ContextObject *)parent;
        if (buf_reserve(b, 9) < 0)
            return -1;
        put_u8(b, AGTRACE_PROTO_PARENT_CONTEXT);
        put_u64(b, (uint64_t)(uintptr_t)c->ctx);
        *inherit = c->carries_state ? parent : NULL;
        return 0;
    }
    PyObject *name = PyObject_GetAttrString((PyObject *)Py_TYPE(parent), "__name__");
    if (name) {
        PyObject *m = PyUnicode_FromFormat("parent must be a Span, a SpanContext or None, not %S", name);
        if (m) {
            PyErr_SetObject(cfg.invalid_argument, m);
            Py_DECREF(m);
        }
        Py_DECREF(name);
    }
    return -1;
}

/* The session scope's TRACE item, when the span starts a trace in it or
 * continues one from outside it. */
static int put_session(buf_t *b, PyObject *session) {
    PyObject *item = PyObject_GetAttr(session, cfg.str_item);
    if (!item)
        return -1;
    char *p;
    Py_ssize_t n;
    int r = PyBytes_AsStringAndSize(item, &p, &n) < 0 || buf_reserve(b, (size_t)n) < 0 ? -1 : 0;
    if (r == 0)
        put_raw(b, p, (size_t)n);
    Py_DECREF(item);
    return r;
}

static PyObject *start(TracerObject *t, PyObject *name, long kind, PyObject *attributes, PyObject *parent,
                       PyObject *links, PyObject *session) {
    pending_t *p = pending_here();
    message_t m;
    if (!p || message_open(p, &m) < 0)
        return NULL;
    buf_t *b = m.buf;
    PyObject *inherit, *span = NULL;
    int same_session;
    size_t at;
    if (record_open(b, AGTRACE_PROTO_RECORD_BEGIN, &at) < 0 || buf_reserve(b, 1) < 0)
        goto done;
    put_u8(b, (uint8_t)kind);
    if (put_parent(b, parent, session, &inherit, &same_session) < 0 || put_str(b, name) < 0)
        goto done;
    if (attributes && attributes != Py_None && put_attributes(b, attributes, NULL, (PyObject *)t) < 0)
        goto done;
    if (links && links != Py_None && put_links(b, links, (PyObject *)t) < 0)
        goto done;
    if (session && !same_session && put_session(b, session) < 0)
        goto done;
    if (record_close(b, at) < 0)
        goto done;
    agtrace_begun_t begun = {0};
    agtrace_error_t *error = NULL;
    uint64_t start_ns;
    agtrace_status_t status = message_send(&m, t->c, &begun, &error, &start_ns);
    if (status == AGTRACE_ERR_SHUT_DOWN) {
        /* Shut down by another way than Tracer.shutdown, or meanwhile: the
         * span records nothing, and a handle the core gave is ended at once. */
        if (error)
            lib.error_free(error);
        buf_t none = {0};
        if (begun.handle && pending_end(AGTRACE_PROTO_RECORD_END, begun.handle, 0, &none, (PyObject *)t) < 0)
            goto done;
        memset(&begun, 0, sizeof begun);
    } else if (status != AGTRACE_OK) {
        report_status(status, error);
    }
    span = new_span(&begun, (PyObject *)t, session, inherit, start_ns);
done:
    message_close(p, &m, (PyObject *)t);
    return span;
}

/* A parent that is not a span, a span context or None is misuse: 1 (the
 * current span is the parent), 0 when it is one, -1 in strict mode. */
static int bad_parent(PyObject *parent, PyObject *reporter) {
    if (!parent || parent == Py_None || PyObject_TypeCheck(parent, SpanBaseType) || Py_IS_TYPE(parent, ContextType))
        return 0;
    PyObject *name = PyObject_GetAttrString((PyObject *)Py_TYPE(parent), "__name__");
    PyObject *detail =
        name ? PyUnicode_FromFormat("parent must be a Span, a SpanContext or None, not %S; the current span is", name)
             : NULL;
    Py_XDECREF(name);
    int r = detail ? report_misuse(reporter, AGTRACE_MISUSE_BAD_CALL, detail) : -1;
    Py_XDECREF(detail);
    return r < 0 ? -1 : 1;
}

PyObject *span_start(PyObject *tracer, PyObject *name, PyObject *kind, PyObject *attributes, PyObject *parent,
                     PyObject *links) {
    int bad_name = check_name("span name", name, tracer);
    if (bad_name < 0)
        return NULL;
    if (bad_name || !tracer || ((TracerObject *)tracer)->shut_down) {
        agtrace_begun_t none = {0};
        return new_span(&none, tracer, NULL, NULL, 0);
    }
    TracerObject *t = (TracerObject *)tracer;
    if (!t->c) {
        PyErr_SetString(PyExc_RuntimeError, "agtrace: this tracer was not initialised");
        return NULL;
    }
    long k = kind_code(kind, tracer);
    if (k < 0)
        return NULL;
    switch (bad_parent(parent, tracer)) {
    case -1: return NULL;
    case 1: parent = NULL; break;
    }
    PyObject *p = parent ? Py_NewRef(parent) : PyObject_CallNoArgs(cfg.current_get);
    if (!p)
        return NULL;
    PyObject *otel_span = NULL;
    if (t->otel && otel_start(tracer, parent != NULL, &p, &otel_span) < 0) {
        Py_DECREF(p);
        return NULL;
    }
    PyObject *session = PyObject_CallNoArgs(cfg.session_get);
    if (!session) {
        Py_XDECREF(otel_span);
        Py_DECREF(p);
        return NULL;
    }
    PyObject *span = start(t, name, k, attributes, p, links, session == Py_None ? NULL : session);
    Py_DECREF(session);
    Py_DECREF(p);
    if (span)
        ((SpanObject *)span)->otel_outer = otel_span;
    else
        Py_XDECREF(otel_span);
    return span;
}

/* span(name, kind=PLAIN, attributes=None, *, parent=<current>, links=None):
 * the arguments, positional or by keyword, into out (NULL when absent). */
static PyObject *kw_names[SPAN_ARGUMENTS];

int span_arguments(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, PyObject **out) {
    for (int i = 0; i < SPAN_ARGUMENTS; i++)
        out[i] = NULL;
    if (nargs > 3) {
        PyErr_Format(PyExc_TypeError, "span() takes at most 3 positional arguments (%zd given)", nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        out[i] = args[i];
    Py_ssize_t nk = kwnames ? PyTuple_Size(kwnames) : 0;
    for (Py_ssize_t j = 0; j < nk; j++) {
        PyObject *key = PyTuple_GetItem(kwnames, j);
        int i = 0;
        while (i < SPAN_ARGUMENTS && key != kw_names[i] && PyUnicode_Compare(key, kw_names[i]) != 0)
            i++;
        if (i == SPAN_ARGUMENTS) {
            PyErr_Format(PyExc_TypeError, "span() got an unexpected keyword argument %R", key);
            return -1;
        }
        if (out[i]) {
            PyErr_Format(PyExc_TypeError, "span() got multiple values for argument %R", key);
            return -1;
        }
        out[i] = args[nargs + j];
    }
    if (!out[0]) {
        PyErr_SetString(PyExc_TypeError, "span() missing required argument 'name'");
        return -1;
    }
    return 0;
}

static PyObject *tracer_span(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    PyObject *a[SPAN_ARGUMENTS];
    if (span_arguments(args, nargs, kwnames, a) < 0)
        return NULL;
    return span_start(self, a[0], a[1], a[2], a[3], a[4]);
}

/* ---- propagation ---- */

static PyObject *tracer_inject(PyObject *self, PyObject *context) {
    TracerObject *t = (TracerObject *)self;
    if (!Py_IS_TYPE(context, ContextType)) {
        PyErr_SetString(PyExc_TypeError, "_inject takes a SpanContext");
        return NULL;
    }
    agtrace_headers_t *h = lib.headers_new();
    agtrace_error_t *error = NULL;
    PyObject *out = NULL;
    agtrace_status_t status = lib.inject(t->c, ((ContextObject *)context)->ctx, h, &error);
    if (status != AGTRACE_OK) {
        raise_status(status, error);
        goto done;
    }
    size_t n = lib.headers_count(h);
    if (!(out = PyList_New(0)))
        goto done;
    for (size_t i = 0; i < n; i++) {
        agtrace_str_t name, value;
        status = lib.headers_get(h, i, &name, &value, &error);
        if (status != AGTRACE_OK) {
            Py_CLEAR(out);
            raise_status(status, error);
            goto done;
        }
        PyObject *pair = Py_BuildValue("(s#s#)", name.ptr, (Py_ssize_t)name.len, value.ptr, (Py_ssize_t)value.len);
        if (!pair || PyList_Append(out, pair) < 0) {
            Py_XDECREF(pair);
            Py_CLEAR(out);
            goto done;
        }
        Py_DECREF(pair);
    }
done:
    lib.headers_free(h);
    return out;
}

static PyObject *tracer_extract(PyObject *self, PyObject *args) {
    TracerObject *t = (TracerObject *)self;
    PyObject *pairs;
    int carries_state;
    if (!PyArg_ParseTuple(args, "Op:_extract", &pairs, &carries_state))
        return NULL;
    PyObject *seq = PySequence_Tuple(pairs);
    if (!seq)
        return NULL;
    agtrace_headers_t *h = lib.headers_new();
    agtrace_error_t *error = NULL;
    PyObject *out = NULL;
    for (Py_ssize_t i = 0; i < PyTuple_Size(seq); i++) {
        const char *k, *v;
        Py_ssize_t kn, vn;
        if (!PyArg_ParseTuple(PyTuple_GetItem(seq, i), "s#s#", &k, &kn, &v, &vn))
            goto done;
        agtrace_status_t status =
            lib.headers_set(h, (agtrace_str_t){k, (size_t)kn}, (agtrace_str_t){v, (size_t)vn}, &error);
        if (status != AGTRACE_OK) {
            raise_status(status, error);
            goto done;
        }
    }
    agtrace_context_t *ctx = NULL;
    agtrace_status_t status = lib.extract(t->c, h, &ctx, &error);
    if (status != AGTRACE_OK)
        raise_status(status, error);
    else
        out = ctx ? context_wrap(ctx, carries_state) : Py_NewRef(Py_None);
    /* Current for OpenTelemetry while the span current there is this one. */
    int bridged = out && out != Py_None && t->otel ? otel_active() : 0;
    if (bridged > 0 && !(((ContextObject *)out)->otel_outer = otel_current_span()))
        bridged = -1;
    if (bridged < 0)
        Py_CLEAR(out);
done:
    lib.headers_free(h);
    Py_DECREF(seq);
    return out;
}

/* ---- the type ---- */

static int tracer_init(PyObject *self, PyObject *args, PyObject *kwargs) {
    TracerObject *t = (TracerObject *)self;
    unsigned long long handle;
    if (!PyArg_ParseTuple(args, "K:Tracer", &handle))
        return -1;
    if (t->c || !handle) {
        PyErr_SetString(PyExc_ValueError, "a tracer takes one C handle, once");
        return -1;
    }
    if (!lib_bound())
        return -1;
    t->c = (agtrace_tracer_t *)(uintptr_t)handle;
    t->strict = lib.tracer_strict(t->c);
    return 0;
}

static void tracer_dealloc(PyObject *self) {
    PyTypeObject *type = Py_TYPE(self);
    TracerObject *t = (TracerObject *)self;
    if (t->c)
        lib.tracer_free(t->c);
    ((freefunc)PyType_GetSlot(type, Py_tp_free))(self);
    Py_DECREF(type);
}

static PyObject *tracer_get_strict(PyObject *self, void *unused) {
    return PyBool_FromLong(((TracerObject *)self)->strict);
}

static PyGetSetDef tracer_getset[] = {
    {"strict", tracer_get_strict, NULL,
     "The strict setting (AGTRACE_STRICT): misuse raises InvalidArgument instead of being counted only.", NULL},
    {NULL},
};

static PyObject *tracer_mark_shut_down(PyObject *self, PyObject *unused) {
    ((TracerObject *)self)->shut_down = 1;
    Py_RETURN_NONE;
}

static PyObject *tracer_bridge_otel(PyObject *self, PyObject *unused) {
    ((TracerObject *)self)->otel = 1;
    Py_RETURN_NONE;
}

static PyMethodDef tracer_methods[] = {
    {"_bridge_otel", tracer_bridge_otel, METH_NOARGS,
     "Bridges this tracer's spans with OpenTelemetry's context once it is installed (see _otel_watch)."},
    {"_mark_shut_down", tracer_mark_shut_down, METH_NOARGS,
     "From now on spans start as non-recording, without a call into the library."},
    {"span", (PyCFunction)(void (*)(void))tracer_span, METH_FASTCALL | METH_KEYWORDS,
     "span(name, kind=SpanKind.PLAIN, attributes=None, *, parent=<the current span>, links=None)\n--\n\n"
     "Starts a span under parent (default: the current span; None for a new trace), linked to links (span "
     "contexts, spans, or (context, attributes) pairs). Use it in a with "
     "block to make it current and end it on exit, or call Span.end. Never blocks; after shutdown it "
     "returns a span that records nothing."},
    {"_inject", tracer_inject, METH_O, "_inject(context) -> [(name, value)]: propagation headers."},
    {"_extract", tracer_extract, METH_VARARGS,
     "_extract([(name, value)], carries_state) -> SpanContext | None: the remote parent in headers."},
    {NULL},
};

static PyType_Slot tracer_slots[] = {
    {Py_tp_init, tracer_init},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_dealloc, tracer_dealloc},
    {Py_tp_methods, tracer_methods},
    {Py_tp_getset, tracer_getset},
    {Py_tp_doc, "The C side of agtrace.Tracer: owns a C ABI tracer handle (Tracer(c_handle))."},
    {0, NULL},
};

static PyType_Spec tracer_spec = {
    .name = "agtrace._fastpath.Tracer",
    .basicsize = sizeof(TracerObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .slots = tracer_slots,
};

int tracer_types_init(PyObject *module) {
    static const char *names[SPAN_ARGUMENTS] = {"name", "kind", "attributes", "parent", "links"};
    for (int i = 0; i < SPAN_ARGUMENTS; i++)
        if (!(kw_names[i] = PyUnicode_InternFromString(names[i])))
            return -1;
    TracerType = (PyTypeObject *)PyType_FromSpec(&tracer_spec);
    ContextType = (PyTypeObject *)PyType_FromSpec(&context_spec);
    if (!TracerType || !ContextType)
        return -1;
    Py_INCREF(TracerType);
    Py_INCREF(ContextType);
    if (PyModule_AddObject(module, "Tracer", (PyObject *)TracerType) < 0 ||
        PyModule_AddObject(module, "SpanContext", (PyObject *)ContextType) < 0)
        return -1;
    return 0;
}
