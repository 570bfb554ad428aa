//! Configuration and tracers.

use crate::error::{agtrace_error_t, agtrace_status_t, guard, guard_value, FfiError};
use crate::string::{agtrace_str_t, owned_c_string};
use agtrace_core::{Error, Tracer, TracerBuilder};
use std::ffi::c_char;
use std::time::Duration;

/// Settings for a tracer, by name. Opaque; create with
/// `agtrace_config_new`, free with `agtrace_config_free`. Not thread-safe:
/// use from one thread at a time.
#[allow(non_camel_case_types)]
#[derive(Default)]
pub struct agtrace_config_t {
    settings: Vec<(String, String)>,
    ignore_env: bool,
}

/// A tracer. Opaque; thread-safe: any thread may use it at the same time.
/// Create with `agtrace_tracer_new`, release with `agtrace_tracer_free`.
#[allow(non_camel_case_types)]
pub struct agtrace_tracer_t {
    pub(crate) inner: Tracer,
}

/// Counters of one tracer; see `agtrace_tracer_stats`. The invariant
/// `ended == dispatched + dropped_queue_full + dropped_queue_bytes +
/// dropped_shutdown + pending` always holds.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct agtrace_stats_t {
    pub started: u64,
    pub ended: u64,
    pub unsampled: u64,
    pub dispatched: u64,
    pub pending: u64,
    pub dropped_queue_full: u64,
    pub dropped_queue_bytes: u64,
    pub dropped_shutdown: u64,
    /// Summed over exporters.
    pub exported: u64,
    /// Summed over exporters: every reason an exporter did not deliver.
    pub export_dropped: u64,
    /// Misuse counted so far, by kind (`AGTRACE_MISUSE_*`).
    pub misuse_bad_name: u64,
    pub misuse_bad_value: u64,
    pub misuse_ended_twice: u64,
    pub misuse_bad_call: u64,
    pub misuse_mask_failed: u64,
}

pub(crate) fn tracer<'a>(t: *const agtrace_tracer_t) -> Result<&'a Tracer, FfiError> {
    // SAFETY: NULL or a live tracer from this library (documented).
    unsafe { t.as_ref() }
        .map(|t| &t.inner)
        .ok_or_else(|| FfiError::null("tracer"))
}

/// A new, empty configuration. Never NULL. Free with `agtrace_config_free`.
///
/// Thread-safe; does not block.
#[no_mangle]
pub extern "C" fn agtrace_config_new() -> *mut agtrace_config_t {
    Box::into_raw(Box::default())
}

/// Sets a setting by name: the names are the environment variables of the
/// README's table (`OTEL_SERVICE_NAME`, `AGTRACE_EXPORTERS`,
/// `OTEL_EXPORTER_OTLP_ENDPOINT`, ...). A setting given here wins over the
/// environment and the config file. An unknown name fails here
/// (`AGTRACE_ERR_INVALID_ARGUMENT`); a bad value fails `agtrace_tracer_new`.
/// Both strings are copied.
///
/// Not thread-safe for the same `config`; does not block.
#[no_mangle]
pub extern "C" fn agtrace_config_set(
    config: *mut agtrace_config_t,
    name: agtrace_str_t,
    value: agtrace_str_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        // SAFETY: NULL or a live config from this library (documented).
        let cfg = unsafe { config.as_mut() }.ok_or_else(|| FfiError::null("config"))?;
        let name = name.get("name")?;
        let value = value.get("value")?;
        if !agtrace_core::SETTING_NAMES.contains(&name) {
            return Err(FfiError::invalid(
                "name",
                format!("'{name}' is not a setting"),
            ));
        }
        cfg.settings.push((name.to_string(), value.to_string()));
        Ok(())
    })
}

/// Ignore the process environment (only settings given with
/// `agtrace_config_set` and defaults apply).
///
/// Not thread-safe for the same config; does not block.
#[no_mangle]
pub extern "C" fn agtrace_config_ignore_env(
    config: *mut agtrace_config_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        // SAFETY: NULL or a live config from this library (documented).
        let cfg = unsafe { config.as_mut() }.ok_or_else(|| FfiError::null("config"))?;
        cfg.ignore_env = true;
        Ok(())
    })
}

/// Frees a configuration. NULL is ignored.
///
/// # Safety
/// `config` must be NULL or from `agtrace_config_new`, not yet freed.
///
/// Not thread-safe for the same config; does not block.
#[no_mangle]
pub unsafe extern "C" fn agtrace_config_free(config: *mut agtrace_config_t) {
    if !config.is_null() {
        // SAFETY: ownership comes back from the caller (documented).
        drop(unsafe { Box::from_raw(config) });
    }
}

/// Creates a tracer from `config` (NULL: environment and defaults only).
/// The config is only read; the caller still frees it. On success
/// `*out_tracer` is a new tracer; on failure it is set to NULL and the error
/// names the bad setting. Starts the export threads; does no network I/O on
/// the calling thread.
///
/// Thread-safe; does not block (it starts threads, no network I/O).
#[no_mangle]
pub extern "C" fn agtrace_tracer_new(
    config: *const agtrace_config_t,
    out_tracer: *mut *mut agtrace_tracer_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        if out_tracer.is_null() {
            return Err(FfiError::null("out_tracer"));
        }
        // SAFETY: checked non-NULL; writable (documented).
        unsafe { *out_tracer = std::ptr::null_mut() };
        let mut b = TracerBuilder::default();
        // SAFETY: NULL or a live config from this library (documented).
        if let Some(cfg) = unsafe { config.as_ref() } {
            if cfg.ignore_env {
                b = b.ignore_env();
            }
            for (k, v) in &cfg.settings {
                b = b.set(k, v)?;
            }
        }
        let inner = b.build()?;
        let t = Box::new(agtrace_tracer_t { inner });
        // SAFETY: as above.
        unsafe { *out_tracer = Box::into_raw(t) };
        Ok(())
    })
}

/// Releases this handle. When it is the last one the tracer shuts down,
/// waiting up to 5 s for the final export of the spans ended before; call
/// `agtrace_tracer_shutdown` first to choose the timeout. Spans do not keep
/// the tracer alive: a span still live then stays a valid handle, and ending
/// it reports `AGTRACE_ERR_SHUT_DOWN` (it is not exported). NULL is ignored.
///
/// # Safety
/// `tracer` must be NULL or from `agtrace_tracer_new`, not yet freed, and not
/// in use by another thread.
///
/// Not thread-safe for the same handle. Blocks only when this is the last handle: then up to 5 s for the final export.
#[no_mangle]
pub unsafe extern "C" fn agtrace_tracer_free(tracer: *mut agtrace_tracer_t) {
    if !tracer.is_null() {
        guard_value((), || {
            // SAFETY: ownership comes back from the caller (documented).
            drop(unsafe { Box::from_raw(tracer) })
        });
    }
}

fn report_undelivered(
    result: Result<(), Error>,
    out_undelivered: *mut u64,
) -> Result<(), FfiError> {
    let undelivered = match &result {
        Err(Error::Timeout { undelivered, .. }) => *undelivered,
        Err(Error::Undelivered {
            dropped, spooled, ..
        }) => dropped + spooled,
        _ => 0,
    };
    if !out_undelivered.is_null() {
        // SAFETY: non-NULL and writable (documented).
        unsafe { *out_undelivered = undelivered };
    }
    result.map_err(FfiError::from)
}

/// Blocks until every span ended before the call has been delivered (or given
/// up on) by the exporters, or `timeout_ms` passes: then returns
/// `AGTRACE_ERR_TIMEOUT` and, if `out_undelivered` is not NULL, how many
/// spans were not delivered yet. If the exporters dropped spans meanwhile
/// (rejected, failed after retries), returns `AGTRACE_ERR_UNDELIVERED` with
/// that count. Thread-safe.
#[no_mangle]
pub extern "C" fn agtrace_tracer_flush(
    tracer: *const agtrace_tracer_t,
    timeout_ms: u32,
    out_undelivered: *mut u64,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let t = crate::tracer::tracer(tracer)?;
        report_undelivered(
            t.force_flush(Duration::from_millis(timeout_ms.into())),
            out_undelivered,
        )
    })
}

/// Flushes, shuts the exporters down and stops the export threads; returns
/// within `timeout_ms` even if an exporter hangs (`AGTRACE_ERR_TIMEOUT`,
/// with the undelivered count as for flush). The exporters retry until
/// shortly before `timeout_ms` ends and start no attempt after it; spans
/// they dropped give `AGTRACE_ERR_UNDELIVERED` as for flush. A second call
/// waits, up to its own timeout, for the first to settle and reports the
/// same way. Afterwards spans can still be used safely but are not
/// exported, and span calls return `AGTRACE_ERR_SHUT_DOWN`. Thread-safe.
///
/// Blocks for at most `timeout_ms`.
#[no_mangle]
pub extern "C" fn agtrace_tracer_shutdown(
    tracer: *const agtrace_tracer_t,
    timeout_ms: u32,
    out_undelivered: *mut u64,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let t = crate::tracer::tracer(tracer)?;
        report_undelivered(
            t.shutdown(Duration::from_millis(timeout_ms.into())),
            out_undelivered,
        )
    })
}

/// Fork hook: call in the parent just before `fork()`, e.g. from a
/// `pthread_atfork` prepare handler. Parks the tracer's export threads where
/// they hold no lock the application shares, so the child inherits none
/// held. Pair it with `agtrace_tracer_fork_parent` and
/// `agtrace_tracer_fork_child`. Does nothing on a disabled or shut-down
/// tracer.
///
/// Thread-safe (nested calls from threads forking at once count, each
/// needing its `agtrace_tracer_fork_parent`). Blocks up to 1 s waiting for
/// the threads; an exporter in a slow export call is not waited for.
#[no_mangle]
pub extern "C" fn agtrace_tracer_fork_prepare(
    tracer: *const agtrace_tracer_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        crate::tracer::tracer(tracer)?.prepare_fork();
        Ok(())
    })
}

/// Fork hook: call in the parent after `fork()` returns, also when it
/// failed (a `pthread_atfork` parent handler): undoes one
/// `agtrace_tracer_fork_prepare`, and the export threads go on. Threads
/// left paused resume on their own after 10 s.
///
/// Thread-safe; does not block.
#[no_mangle]
pub extern "C" fn agtrace_tracer_fork_parent(
    tracer: *const agtrace_tracer_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        crate::tracer::tracer(tracer)?.after_fork_parent();
        Ok(())
    })
}

/// Fork hook: call in the child after `fork()` returns 0 (a `pthread_atfork`
/// child handler), before the child starts threads that trace. Gives the
/// child export threads and exporters of its own, built from the tracer's
/// settings; the parent's are never touched. Spans started before the fork
/// are exported by the parent only (ended in the child they are dropped
/// silently); spans the child starts under them keep their trace. The
/// child's counters restart at zero. Does nothing in the process that
/// created the tracer, when called again, or on a disabled or shut-down
/// tracer; if the child's exporters cannot be created (the message goes to
/// stderr) its tracer acts as disabled.
///
/// Not thread-safe: the calling thread must be the child's only thread using
/// the tracer. Not async-signal-safe (allocates, starts threads, may open
/// files). Does not block on the network.
#[no_mangle]
pub extern "C" fn agtrace_tracer_fork_child(
    tracer: *const agtrace_tracer_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        crate::tracer::tracer(tracer)?.after_fork_child();
        Ok(())
    })
}

/// Fills `*out_stats` with the tracer's counters. Thread-safe; does not
/// block.
#[no_mangle]
pub extern "C" fn agtrace_tracer_stats(
    tracer: *const agtrace_tracer_t,
    out_stats: *mut agtrace_stats_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let t = crate::tracer::tracer(tracer)?;
        if out_stats.is_null() {
            return Err(FfiError::null("out_stats"));
        }
        let s = t.stats();
        let stats = agtrace_stats_t {
            started: s.started,
            ended: s.ended,
            unsampled: s.unsampled,
            dispatched: s.dispatched,
            pending: s.pending,
            dropped_queue_full: s.dropped.queue_full,
            dropped_queue_bytes: s.dropped.queue_bytes,
            dropped_shutdown: s.dropped.shutdown,
            exported: s.exporters.iter().map(|e| e.exported).sum(),
            export_dropped: s.exporters.iter().map(|e| e.dropped.total()).sum(),
            misuse_bad_name: s.misuse.bad_name,
            misuse_bad_value: s.misuse.bad_value,
            misuse_ended_twice: s.misuse.ended_twice,
            misuse_bad_call: s.misuse.bad_call,
            misuse_mask_failed: s.misuse.mask_failed,
        };
        // SAFETY: non-NULL and writable (documented).
        unsafe { *out_stats = stats };
        Ok(())
    })
}

/// Every counter, per exporter included, as a JSON object (NUL-terminated,
/// free with `agtrace_string_free`): among them each exporter's disk spool
/// counters (`spooled`, `replayed`, `lost_from_spool`, `spool_corrupt`),
/// which `agtrace_stats_t` does not carry. Thread-safe; does not block.
#[no_mangle]
pub extern "C" fn agtrace_tracer_stats_json(
    tracer: *const agtrace_tracer_t,
    out_json: *mut *mut c_char,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let t = crate::tracer::tracer(tracer)?;
        if out_json.is_null() {
            return Err(FfiError::null("out_json"));
        }
        let json = stats_json(&t.stats());
        // SAFETY: non-NULL and writable (documented).
        unsafe { *out_json = owned_c_string(json.to_string()) };
        Ok(())
    })
}

/// Every counter, per exporter included, as a JSON object: the one encoding
/// both boundaries (C and uniffi) hand out.
pub(crate) fn stats_json(s: &agtrace_core::Stats) -> serde_json::Value {
    let exporters: Vec<_> = s
        .exporters
        .iter()
        .map(|e| {
            serde_json::json!({
                "name": e.name, "received": e.received, "exported": e.exported,
                "retried": e.retried, "pending": e.pending,
                "spooled": e.spooled, "replayed": e.replayed,
                "lost_from_spool": e.lost_from_spool, "spool_corrupt": e.spool_corrupt,
                "breaker_open": e.breaker == agtrace_core::BreakerState::Open,
                "dropped": {
                    "queue_full": e.dropped.queue_full, "breaker_open": e.dropped.breaker_open,
                    "oversize": e.dropped.oversize, "rejected": e.dropped.rejected,
                    "failed": e.dropped.failed, "shutdown": e.dropped.shutdown,
                },
            })
        })
        .collect();
    serde_json::json!({
        "started": s.started, "ended": s.ended, "unsampled": s.unsampled,
        "dispatched": s.dispatched, "pending": s.pending,
        "dropped": {
            "queue_full": s.dropped.queue_full, "queue_bytes": s.dropped.queue_bytes,
            "shutdown": s.dropped.shutdown,
        },
        "exporters": exporters,
        "misuse": agtrace_core::Misuse::ALL
            .into_iter()
            .map(|k| (k.name().to_string(), serde_json::json!(s.misuse.get(k))))
            .collect::<serde_json::Map<_, _>>(),
    })
}

/// Counts one misuse of `kind` (an `AGTRACE_MISUSE_*` code; an unknown code
/// counts as `AGTRACE_MISUSE_BAD_CALL`) in the tracer's `stats`, and logs
/// `detail` to stderr the first time the tracer sees that kind. For the
/// language SDKs, which report misuse they detect before calling the core
/// (and raise instead in strict mode, see `agtrace_tracer_strict`); the
/// core counts what it detects itself. `detail` may be `{NULL, 0}`; a
/// NULL tracer is ignored.
///
/// Thread-safe; lock-free, blocks only for that one write.
#[no_mangle]
pub extern "C" fn agtrace_misuse_report(
    tracer: *const agtrace_tracer_t,
    kind: u32,
    detail: agtrace_str_t,
) {
    guard_value((), || {
        if let Ok(t) = crate::tracer::tracer(tracer) {
            let detail = detail.opt("detail").ok().flatten().unwrap_or("");
            t.report_misuse(agtrace_core::Misuse::from_code(kind), detail);
        }
    });
}

/// Whether the tracer's `strict` setting (`AGTRACE_STRICT`) is on: the
/// SDKs then raise on misuse instead of counting it. False for NULL.
///
/// Thread-safe; does not block.
#[no_mangle]
pub extern "C" fn agtrace_tracer_strict(tracer: *const agtrace_tracer_t) -> bool {
    guard_value(false, || {
        crate::tracer::tracer(tracer).is_ok_and(agtrace_core::Tracer::strict)
    })
}

/// Changes the default sampling rate of a live tracer (0.0 to 1.0).
/// Thread-safe.
///
/// Does not block.
#[no_mangle]
pub extern "C" fn agtrace_tracer_set_sampling_rate(
    tracer: *const agtrace_tracer_t,
    rate: f64,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        crate::tracer::tracer(tracer)?
            .set_sampling_rate(rate)
            .map_err(|e| FfiError::invalid("rate", e))
    })
}

/// Adds a tag to every span exported from now on. Thread-safe.
///
/// Does not block.
#[no_mangle]
pub extern "C" fn agtrace_tracer_add_tag(
    tracer: *const agtrace_tracer_t,
    tag: agtrace_str_t,
    out_error: *mut *mut agtrace_error_t,
) -> agtrace_status_t {
    guard(out_error, || {
        let t = crate::tracer::tracer(tracer)?;
        t.add_tags([tag.get("tag")?]);
        Ok(())
    })
}
