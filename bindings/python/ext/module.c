/* The module agtrace._fastpath: set-up (bind, configure), the module-level
 * span() of the default tracer, pending-byte flushes, and the encoder's
 * test entry point (_encode). */
#include "fastpath.h"

config_t cfg;

static PyObject *mod_bind(PyObject *m, PyObject *arg) {
    const char *path = PyUnicode_AsUTF8AndSize(arg, NULL);
    if (!path || lib_bind(path) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *mod_library_version(PyObject *m, PyObject *unused) {
    return lib_bound() ? PyUnicode_FromString(lib.version()) : NULL;
}

static PyObject *mod_configure(PyObject *m, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"span_class", "invalid_argument", "current", "session", "kind_of", "convert",
                            "links", "describe", "report", "error_of", "mapping_abc", NULL};
    PyObject *span_class, *current, *session;
    config_t c = {0};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOOOOOOOO:_configure", names, &span_class,
                                     &c.invalid_argument, &current, &session, &c.kind_of, &c.convert, &c.links,
                                     &c.describe, &c.report, &c.error_of, &c.mapping_abc))
        return NULL;
    if (!PyType_Check(span_class) || !PyType_IsSubtype((PyTypeObject *)span_class, SpanBaseType)) {
        PyErr_SetString(PyExc_TypeError, "span_class must subclass agtrace._fastpath.Span");
        return NULL;
    }
    if (!(c.current_get = PyObject_GetAttrString(current, "get")) ||
        !(c.current_set = PyObject_GetAttrString(current, "set")) ||
        !(c.current_reset = PyObject_GetAttrString(current, "reset")) ||
        !(c.session_get = PyObject_GetAttrString(session, "get")))
        return NULL; /* set up once, at import: a failure there fails the import */
    Py_INCREF(span_class);
    c.span_class = (PyTypeObject *)span_class;
    c.span_alloc = (allocfunc)PyType_GetSlot(c.span_class, Py_tp_alloc);
    PyObject **kept[] = {&c.invalid_argument, &c.kind_of, &c.convert, &c.links, &c.describe, &c.report,
                         &c.error_of, &c.mapping_abc};
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
        Py_INCREF(*kept[i]);
    c.str_item = PyUnicode_InternFromString("item");
    c.str_record_exception = PyUnicode_InternFromString("record_exception");
    if (!c.str_item || !c.str_record_exception)
        return NULL;
    c.default_tracer = cfg.default_tracer;
    cfg = c;
    Py_RETURN_NONE;
}

static PyObject *mod_span(PyObject *m, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    PyObject *a[SPAN_ARGUMENTS];
    if (span_arguments(args, nargs, kwnames, a) < 0)
        return NULL;
    return span_start(cfg.default_tracer, a[0], a[1], a[2], a[3], a[4]);
}

static PyObject *mod_set_default(PyObject *m, PyObject *tracer) {
    if (tracer != Py_None && !PyObject_TypeCheck(tracer, TracerType)) {
        PyErr_SetString(PyExc_TypeError, "the default tracer must be a Tracer or None");
        return NULL;
    }
    PyObject *old = cfg.default_tracer;
    cfg.default_tracer = tracer == Py_None ? NULL : Py_NewRef(tracer);
    Py_XDECREF(old);
    Py_RETURN_NONE;
}

static PyObject *mod_misuse(PyObject *m, PyObject *args) {
    PyObject *tracer, *detail;
    unsigned int kind;
    if (!PyArg_ParseTuple(args, "OIU:_misuse", &tracer, &kind, &detail))
        return NULL;
    if (tracer != Py_None && !PyObject_TypeCheck(tracer, TracerType)) {
        PyErr_SetString(PyExc_TypeError, "_misuse reports to a Tracer or None");
        return NULL;
    }
    if (report_misuse(tracer, kind, detail) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *mod_flush_pending(PyObject *m, PyObject *unused) {
    flush_all_pending();
    Py_RETURN_NONE;
}

static PyObject *mod_after_fork_child(PyObject *m, PyObject *unused) {
    pending_after_fork_child();
    Py_RETURN_NONE;
}

/* ---- encoding records from tuples (tests) ---- */

static int put_items(buf_t *b, PyObject *items) {
    PyObject *seq = PySequence_Tuple(items);
    if (!seq)
        return -1;
    int r = 0;
    for (Py_ssize_t i = 0; i < PyTuple_Size(seq) && r == 0; i++) {
        PyObject *item = PyTuple_GetItem(seq, i);
        if (!PyTuple_Check(item) || PyTuple_Size(item) < 1) {
            PyErr_SetString(PyExc_TypeError, "an item is a (code, *fields) tuple");
            r = -1;
            break;
        }
        long code = PyLong_AsLong(PyTuple_GetItem(item, 0));
        Py_ssize_t n = PyTuple_Size(item) - 1;
        PyObject *fields[8];
        if (n > 8) {
            PyErr_SetString(PyExc_TypeError, "too many fields");
            r = -1;
            break;
        }
        for (Py_ssize_t j = 0; j < n; j++)
            fields[j] = PyTuple_GetItem(item, j + 1);
        r = code == -1 && PyErr_Occurred() ? -1 : put_item(b, code, fields, n);
    }
    Py_DECREF(seq);
    return r;
}

static int put_parent_tuple(buf_t *b, PyObject *parent) {
    unsigned char form;
    PyObject *trace_id, *span_id, *inherit;
    unsigned char flags;
    unsigned long long handle;
    if (PyArg_ParseTuple(parent, "b:root", &form) && form == AGTRACE_PROTO_PARENT_ROOT)
        return buf_reserve(b, 1) < 0 ? -1 : (put_u8(b, form), 0);
    PyErr_Clear();
    if (PyArg_ParseTuple(parent, "bK:context", &form, &handle) && form == AGTRACE_PROTO_PARENT_CONTEXT)
        return buf_reserve(b, 9) < 0 ? -1 : (put_u8(b, form), put_u64(b, handle), 0);
    PyErr_Clear();
    if (!PyArg_ParseTuple(parent, "bSSbO:ids", &form, &trace_id, &span_id, &flags, &inherit))
        return -1;
    if (PyBytes_Size(trace_id) != 16 || PyBytes_Size(span_id) != 8) {
        PyErr_SetString(PyExc_ValueError, "ids are 16 and 8 bytes");
        return -1;
    }
    if (buf_reserve(b, 34) < 0)
        return -1;
    put_u8(b, inherit == Py_None ? form : form | AGTRACE_PROTO_PARENT_INHERIT);
    put_raw(b, PyBytes_AsString(trace_id), 16);
    put_raw(b, PyBytes_AsString(span_id), 8);
    put_u8(b, flags);
    if (inherit != Py_None) {
        unsigned long long h = PyLong_AsUnsignedLongLong(inherit);
        if (h == (unsigned long long)-1 && PyErr_Occurred())
            return -1;
        put_u64(b, h);
    }
    return 0;
}

static int put_record(buf_t *b, PyObject *record) {
    unsigned char code;
    size_t at;
    if (!PyTuple_Check(record) || PyTuple_Size(record) < 1 ||
        !PyArg_Parse(PyTuple_GetItem(record, 0), "b", &code))
        return PyErr_Occurred() ? -1 : (PyErr_SetString(PyExc_TypeError, "a record is a tuple"), -1);
    if (code == AGTRACE_PROTO_RECORD_BEGIN) {
        unsigned char kind;
        PyObject *parent, *name, *items;
        if (!PyArg_ParseTuple(record, "bbOUO:begin", &code, &kind, &parent, &name, &items))
            return -1;
        if (record_open(b, code, &at) < 0 || buf_reserve(b, 1) < 0)
            return -1;
        put_u8(b, kind);
        if (put_parent_tuple(b, parent) < 0 || put_str(b, name) < 0)
            return -1;
    } else {
        unsigned long long handle;
        PyObject *duration, *items;
        if (!PyArg_ParseTuple(record, "bKOO:end", &code, &handle, &duration, &items))
            return -1;
        unsigned long long d = duration == Py_None ? UINT64_MAX : PyLong_AsUnsignedLongLong(duration);
        if (d == (unsigned long long)-1 && PyErr_Occurred())
            return -1;
        if (record_open(b, code, &at) < 0 || buf_reserve(b, 16) < 0)
            return -1;
        put_u64(b, handle);
        put_u64(b, d);
    }
    return put_items(b, PyTuple_GetItem(record, PyTuple_Size(record) - 1)) < 0 ? -1 : record_close(b, at);
}

static PyObject *mod_encode(PyObject *m, PyObject *records) {
    PyObject *seq = PySequence_Tuple(records);
    if (!seq)
        return NULL;
    buf_t b = {0};
    PyObject *out = NULL;
    Py_ssize_t i = 0;
    while (i < PyTuple_Size(seq) && put_record(&b, PyTuple_GetItem(seq, i)) == 0)
        i++;
    if (i == PyTuple_Size(seq))
        out = PyBytes_FromStringAndSize((const char *)b.p, (Py_ssize_t)b.len);
    buf_free(&b);
    Py_DECREF(seq);
    return out;
}

static PyObject *mod_item_bytes(PyObject *m, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs < 1) {
        PyErr_SetString(PyExc_TypeError, "_item_bytes takes an item code and its fields");
        return NULL;
    }
    long code = PyLong_AsLong(args[0]);
    if (code == -1 && PyErr_Occurred())
        return NULL;
    buf_t b = {0};
    PyObject *out = put_item(&b, code, args + 1, nargs - 1) < 0
                        ? NULL
                        : PyBytes_FromStringAndSize((const char *)b.p, (Py_ssize_t)b.len);
    buf_free(&b);
    return out;
}

static PyMethodDef module_methods[] = {
    {"_bind", mod_bind, METH_O,
     "_bind(path): binds the libagtrace already loaded from path (agtrace._native), checking its protocol "
     "version."},
    {"library_version", mod_library_version, METH_NOARGS, "libagtrace's version, MAJOR.MINOR.PATCH."},
    {"_configure", (PyCFunction)(void (*)(void))mod_configure, METH_VARARGS | METH_KEYWORDS,
     "What the package provides the hot path: its span class, exceptions, context variables and callbacks."},
    {"span", (PyCFunction)(void (*)(void))mod_span, METH_FASTCALL | METH_KEYWORDS,
     "span(name, kind=SpanKind.PLAIN, attributes=None, *, parent=<the current span>, links=None)\n--\n\n"
     "Starts a span on the default tracer; see Tracer.span. Use it in a with block, or end it with "
     "Span.end. Before agtrace.init it returns a span that records nothing."},
    {"set_default", mod_set_default, METH_O, "set_default(tracer or None): the tracer span() uses."},
    {"_misuse", mod_misuse, METH_VARARGS,
     "_misuse(tracer or None, kind, detail): reports misuse the SDK detected (an agtrace._codes.MISUSE_* "
     "kind) to the tracer's core (None: the default tracer's), which counts it and logs each kind once; "
     "raises InvalidArgument(detail) in that tracer's strict mode."},
    {"flush_pending", mod_flush_pending, METH_NOARGS,
     "Sends every thread's pending span ends to the core (before flush, shutdown and stats, and from the "
     "idle flusher)."},
    {"_after_fork_child", mod_after_fork_child, METH_NOARGS,
     "In a forked child: drops the pending span ends inherited from the parent, which sends them."},
    {"_encode", mod_encode, METH_O,
     "_encode(records) -> bytes: a protocol message from (RECORD_BEGIN, kind, parent, name, items) and "
     "(RECORD_END | RECORD_ABANDON, handle, duration | None, items) tuples; items are (ITEM_*, *fields). "
     "For the protocol's test vectors."},
    {"_item_bytes", (PyCFunction)(void (*)(void))mod_item_bytes, METH_FASTCALL,
     "_item_bytes(code, *fields) -> bytes: one encoded item (a session's TRACE item)."},
    {NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "agtrace._fastpath",
    .m_doc = "agtrace's span hot path: the span protocol encoder, span types and per-thread pending ends.",
    /* One set of static state (config, pending buffers): no sub-interpreters. */
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__fastpath(void) {
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    if (pending_init() < 0 || span_type_init(m) < 0 || tracer_types_init(m) < 0 || otel_init(m) < 0 ||
        PyModule_AddIntConstant(m, "PROTOCOL_VERSION", AGTRACE_PROTOCOL_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
