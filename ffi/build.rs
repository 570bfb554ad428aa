//! Gives libagtrace.so a versioned SONAME (libagtrace.so.MAJOR), so programs
//! record that name instead of the library's path and the SDK can be moved or
//! installed anywhere.

fn main() {
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libagtrace.so.{major}");
    }
}
