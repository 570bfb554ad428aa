/* Per-thread pending END records (PROTOCOL.md, "How bindings use it").
 *
 * Each thread that ends a span owns a `pending_t`, found through a
 * thread-local pointer and linked into one list, so that code holding the
 * GIL can reach every thread's bytes: flush/shutdown/stats and the idle
 * flusher send them all (flush_all_pending). A thread's exit marks its
 * buffers dead (a pthread key destructor, which runs without the GIL and
 * only sets the flag); the next flush sends what they hold and frees them,
 * so a thread's death loses nothing.
 *
 * END records are tracer-independent (a handle names its span, whichever
 * tracer started it), so one thread's pending bytes, from any tracers, go in
 * one message through any tracer: the one of the BEGIN they precede, or the
 * `tracer` kept with them (a strong reference, which keeps its C handle
 * valid until they are sent). */

#include "fastpath.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

/* Pending bytes past this are sent at once, bounding a thread's buffer
 * between BEGINs. */
#define PENDING_BOUND (64 * 1024)
/* A buffer grown past this (a span with large attributes) is released once
 * sent, so an idle thread does not keep it. */
#define KEEP_CAPACITY (256 * 1024)

struct pending {
    buf_t ends;       /* END/ABANDON records not yet sent */
    size_t count;     /* how many */
    buf_t scratch;    /* the BEGIN being encoded on this thread */
    int scratch_busy; /* a BEGIN is being encoded (scratch is taken) */
    PyObject *tracer; /* the Tracer `ends` go through, when set */
    int dead;         /* the owner thread exited (atomic: set without the GIL) */
    struct pending *next;
};

static __thread pending_t *here;
static pending_t *all;
static pthread_key_t exit_key;

static void on_thread_exit(void *p) {
    __atomic_store_n(&((pending_t *)p)->dead, 1, __ATOMIC_RELEASE);
}

int pending_init(void) {
    int e = pthread_key_create(&exit_key, on_thread_exit);
    if (e) {
        errno = e;
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    return 0;
}

pending_t *pending_here(void) {
    pending_t *p = here;
    if (p)
        return p;
    p = calloc(1, sizeof *p);
    if (!p) {
        PyErr_NoMemory();
        return NULL;
    }
    if (pthread_setspecific(exit_key, p)) {
        free(p);
        PyErr_NoMemory();
        return NULL;
    }
    p->next = all;
    all = p;
    here = p;
    return p;
}

/* Marks `ends` sent: empties it and hands back the tracer reference, which
 * the caller releases once nothing here is half done (a release may run
 * Python code, and with it another thread's flush). */
static PyObject *sent(pending_t *p) {
    PyObject *tracer = p->tracer;
    p->tracer = NULL;
    p->ends.len = 0;
    p->count = 0;
    if (p->ends.cap > KEEP_CAPACITY)
        buf_free(&p->ends);
    return tracer;
}

static void send(pending_t *p) {
    agtrace_error_t *error = NULL;
    agtrace_status_t status =
        lib.spans_apply(((TracerObject *)p->tracer)->c, p->ends.p, p->ends.len, NULL, &error);
    PyObject *tracer = sent(p);
    /* After shutdown the ENDs are still applied (and counted as dropped). */
    if (status != AGTRACE_OK && status != AGTRACE_ERR_SHUT_DOWN)
        report_status(status, error);
    else if (error)
        lib.error_free(error);
    Py_XDECREF(tracer);
}

int pending_end(uint8_t code, uint64_t handle, uint64_t duration, const buf_t *items, PyObject *tracer) {
    pending_t *p = pending_here();
    if (!p || buf_reserve(&p->ends, 21 + items->len) < 0)
        return -1;
    buf_t *b = &p->ends;
    put_u8(b, code);
    put_u32(b, (uint32_t)(16 + items->len));
    put_u64(b, handle);
    put_u64(b, duration);
    put_raw(b, items->p, items->len);
    p->count++;
    if (!p->tracer) {
        Py_INCREF(tracer);
        p->tracer = tracer;
    }
    if (b->len > PENDING_BOUND)
        send(p);
    return 0;
}

int message_open(pending_t *p, message_t *m) {
    m->own = (buf_t){0};
    m->buf = p->scratch_busy ? &m->own : &p->scratch;
    if (m->buf == &p->scratch) {
        p->scratch_busy = 1;
        p->scratch.len = 0;
    }
    m->ends = p->count;
    m->ends_len = p->ends.len;
    m->sent = 0;
    if (m->ends) {
        /* The pending ENDs lead the message: copied once here, so a large
         * BEGIN is not copied after them. Until the call they are this
         * message's (message_close gives them back if it is not sent). */
        if (buf_reserve(m->buf, m->ends_len) < 0) {
            if (m->buf == &p->scratch)
                p->scratch_busy = 0;
            return -1;
        }
        put_raw(m->buf, p->ends.p, m->ends_len);
    }
    m->tracer = sent(p);
    return 0;
}

agtrace_status_t message_send(message_t *m, agtrace_tracer_t *c, agtrace_begun_t *out, agtrace_error_t **error,
                              uint64_t *start_ns) {
    agtrace_status_t status = lib.spans_apply(c, m->buf->p, m->buf->len, out, error);
    /* The core takes the span's start last, just before it returns (see
     * ffi/PROTOCOL.md): the binding's start reading follows it at once. */
    *start_ns = monotonic_ns();
    m->sent = 1;
    return status;
}

void message_close(pending_t *p, message_t *m, PyObject *tracer) {
    if (!m->sent && m->ends) {
        /* Not sent (the BEGIN failed to encode): the ENDs wait again. */
        if (buf_reserve(&p->ends, m->ends_len) == 0) {
            put_raw(&p->ends, m->buf->p, m->ends_len);
            p->count += m->ends;
            if (!p->tracer) {
                p->tracer = m->tracer;
                m->tracer = NULL;
            }
        } else {
            PyErr_Clear(); /* cannot be kept: sent now, on their own */
            lib.spans_apply(((TracerObject *)(m->tracer ? m->tracer : tracer))->c, m->buf->p, m->ends_len, NULL, NULL);
        }
    }
    if (m->buf == &p->scratch) {
        p->scratch_busy = 0;
        if (p->scratch.cap > KEEP_CAPACITY)
            buf_free(&p->scratch);
    } else {
        buf_free(&m->own);
    }
    Py_XDECREF(m->tracer);
}

static void unlink_where(int (*drop)(pending_t *)) {
    for (pending_t **link = &all; *link;) {
        pending_t *p = *link;
        if (drop(p)) {
            *link = p->next;
            buf_free(&p->ends);
            buf_free(&p->scratch);
            Py_XDECREF(p->tracer);
            free(p);
        } else {
            link = &p->next;
        }
    }
}

static int exited_and_sent(pending_t *p) {
    return __atomic_load_n(&p->dead, __ATOMIC_ACQUIRE) && !p->ends.len;
}

static int flushing;

void flush_all_pending(void) {
    /* Sending may run Python code (a decref, a log call), which may switch
     * threads or flush again: only the outermost flush walks the list, and
     * the list is changed only after the walk, where no Python code runs. */
    if (flushing)
        return;
    flushing = 1;
    for (pending_t *p = all; p; p = p->next)
        if (p->ends.len)
            send(p);
    unlink_where(exited_and_sent);
    flushing = 0;
}

static int not_here(pending_t *p) {
    return p != here;
}

void pending_after_fork_child(void) {
    /* The parent sends these bytes; the threads of the other buffers did not
     * survive the fork. */
    flushing = 1; /* a decref below must not start a flush mid-walk */
    unlink_where(not_here);
    flushing = 0;
    if (here)
        Py_XDECREF(sent(here));
}
