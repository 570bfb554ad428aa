//! The one optional process-wide default tracer, used by the language
//! bindings. Nothing in the core reads it implicitly.

use crate::Tracer;
use std::sync::RwLock;

static DEFAULT: RwLock<Option<Tracer>> = RwLock::new(None);

/// Installs `tracer` as the default, returning the previous one.
pub fn set_default_tracer(tracer: Tracer) -> Option<Tracer> {
    DEFAULT
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .replace(tracer)
}

/// The default tracer, if one is installed.
pub fn default_tracer() -> Option<Tracer> {
    DEFAULT.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Removes and returns the default tracer.
pub fn take_default_tracer() -> Option<Tracer> {
    DEFAULT.write().unwrap_or_else(|e| e.into_inner()).take()
}
