//! `cargo run -p uniffi-bindgen -- generate --library <libagtrace.so>
//! --language python --out-dir <dir>`: the generator from the same uniffi
//! version the library is built with, so bindings always match the runtime.

fn main() {
    uniffi::uniffi_bindgen_main()
}
