//! Writes `include/agtrace.h` from the `ffi` crate's sources and the core's
//! protocol codes (`make header`). With `--check`, writes nothing and fails
//! when the committed header differs from what the code would generate
//! (`make test` runs this). With `--codes LANG OUT` (`python`, `kotlin`,
//! `swift`), writes that binding's copy of the core's boundary constants to
//! `OUT` instead (each binding's build runs it).

mod codes;

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, lang, out] = &args[..] {
        if flag == "--codes" {
            let Some(text) = codes::binding(lang) else {
                eprintln!("agtrace-header: --codes takes python, kotlin or swift, not {lang:?}");
                return ExitCode::FAILURE;
            };
            if let Err(e) = std::fs::write(out, text) {
                eprintln!("agtrace-header: cannot write {out}: {e}");
                return ExitCode::FAILURE;
            }
            return ExitCode::SUCCESS;
        }
    }
    let check = args.iter().any(|a| a == "--check");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let crate_dir = root.join("ffi");
    let header = root.join("include/agtrace.h");
    let mut config = match cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("agtrace-header: ffi/cbindgen.toml: {e}");
            return ExitCode::FAILURE;
        }
    };
    config.trailer = Some(codes::c_header() + config.trailer.as_deref().unwrap_or(""));
    let bindings = match cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
    {
        Ok(b) => b,
        Err(e) => {
            eprintln!("agtrace-header: cannot generate the header: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    if check {
        let committed = std::fs::read(&header).unwrap_or_default();
        if committed != generated {
            eprintln!(
                "agtrace-header: include/agtrace.h is out of date with ffi/src; run `make header` and commit it"
            );
            return ExitCode::FAILURE;
        }
        return ExitCode::SUCCESS;
    }
    if let Err(e) = std::fs::write(&header, generated) {
        eprintln!("agtrace-header: cannot write {}: {e}", header.display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
