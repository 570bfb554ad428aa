//! JSON text nested deeper than the parser's limit: the too-deep parts are
//! replaced by a marker so the rest of the value can still be recorded.

/// How many levels of arrays and objects the core parses: `serde_json`'s
/// recursion limit of 128 leaves 127 containers, the value below them
/// (here, the marker) being the 128th level.
pub(crate) const MAX_JSON_DEPTH: usize = 127;

/// What replaces a container nested deeper than [`MAX_JSON_DEPTH`] (the
/// SDKs' own marker).
pub(crate) const TOO_DEEP: &str = "\"<too deep>\"";

/// `text` with every array or object that would open below `max` levels
/// replaced by [`TOO_DEEP`]; `None` when nothing is that deep. One pass over
/// the bytes, strings skipped; text that is not JSON comes out as it went in,
/// apart from the cut.
pub(crate) fn cut_json_depth(text: &str, max: usize) -> Option<String> {
    let b = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => i = string_end(b, i),
            b'[' | b'{' if depth == max => {
                let end = container_end(b, i);
                let o = out.get_or_insert_with(|| String::with_capacity(i + 16));
                o.push_str(&text[copied..i]);
                o.push_str(TOO_DEEP);
                copied = end;
                i = end;
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    out.map(|mut o| {
        o.push_str(&text[copied..]);
        o
    })
}

/// The index of the closing quote of the string opening at `start`.
fn string_end(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    b.len()
}

/// The index just past the container opening at `start` (the text's end if
/// it never closes).
fn container_end(b: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'"' => i = string_end(b, i),
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}\"x\"{}", "[{\"k\":".repeat(depth), "}]".repeat(depth))
    }

    #[test]
    fn values_too_deep_to_parse_are_cut_at_the_limit() {
        let deep = nested(10_000);
        assert!(serde_json::from_str::<serde_json::Value>(&deep).is_err());
        let cut = cut_json_depth(&deep, MAX_JSON_DEPTH).expect("cut");
        let v: serde_json::Value = serde_json::from_str(&cut).expect("parses");
        let text = v.to_string();
        assert_eq!(text.matches("<too deep>").count(), 1);
        assert_eq!(
            text.matches('[').count() + text.matches('{').count(),
            MAX_JSON_DEPTH
        );
    }

    #[test]
    fn shallow_values_strings_and_siblings_are_kept() {
        assert_eq!(cut_json_depth(&nested(63), MAX_JSON_DEPTH), None);
        assert_eq!(
            cut_json_depth(r#"["[[[[", {"a": "}}}"}]"#, 1),
            Some(r#"["[[[[", "<too deep>"]"#.to_string())
        );
        assert_eq!(
            cut_json_depth(r#"[[1], 2, [3, [4]]]"#, 1).as_deref(),
            Some(r#"["<too deep>", 2, "<too deep>"]"#)
        );
        assert_eq!(
            cut_json_depth(r#"["a\"[", [1"#, 1).as_deref(),
            Some(r#"["a\"[", "<too deep>""#)
        );
    }
}
