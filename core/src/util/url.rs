//! URLs in text meant for logs: credentials are hidden.

use std::borrow::Cow;

/// `text` with the userinfo of every URL in it hidden: `scheme://user:pass@`
/// becomes `scheme://user:***@`, and a userinfo without a password (often a
/// token) becomes `***`. Borrowed when there is none.
pub(crate) fn hide_userinfo(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut done = 0;
    let mut from = 0;
    while let Some(i) = text[from..].find("://") {
        let start = from + i + 3;
        let authority_len = text[start..]
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | ')' | '>') || c.is_whitespace()
            })
            .unwrap_or(text.len() - start);
        let authority = &text[start..start + authority_len];
        from = start + authority_len;
        let Some(at) = authority.rfind('@') else {
            continue;
        };
        let userinfo = &authority[..at];
        let shown_len = userinfo.find(':').map_or(0, |colon| colon + 1);
        out.push_str(&text[done..start + shown_len]);
        out.push_str("***");
        done = start + at;
    }
    if done == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[done..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::hide_userinfo;

    #[test]
    fn passwords_and_tokens_in_urls_are_hidden() {
        let cases = [
            (
                "export failed: http://admin:S3cr3t@host/v1/traces: HTTP 400",
                "export failed: http://admin:***@host/v1/traces: HTTP 400",
            ),
            (
                "error sending request for url (https://tok3n@h:4318/v1/traces)",
                "error sending request for url (https://***@h:4318/v1/traces)",
            ),
            (
                "a http://u:p@a/ and grpc://x:y:z@b:4317 too",
                "a http://u:***@a/ and grpc://x:***@b:4317 too",
            ),
            ("http://host:4318/v1/traces", "http://host:4318/v1/traces"),
            (
                "mail me at a@b, see http://host/x@y",
                "mail me at a@b, see http://host/x@y",
            ),
            ("no url", "no url"),
            ("http://", "http://"),
        ];
        for (text, want) in cases {
            assert_eq!(hide_userinfo(text), want, "{text}");
        }
    }
}
