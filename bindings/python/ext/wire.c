/* The span protocol writer (ffi/PROTOCOL.md): buffers, records, and items
 * from Python values. Checked against ffi/protocol/vectors.json by
 * tests/python/test_protocol_vectors.py through _fastpath._encode.
 *
 * Errors leave the buffer as it was: every writer that can fail records the
 * length first and restores it. No Python code runs while an item is half
 * written (a value's conversion is made before its item starts), so a
 * finaliser or another thread never sees a torn buffer. */

#include "fastpath.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the protocol is little-endian: put_u32/put_u64 copy host integers as they are"
#endif

int buf_grow(buf_t *b, size_t more) {
    size_t want = b->len + more, cap = b->cap ? b->cap : 256;
    while (cap < want)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void buf_free(buf_t *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int record_open(buf_t *b, uint8_t code, size_t *at) {
    if (buf_reserve(b, 5) < 0)
        return -1;
    put_u8(b, code);
    *at = b->len;
    b->len += 4;
    return 0;
}

int record_close(buf_t *b, size_t at) {
    size_t body = b->len - at - 4;
    if (body > UINT32_MAX) {
        PyErr_SetString(cfg.invalid_argument ? cfg.invalid_argument : PyExc_ValueError,
                        "a span's record is larger than 4 GiB");
        return -1;
    }
    uint32_t n = (uint32_t)body;
    memcpy(b->p + at, &n, 4);
    return 0;
}

int put_cstr(buf_t *b, const char *s, size_t n) {
    if (n > UINT32_MAX - 1) {
        PyErr_SetString(cfg.invalid_argument ? cfg.invalid_argument : PyExc_ValueError,
                        "a string is larger than 4 GiB");
        return -1;
    }
    if (buf_reserve(b, 4 + n) < 0)
        return -1;
    put_u32(b, (uint32_t)n);
    put_raw(b, s, n);
    return 0;
}

PyObject *utf8_replacing_surrogates(PyObject *str) {
    PyObject *bytes = PyUnicode_AsEncodedString(str, "utf-8", "surrogatepass");
    char *raw;
    Py_ssize_t n;
    if (!bytes || PyBytes_AsStringAndSize(bytes, &raw, &n) < 0) {
        Py_XDECREF(bytes);
        return NULL;
    }
    /* A surrogate encodes as ED A0..BF xx; U+FFFD as EF BF BD, as long. The
     * bytes object is new and ours alone, so it may be written. */
    for (Py_ssize_t i = 0; i + 2 < n; i++) {
        if ((unsigned char)raw[i] == 0xed && (unsigned char)raw[i + 1] >= 0xa0) {
            memcpy(raw + i, "\xef\xbf\xbd", 3);
            i += 2;
        }
    }
    return bytes;
}

int put_str(buf_t *b, PyObject *str) {
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(str, &n);
    if (s)
        return put_cstr(b, s, (size_t)n);
    /* Lone surrogates (os.fsdecode of undecodable bytes) have no UTF-8
     * form: each is sent as U+FFFD, never dropping the call. */
    PyErr_Clear();
    PyObject *bytes = utf8_replacing_surrogates(str);
    if (!bytes)
        return -1;
    char *raw;
    int r = PyBytes_AsStringAndSize(bytes, &raw, &n) < 0 ? -1 : put_cstr(b, raw, (size_t)n);
    Py_DECREF(bytes);
    return r;
}

static int put_f64(buf_t *b, double v) {
    if (buf_reserve(b, 8) < 0)
        return -1;
    memcpy(b->p + b->len, &v, 8);
    b->len += 8;
    return 0;
}

static int put_byte(buf_t *b, uint8_t v) {
    if (buf_reserve(b, 1) < 0)
        return -1;
    put_u8(b, v);
    return 0;
}

static int put_word(buf_t *b, uint64_t v) {
    if (buf_reserve(b, 8) < 0)
        return -1;
    put_u64(b, v);
    return 0;
}

static int put_count(buf_t *b, Py_ssize_t n) {
    if (buf_reserve(b, 4) < 0)
        return -1;
    put_u32(b, (uint32_t)n);
    return 0;
}

/* type(o).__name__, for messages. */
static PyObject *type_name(PyObject *o) {
    return PyObject_GetAttrString((PyObject *)Py_TYPE(o), "__name__");
}

/* ---- attributes typed from Python values ---- */

/* An attribute that cannot be recorded, `problem` saying why: misuse of
 * `kind` (0: the attribute is dropped; -1 in strict mode). */
static int drop(uint32_t kind, const char *problem, PyObject *key, PyObject *reporter) {
    PyObject *shown = PyObject_CallFunctionObjArgs(cfg.describe, key, NULL);
    PyObject *detail = shown ? PyUnicode_FromFormat("attribute %U dropped: %s", shown, problem) : NULL;
    Py_XDECREF(shown);
    int r = detail ? report_misuse(reporter, kind, detail) : -1;
    Py_XDECREF(detail);
    return r;
}

/* An attribute key: a non-empty str without control characters (C0, DEL,
 * C1). NULL when it is one, with *utf8 and *n set to its UTF-8 form, or
 * *utf8 to NULL when it has none (lone surrogates, which are no control
 * characters: put_str sends each as U+FFFD); else what is wrong with it. */
static const char *check_key(PyObject *key, const char **utf8, Py_ssize_t *n) {
    *utf8 = NULL;
    if (!PyUnicode_Check(key))
        return "keys must be non-empty strings";
    const char *s = PyUnicode_AsUTF8AndSize(key, n);
    if (!s) {
        PyErr_Clear();
        return NULL;
    }
    if (*n == 0)
        return "keys must be non-empty strings";
    for (Py_ssize_t i = 0; i < *n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != 0x7f && c != 0xc2)
            continue;
        if (c == 0)
            return "keys must not contain a NUL character";
        if (c != 0xc2 || (i + 1 < *n && (unsigned char)s[i + 1] < 0xa0))
            return "keys must not contain a control character";
    }
    *utf8 = s;
    return NULL;
}

enum { ALL_STR = 1, ALL_BOOL = 2, ALL_INT = 4, ALL_FLOAT = 8 };

/* What every element of a list or tuple is (a bit of the enum above), or 0
 * when they differ, one does not fit its array type, or there are none. */
static int uniform(PyObject *seq, Py_ssize_t n, int is_list) {
    int kinds = ALL_STR | ALL_BOOL | ALL_INT | ALL_FLOAT;
    for (Py_ssize_t i = 0; i < n && kinds; i++) {
        PyObject *v = is_list ? PyList_GetItem(seq, i) : PyTuple_GetItem(seq, i);
        if (PyUnicode_Check(v)) {
            kinds &= ALL_STR;
        } else if (PyBool_Check(v)) {
            kinds &= ALL_BOOL;
        } else if (PyLong_Check(v)) {
            int overflow;
            (void)PyLong_AsLongLongAndOverflow(v, &overflow);
            kinds &= overflow ? 0 : ALL_INT;
        } else if (PyFloat_Check(v)) {
            kinds &= isfinite(PyFloat_AsDouble(v)) ? ALL_FLOAT : 0;
        } else {
            kinds = 0;
        }
    }
    return n ? kinds : 0;
}

static int put_array(buf_t *b, PyObject *seq, Py_ssize_t n, int is_list, int kind) {
    if (put_count(b, n) < 0)
        return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = is_list ? PyList_GetItem(seq, i) : PyTuple_GetItem(seq, i);
        int r;
        switch (kind) {
        case ALL_STR: r = put_str(b, v); break;
        case ALL_BOOL: r = put_byte(b, v == Py_True); break;
        case ALL_INT: r = put_word(b, (uint64_t)PyLong_AsLongLong(v)); break;
        default: r = put_f64(b, PyFloat_AsDouble(v)); break;
        }
        if (r < 0)
            return -1;
    }
    return 0;
}

/* A value the typing in put_attribute does not cover, converted by
 * cfg.convert (agtrace._record.attribute_item: (code, payload), or
 * (code, payload, problem) when it was recorded with a marker in place of a
 * part (nested too deep): misuse, counted after it is written; or None to
 * skip it). The conversion raises no Exception; should it anyway (or give
 * no attribute item), the attribute is dropped. A BaseException raised by
 * the value's own code (KeyboardInterrupt in a __repr__) propagates. 1 when
 * written, 0 when skipped or dropped, -1 with an error. */
static int put_converted(buf_t *b, PyObject *key, PyObject *value, PyObject *reporter) {
    PyObject *item = PyObject_CallFunctionObjArgs(cfg.convert, value, NULL);
    PyObject *problem = NULL;
    int r = -1;
    Py_ssize_t size = item && PyTuple_Check(item) ? PyTuple_Size(item) : 0;
    if (item == Py_None) {
        r = 0;
    } else if (size == 2 || size == 3) {
        long code = PyLong_AsLong(PyTuple_GetItem(item, 0));
        PyObject *fields[2] = {key, PyTuple_GetItem(item, 1)};
        if (code >= AGTRACE_PROTO_ITEM_STRING && code <= AGTRACE_PROTO_ITEM_JSON && put_item(b, code, fields, 2) == 0)
            r = 1;
        problem = size == 3 ? PyTuple_GetItem(item, 2) : NULL;
    }
    if (r == 1 && problem && PyUnicode_Check(problem)) {
        PyObject *shown = PyObject_CallFunctionObjArgs(cfg.describe, key, NULL);
        PyObject *detail = shown ? PyUnicode_FromFormat("attribute %U: %U", shown, problem) : NULL;
        Py_XDECREF(shown);
        r = detail && report_misuse(reporter, AGTRACE_MISUSE_BAD_VALUE, detail) == 0 ? 1 : -1;
        Py_XDECREF(detail);
        Py_XDECREF(item);
        return r;
    }
    Py_XDECREF(item);
    if (r >= 0)
        return r;
    if (PyErr_Occurred() && !PyErr_ExceptionMatches(PyExc_Exception))
        return -1;
    PyErr_Clear();
    return drop(AGTRACE_MISUSE_BAD_VALUE, "its value could not be converted", key, reporter);
}

int put_attribute(buf_t *b, PyObject *key, PyObject *value, PyObject *reporter) {
    const char *k;
    Py_ssize_t kn;
    const char *problem = check_key(key, &k, &kn);
    if (problem)
        return drop(AGTRACE_MISUSE_BAD_NAME, problem, key, reporter);
    if (value == Py_None)
        return 0;
    size_t mark = b->len;
    PyObject *text = NULL; /* a non-finite float's text */
    uint8_t code;
    int kind = 0, is_list = 0;
    Py_ssize_t n = 0;
    if (PyUnicode_Check(value)) {
        code = AGTRACE_PROTO_ITEM_STRING;
    } else if (PyBool_Check(value)) {
        code = AGTRACE_PROTO_ITEM_BOOL;
    } else if (PyLong_Check(value)) {
        int overflow;
        (void)PyLong_AsLongLongAndOverflow(value, &overflow);
        if (overflow)
            return put_converted(b, key, value, reporter);
        code = AGTRACE_PROTO_ITEM_INT;
    } else if (PyFloat_Check(value)) {
        if (isfinite(PyFloat_AsDouble(value))) {
            code = AGTRACE_PROTO_ITEM_DOUBLE;
        } else {
            code = AGTRACE_PROTO_ITEM_STRING;
            if (!(text = PyObject_Str(value)))
                return -1;
        }
    } else if ((is_list = PyList_Check(value)) || PyTuple_Check(value)) {
        n = is_list ? PyList_Size(value) : PyTuple_Size(value);
        kind = uniform(value, n, is_list);
        static const uint8_t codes[] = {[ALL_STR] = AGTRACE_PROTO_ITEM_STRING_ARRAY, [ALL_BOOL] = AGTRACE_PROTO_ITEM_BOOL_ARRAY,
                                        [ALL_INT] = AGTRACE_PROTO_ITEM_INT_ARRAY, [ALL_FLOAT] = AGTRACE_PROTO_ITEM_DOUBLE_ARRAY};
        if (!kind)
            return put_converted(b, key, value, reporter);
        code = codes[kind];
    } else {
        return put_converted(b, key, value, reporter);
    }
    int r = put_byte(b, code) < 0 || (k ? put_cstr(b, k, (size_t)kn) : put_str(b, key)) < 0 ? -1 : 0;
    if (r == 0) {
        if (text)
            r = put_str(b, text);
        else if (kind)
            r = put_array(b, value, n, is_list, kind);
        else if (code == AGTRACE_PROTO_ITEM_STRING)
            r = put_str(b, value);
        else if (code == AGTRACE_PROTO_ITEM_BOOL)
            r = put_byte(b, value == Py_True);
        else if (code == AGTRACE_PROTO_ITEM_INT)
            r = put_word(b, (uint64_t)PyLong_AsLongLong(value));
        else
            r = put_f64(b, PyFloat_AsDouble(value));
    }
    Py_XDECREF(text);
    if (r < 0) {
        b->len = mark;
        return -1;
    }
    return 1;
}

int put_attributes(buf_t *b, PyObject *attributes, uint32_t *count, PyObject *reporter) {
    size_t mark = b->len;
    uint32_t written = 0;
    int r;
    if (PyDict_Check(attributes)) {
        Py_ssize_t pos = 0, size = PyDict_Size(attributes);
        PyObject *key, *value;
        while (PyDict_Next(attributes, &pos, &key, &value)) {
            /* A value's conversion runs Python code, which may change the
             * dict: hold the pair, and stop as iterating a dict would. */
            Py_INCREF(key);
            Py_INCREF(value);
            r = put_attribute(b, key, value, reporter);
            Py_DECREF(key);
            Py_DECREF(value);
            if (r < 0)
                goto fail;
            written += (uint32_t)r;
            if (PyDict_Size(attributes) != size) {
                PyErr_SetString(PyExc_RuntimeError, "attributes changed size while they were recorded");
                goto fail;
            }
        }
    } else {
        int is_mapping = PyObject_IsInstance(attributes, cfg.mapping_abc);
        if (is_mapping < 0)
            return -1;
        if (!is_mapping) {
            PyObject *name = type_name(attributes);
            PyObject *detail = name ? PyUnicode_FromFormat("attributes must be a mapping of str to values, not %S; "
                                                           "they were dropped", name)
                                    : NULL;
            Py_XDECREF(name);
            int r = detail ? report_misuse(reporter, AGTRACE_MISUSE_BAD_CALL, detail) : -1;
            Py_XDECREF(detail);
            if (r == 0 && count)
                *count = 0;
            return r;
        }
        PyObject *items = PyMapping_Items(attributes);
        if (!items)
            return -1;
        Py_ssize_t n = PyList_Size(items);
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *pair = PyList_GetItem(items, i);
            r = put_attribute(b, PyTuple_GetItem(pair, 0), PyTuple_GetItem(pair, 1), reporter);
            if (r < 0) {
                Py_DECREF(items);
                goto fail;
            }
            written += (uint32_t)r;
        }
        Py_DECREF(items);
    }
    if (count)
        *count = written;
    return 0;
fail:
    b->len = mark;
    return -1;
}

/* ---- links ---- */

static int put_link(buf_t *b, PyObject *link, PyObject *reporter) {
    PyObject *trace_id, *span_id, *trace_state, *attributes;
    unsigned char flags;
    if (!PyArg_ParseTuple(link, "SSbUO:link", &trace_id, &span_id, &flags, &trace_state, &attributes))
        return -1;
    if (PyBytes_Size(trace_id) != 16 || PyBytes_Size(span_id) != 8) {
        PyErr_SetString(PyExc_ValueError, "a link's ids are 16 and 8 bytes");
        return -1;
    }
    if (buf_reserve(b, 26) < 0)
        return -1;
    put_u8(b, AGTRACE_PROTO_ITEM_LINK);
    put_raw(b, PyBytes_AsString(trace_id), 16);
    put_raw(b, PyBytes_AsString(span_id), 8);
    put_u8(b, flags);
    if (put_str(b, trace_state) < 0 || buf_reserve(b, 4) < 0)
        return -1;
    size_t count_at = b->len;
    uint32_t count = 0;
    put_u32(b, 0);
    if (attributes != Py_None && put_attributes(b, attributes, &count, reporter) < 0)
        return -1;
    memcpy(b->p + count_at, &count, 4);
    return 0;
}

int put_links(buf_t *b, PyObject *links, PyObject *reporter) {
    PyObject *list = PyObject_CallFunctionObjArgs(cfg.links, links, reporter ? reporter : Py_None, NULL);
    if (!list)
        return -1;
    PyObject *seq = PySequence_Tuple(list);
    Py_DECREF(list);
    if (!seq)
        return -1;
    size_t mark = b->len;
    int r = 0;
    for (Py_ssize_t i = 0; i < PyTuple_Size(seq) && r == 0; i++)
        r = put_link(b, PyTuple_GetItem(seq, i), reporter);
    Py_DECREF(seq);
    if (r < 0)
        b->len = mark;
    return r;
}

/* ---- items from their code and fields ---- */

/* Each item's fields (PROTOCOL.md, "Items"), one letter each: s str,
 * i i64, u u64, d f64, b bool byte, B u8, S strs, I/D/L arrays of i64, f64,
 * bool, o offset (None: NOW), E an event's or link's attribute items, T a
 * trace id and N a span id (bytes of 16 and 8). */
static const char *item_fields(long code) {
    switch (code) {
    case AGTRACE_PROTO_ITEM_STRING: return "ss";
    case AGTRACE_PROTO_ITEM_INT: return "si";
    case AGTRACE_PROTO_ITEM_DOUBLE: return "sd";
    case AGTRACE_PROTO_ITEM_BOOL: return "sb";
    case AGTRACE_PROTO_ITEM_STRING_ARRAY: return "sS";
    case AGTRACE_PROTO_ITEM_INT_ARRAY: return "sI";
    case AGTRACE_PROTO_ITEM_DOUBLE_ARRAY: return "sD";
    case AGTRACE_PROTO_ITEM_BOOL_ARRAY: return "sL";
    case AGTRACE_PROTO_ITEM_JSON: return "ss";
    case AGTRACE_PROTO_ITEM_STATUS: return "Bs";
    case AGTRACE_PROTO_ITEM_ERROR: return "sss";
    case AGTRACE_PROTO_ITEM_USAGE: return "uuuuu";
    case AGTRACE_PROTO_ITEM_LLM: return "ssssS";
    case AGTRACE_PROTO_ITEM_TOOL: return "ss";
    case AGTRACE_PROTO_ITEM_AGENT: return "ss";
    case AGTRACE_PROTO_ITEM_MESSAGES: return "ss";
    case AGTRACE_PROTO_ITEM_TRACE: return "sssssSs";
    case AGTRACE_PROTO_ITEM_EVENT: return "soE";
    case AGTRACE_PROTO_ITEM_FIRST_CHUNK: return "o";
    case AGTRACE_PROTO_ITEM_NAME: return "s";
    case AGTRACE_PROTO_ITEM_LINK: return "TNBsE";
    default: return NULL;
    }
}

static int put_field(buf_t *b, char kind, PyObject *v);

/* A sequence's elements, each written as `kind`, after a u32 count. */
static int put_elements(buf_t *b, char kind, PyObject *seq) {
    if (PyUnicode_Check(seq) || PyBytes_Check(seq)) {
        PyErr_SetString(PyExc_TypeError, "expected a sequence of values, not a str");
        return -1;
    }
    PyObject *tuple = PySequence_Tuple(seq);
    if (!tuple)
        return -1;
    Py_ssize_t n = PyTuple_Size(tuple);
    int r = put_count(b, n);
    for (Py_ssize_t i = 0; i < n && r == 0; i++)
        r = put_field(b, kind, PyTuple_GetItem(tuple, i));
    Py_DECREF(tuple);
    return r;
}

static int put_field(buf_t *b, char kind, PyObject *v) {
    switch (kind) {
    case 's':
        if (!PyUnicode_Check(v)) {
            PyErr_Format(PyExc_TypeError, "expected a str, got %R", v);
            return -1;
        }
        return put_str(b, v);
    case 'i': {
        long long x = PyLong_AsLongLong(v);
        return x == -1 && PyErr_Occurred() ? -1 : put_word(b, (uint64_t)x);
    }
    case 'u': {
        unsigned long long x = PyLong_AsUnsignedLongLong(v);
        return x == (unsigned long long)-1 && PyErr_Occurred() ? -1 : put_word(b, x);
    }
    case 'o':
        if (v == Py_None)
            return put_word(b, UINT64_MAX);
        return put_field(b, 'u', v);
    case 'd': {
        double x = PyFloat_AsDouble(v);
        return x == -1.0 && PyErr_Occurred() ? -1 : put_f64(b, x);
    }
    case 'b':
        if (!PyBool_Check(v)) {
            PyErr_Format(PyExc_TypeError, "expected a bool, got %R", v);
            return -1;
        }
        return put_byte(b, v == Py_True);
    case 'B': {
        long x = PyLong_AsLong(v);
        if (x == -1 && PyErr_Occurred())
            return -1;
        if (x < 0 || x > 255) {
            PyErr_Format(PyExc_ValueError, "expected a byte, got %ld", x);
            return -1;
        }
        return put_byte(b, (uint8_t)x);
    }
    case 'T':
    case 'N': {
        Py_ssize_t want = kind == 'T' ? 16 : 8;
        if (!PyBytes_Check(v) || PyBytes_Size(v) != want) {
            PyErr_Format(PyExc_TypeError, "expected %zd bytes, got %R", want, v);
            return -1;
        }
        if (buf_reserve(b, (size_t)want) < 0)
            return -1;
        put_raw(b, PyBytes_AsString(v), (size_t)want);
        return 0;
    }
    case 'S': return put_elements(b, 's', v);
    case 'I': return put_elements(b, 'i', v);
    case 'D': return put_elements(b, 'd', v);
    case 'L': return put_elements(b, 'b', v);
    case 'E': {
        /* (code, key, value) attribute items. */
        PyObject *tuple = PySequence_Tuple(v);
        if (!tuple)
            return -1;
        Py_ssize_t n = PyTuple_Size(tuple);
        int r = put_count(b, n);
        for (Py_ssize_t i = 0; i < n && r == 0; i++) {
            PyObject *item = PyTuple_GetItem(tuple, i);
            if (!PyTuple_Check(item) || PyTuple_Size(item) != 3) {
                PyErr_SetString(PyExc_TypeError, "event attributes are (code, key, value) tuples");
                r = -1;
                break;
            }
            long code = PyLong_AsLong(PyTuple_GetItem(item, 0));
            if (code == -1 && PyErr_Occurred()) {
                r = -1;
            } else if (code < AGTRACE_PROTO_ITEM_STRING || code > AGTRACE_PROTO_ITEM_JSON) {
                PyErr_Format(PyExc_ValueError, "item %ld is not an attribute", code);
                r = -1;
            } else {
                PyObject *fields[2] = {PyTuple_GetItem(item, 1), PyTuple_GetItem(item, 2)};
                r = put_item(b, code, fields, 2);
            }
        }
        Py_DECREF(tuple);
        return r;
    }
    default:
        PyErr_Format(PyExc_SystemError, "unknown field kind %c", kind);
        return -1;
    }
}

int put_item(buf_t *b, long code, PyObject *const *fields, Py_ssize_t n) {
    const char *kinds = item_fields(code);
    if (!kinds) {
        PyErr_Format(PyExc_ValueError, "unknown item code %ld", code);
        return -1;
    }
    if ((size_t)n != strlen(kinds)) {
        PyErr_Format(PyExc_TypeError, "item %ld takes %d fields, got %zd", code, (int)strlen(kinds), n);
        return -1;
    }
    size_t mark = b->len;
    int r = put_byte(b, (uint8_t)code);
    for (Py_ssize_t i = 0; i < n && r == 0; i++)
        r = put_field(b, kinds[i], fields[i]);
    if (r < 0)
        b->len = mark;
    return r;
}
