/* agtrace._fastpath.Span: a span started through the protocol. Its handle,
 * ids and start time are read at the start; what is recorded on it goes to
 * its own buffer; its end appends one END record to the thread's pending
 * bytes (no call into the library). A live span that is deallocated without
 * end() sends an ABANDON record with everything recorded on it: this check
 * in tp_dealloc is the only finaliser, and costs nothing to spans that ended.
 *
 * agtrace.Span subclasses it in Python (the cold methods: status, model,
 * usage, exceptions, ...), with no instance dictionary, so instances are as
 * cheap as this type's. */

#include "fastpath.h"
#include <string.h>
#include <time.h>
#include "structmember.h"

PyTypeObject *SpanBaseType;

uint64_t monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* 1 when the span takes recordings; 0 when it records nothing, or ended
 * (misuse: reported); -1 when that misuse raised (strict mode). */
static int writable(SpanObject *s) {
    if (s->state == SPAN_ENDED)
        return report_misuse_text(s->tracer, AGTRACE_MISUSE_ENDED_TWICE, "recording on an ended span is ignored");
    return s->handle != 0;
}

static int finish(SpanObject *s, uint8_t code) {
    s->state = SPAN_ENDED;
    if (!s->handle)
        return 0;
    int r = pending_end(code, s->handle, monotonic_ns() - s->start_ns, &s->items, s->tracer);
    buf_free(&s->items);
    return r;
}

static PyObject *span_end(PyObject *self, PyObject *unused) {
    SpanObject *s = (SpanObject *)self;
    if (s->state == SPAN_ENDED) {
        if (report_misuse_text(s->tracer, AGTRACE_MISUSE_ENDED_TWICE, "span ended twice; the second end is ignored") < 0)
            return NULL;
        Py_RETURN_NONE;
    }
    if (finish(s, AGTRACE_PROTO_RECORD_END) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *span_enter(PyObject *self, PyObject *unused) {
    PyObject *token = PyObject_CallFunctionObjArgs(cfg.current_set, self, NULL);
    if (!token)
        return NULL;
    SpanObject *s = (SpanObject *)self;
    PyObject *old = s->token; /* entered again: the last entry's token wins */
    s->token = token;
    Py_XDECREF(old);
    Py_INCREF(self);
    return self;
}

/* Restores the current span the matching __enter__ replaced. */
static int restore_current(SpanObject *s) {
    PyObject *token = s->token;
    if (!token)
        return 0;
    s->token = NULL;
    PyObject *r = PyObject_CallFunctionObjArgs(cfg.current_reset, token, NULL);
    Py_DECREF(token);
    if (r) {
        Py_DECREF(r);
        return 0;
    }
    /* Exited in another context than it was entered in (a generator
     * resumed elsewhere): that context was never changed. */
    if (PyErr_ExceptionMatches(PyExc_ValueError)) {
        PyErr_Clear();
        return 0;
    }
    return -1;
}

static PyObject *span_exit(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    SpanObject *s = (SpanObject *)self;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "__exit__ takes 3 arguments");
        return NULL;
    }
    int failed = 0;
    if (args[1] != Py_None && args[0] != PyExc_GeneratorExit && s->state == SPAN_LIVE) {
        PyObject *r = PyObject_CallMethodObjArgs(self, cfg.str_record_exception, args[1], NULL);
        if (r)
            Py_DECREF(r);
        else
            failed = 1;
    }
    PyObject *t = NULL, *e = NULL, *tb = NULL;
    if (failed)
        PyErr_Fetch(&t, &e, &tb);
    PyObject *ended = span_end(self, NULL);
    if (ended)
        Py_DECREF(ended);
    else if (!failed)
        failed = 1, PyErr_Fetch(&t, &e, &tb);
    else
        PyErr_Clear();
    if (restore_current(s) < 0 && failed)
        PyErr_Clear();
    else if (PyErr_Occurred())
        return NULL;
    if (failed) {
        PyErr_Restore(t, e, tb);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *span_is_recording(PyObject *self, PyObject *unused) {
    SpanObject *s = (SpanObject *)self;
    return PyBool_FromLong(s->handle && s->state == SPAN_LIVE);
}

static PyObject *span_writable(PyObject *self, PyObject *unused) {
    int w = writable((SpanObject *)self);
    return w < 0 ? NULL : PyBool_FromLong(w);
}

static PyObject *span_set_attributes(PyObject *self, PyObject *attributes) {
    SpanObject *s = (SpanObject *)self;
    int w = writable(s);
    if (w < 0 || (w && put_attributes(&s->items, attributes, NULL, s->tracer) < 0))
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *span_set_attribute(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    SpanObject *s = (SpanObject *)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "set_attribute takes a key and a value");
        return NULL;
    }
    int w = writable(s);
    if (w < 0 || (w && put_attribute(&s->items, args[0], args[1], s->tracer) < 0))
        return NULL;
    Py_RETURN_NONE;
}

int check_name(const char *what, PyObject *name, PyObject *reporter) {
    Py_ssize_t n;
    const char *s = PyUnicode_Check(name) ? PyUnicode_AsUTF8AndSize(name, &n) : NULL;
    if (!s && PyErr_Occurred()) {
        PyErr_Clear();
        return 0; /* lone surrogates: sent as U+FFFD */
    }
    if (s && n > 0 && !memchr(s, 0, (size_t)n))
        return 0;
    PyObject *shown = PyObject_CallFunctionObjArgs(cfg.describe, name, NULL);
    PyObject *detail = shown ? PyUnicode_FromFormat("%s must be a non-empty str without NUL, got %U", what, shown) : NULL;
    Py_XDECREF(shown);
    int r = detail ? report_misuse(reporter, AGTRACE_MISUSE_BAD_NAME, detail) : -1;
    Py_XDECREF(detail);
    return r < 0 ? -1 : 1;
}

static PyObject *span_add_event(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"name", "attributes", NULL};
    SpanObject *s = (SpanObject *)self;
    PyObject *name, *attributes = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:add_event", names, &name, &attributes))
        return NULL;
    int bad = check_name("event name", name, s->tracer);
    if (bad < 0)
        return NULL;
    int w = bad ? 0 : writable(s);
    if (w < 0)
        return NULL;
    if (!w)
        Py_RETURN_NONE;
    buf_t *b = &s->items;
    size_t mark = b->len, count_at;
    uint32_t count = 0;
    if (buf_reserve(b, 1) < 0)
        return NULL;
    put_u8(b, AGTRACE_PROTO_ITEM_EVENT);
    if (put_str(b, name) < 0 || buf_reserve(b, 12) < 0)
        goto fail;
    put_u64(b, monotonic_ns() - s->start_ns);
    count_at = b->len;
    put_u32(b, 0);
    if (attributes != Py_None && put_attributes(b, attributes, &count, s->tracer) < 0) {
        if (PyErr_ExceptionMatches(cfg.invalid_argument)) {
            PyObject *t, *e, *tb;
            PyErr_Fetch(&t, &e, &tb);
            PyErr_NormalizeException(&t, &e, &tb);
            PyObject *message = PyUnicode_FromFormat("event %R: %S", name, e);
            if (message) {
                PyErr_SetObject(cfg.invalid_argument, message);
                Py_DECREF(message);
            }
            Py_XDECREF(t);
            Py_XDECREF(e);
            Py_XDECREF(tb);
        }
        goto fail;
    }
    memcpy(b->p + count_at, &count, 4);
    Py_RETURN_NONE;
fail:
    b->len = mark;
    return NULL;
}

static PyObject *span_mark_first_chunk(PyObject *self, PyObject *unused) {
    SpanObject *s = (SpanObject *)self;
    int w = writable(s);
    if (w < 0)
        return NULL;
    if (w) {
        if (buf_reserve(&s->items, 9) < 0)
            return NULL;
        put_u8(&s->items, AGTRACE_PROTO_ITEM_FIRST_CHUNK);
        put_u64(&s->items, monotonic_ns() - s->start_ns);
    }
    Py_RETURN_NONE;
}

static PyObject *span_item(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    SpanObject *s = (SpanObject *)self;
    if (nargs < 1) {
        PyErr_SetString(PyExc_TypeError, "_item takes an item code and its fields");
        return NULL;
    }
    long code = PyLong_AsLong(args[0]);
    if (code == -1 && PyErr_Occurred())
        return NULL;
    int w = writable(s);
    if (w < 0 || (w && put_item(&s->items, code, args + 1, nargs - 1) < 0))
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *span_add_links(PyObject *self, PyObject *links) {
    SpanObject *s = (SpanObject *)self;
    int w = writable(s);
    if (w < 0 || (w && put_links(&s->items, links, s->tracer) < 0))
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *span_misuse(PyObject *self, PyObject *args) {
    unsigned int kind;
    PyObject *detail;
    if (!PyArg_ParseTuple(args, "IU:_misuse", &kind, &detail))
        return NULL;
    if (report_misuse(((SpanObject *)self)->tracer, kind, detail) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *span_get_tracer(PyObject *self, void *unused) {
    PyObject *t = ((SpanObject *)self)->tracer;
    return Py_NewRef(t ? t : Py_None);
}

static PyObject *span_get_is_ended(PyObject *self, void *unused) {
    return PyBool_FromLong(((SpanObject *)self)->state == SPAN_ENDED);
}


static PyObject *span_get_context(PyObject *self, void *unused) {
    return context_of_span((SpanObject *)self);
}

/* While a span is entered, it holds its ContextVar token, the token its
 * Context, and the Context the span: a span entered and never exited (a
 * suspended generator that is dropped) would keep that cycle, and its
 * handle, alive without the garbage collector. */
static int span_traverse(PyObject *self, visitproc visit, void *arg) {
    SpanObject *s = (SpanObject *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(s->token);
    Py_VISIT(s->session);
    Py_VISIT(s->inherit);
    Py_VISIT(s->tracer);
    Py_VISIT(s->otel_outer);
    return 0;
}

/* Breaks cycles; keeps the tracer, through which the span's ABANDON record
 * is sent when it is deallocated next. */
static int span_clear(PyObject *self) {
    SpanObject *s = (SpanObject *)self;
    Py_CLEAR(s->token);
    Py_CLEAR(s->session);
    Py_CLEAR(s->inherit);
    Py_CLEAR(s->otel_outer);
    return 0;
}

static void span_dealloc(PyObject *self) {
    SpanObject *s = (SpanObject *)self;
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (s->weakrefs)
        PyObject_ClearWeakRefs(self);
    if (s->state == SPAN_LIVE && s->handle) {
        PyObject *t, *e, *tb;
        PyErr_Fetch(&t, &e, &tb);
        if (finish(s, AGTRACE_PROTO_RECORD_ABANDON) < 0)
            PyErr_WriteUnraisable(NULL);
        PyErr_Restore(t, e, tb);
    }
    buf_free(&s->items);
    Py_CLEAR(s->tracer);
    Py_CLEAR(s->session);
    Py_CLEAR(s->inherit);
    Py_CLEAR(s->token);
    Py_CLEAR(s->otel_outer);
    ((freefunc)PyType_GetSlot(type, Py_tp_free))(self);
    Py_DECREF(type);
}

static PyMethodDef span_methods[] = {
    {"__enter__", span_enter, METH_NOARGS, "Makes the span current; returns it."},
    {"__exit__", (PyCFunction)(void (*)(void))span_exit, METH_FASTCALL,
     "Records an exception that escapes the block, ends the span and restores the current span."},
    {"end", span_end, METH_NOARGS,
     "Ends the span: its recordings are queued with its end. Never blocks; a second end is logged and ignored."},
    {"is_recording", span_is_recording, METH_NOARGS,
     "False once ended, for spans not sampled, and when agtrace is not initialized."},
    {"set_attribute", (PyCFunction)(void (*)(void))span_set_attribute, METH_FASTCALL,
     "Sets one attribute. str, bool, int, float and lists of one of those are kept as they are; any other "
     "value is converted (agtrace._record) and never raises. None is ignored; a key that is not a non-empty "
     "str without control characters drops the attribute (misuse: counted, raised in strict mode)."},
    {"set_attributes", span_set_attributes, METH_O, "Sets every attribute of a mapping; see set_attribute."},
    {"add_event", (PyCFunction)(void (*)(void))span_add_event, METH_VARARGS | METH_KEYWORDS,
     "add_event(name, attributes=None): adds an event timed now."},
    {"mark_first_chunk", span_mark_first_chunk, METH_NOARGS,
     "Records that the first chunk of a streamed response arrived now (gen_ai.response.time_to_first_chunk)."},
    {"_writable", span_writable, METH_NOARGS,
     "Whether the span takes recordings (logs a recording on an ended span)."},
    {"_misuse", span_misuse, METH_VARARGS,
     "_misuse(kind, detail): reports misuse of this span (an agtrace._codes.MISUSE_* kind) to its tracer; "
     "raises InvalidArgument(detail) in strict mode."},
    {"_add_links", span_add_links, METH_O,
     "_add_links(links): records links (see Tracer.span's links) on a span that takes recordings."},
    {"_item", (PyCFunction)(void (*)(void))span_item, METH_FASTCALL,
     "_item(code, *fields): records one protocol item (agtrace._codes.ITEM_*) on a span that takes recordings."},
    {NULL},
};

static PyGetSetDef span_getset[] = {
    {"is_ended", span_get_is_ended, NULL, "True once end() ran.", NULL},
    {"_tracer", span_get_tracer, NULL, "The Tracer that records the span, or None.", NULL},
    {"context", span_get_context, NULL,
     "The span's ids (a SpanContext), for propagation or as a parent; None for a span of no tracer.", NULL},
    {NULL},
};

static PyMemberDef span_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(SpanObject, weakrefs), READONLY, NULL},
    {NULL},
};

static PyType_Slot span_slots[] = {
    {Py_tp_dealloc, span_dealloc},
    {Py_tp_traverse, span_traverse},
    {Py_tp_clear, span_clear},
    {Py_tp_methods, span_methods},
    {Py_tp_getset, span_getset},
    {Py_tp_members, span_members},
    {Py_tp_doc, "The span type behind agtrace.Span."},
    {0, NULL},
};

static PyType_Spec span_spec = {
    .name = "agtrace._fastpath.Span",
    .basicsize = sizeof(SpanObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = span_slots,
};

int span_type_init(PyObject *module) {
    SpanBaseType = (PyTypeObject *)PyType_FromSpec(&span_spec);
    if (!SpanBaseType)
        return -1;
    Py_INCREF(SpanBaseType);
    return PyModule_AddObject(module, "Span", (PyObject *)SpanBaseType);
}
