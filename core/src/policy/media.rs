//! Inline media in string values: base64 images, audio, video and PDFs that
//! an agent passes to a model (`data:image/png;base64,...` in an OpenAI or
//! Anthropic message, a base64 field in a tool's arguments) are replaced by
//! a short placeholder before any exporter sees them.
//!
//! Run by the [`Redactor`](super::redact::Redactor) on the collector thread,
//! first of its rules on every string value (attributes, array elements,
//! events' and links' attributes, span name and status description), so the
//! size cap and truncation later see the placeholder, not a payload cut in
//! half.
//!
//! # What is media
//!
//! - A **data URL** with a base64 payload: `data:` + an optional media type
//!   (`type/subtype`, parameters allowed) + `;base64,` + the payload. The
//!   whole URL is replaced, whatever its size. `data:` and `;base64,` are
//!   matched as every encoder writes them, in lower case. The media type
//!   shown is the one the payload's first bytes identify (see below), else
//!   the declared one (lower-cased, parameters dropped), else
//!   `application/octet-stream`. A data URL whose payload decodes to
//!   nothing, or whose media type holds anything but token characters, is
//!   left alone (code such as `"data:image/png;base64," + b64`).
//! - A **bare base64 run** of at least [`MIN_BARE_BASE64`] characters
//!   (1 KiB: a short identifier, hash or token never gets there) whose
//!   decoded first bytes are one of the known types below. A run of unknown
//!   content is left alone: base64 of arbitrary bytes is not assumed to be
//!   media. A run is maximal: it starts and ends at a character outside the
//!   alphabet, so a payload glued to a word (`img_iVBOR...`) is not found.
//!
//! Payloads use the standard or the URL-safe alphabet (mixed is fine),
//! optional `=` padding, and may have their `/` written `\/` (a JSON escape
//! some encoders use). A payload split by line breaks is found only up to its
//! first break.
//!
//! Known types, by magic number: PNG, JPEG, GIF, WEBP (`image/*`); WAV, MP3
//! (ID3 tag or MPEG layer III frame), OGG, FLAC (`audio/*`); the ISO media
//! family (`ftyp`): `audio/mp4` for M4A/M4B brands, `image/heic`,
//! `image/avif`, `video/quicktime`, otherwise `video/mp4`; PDF
//! (`application/pdf`).
//!
//! # What replaces it
//!
//! [`MediaPolicy::Placeholder`] (the default):
//! `<media image/png 48213 bytes sha256:1f2e3d4c5b6a7980>`: the media type,
//! the decoded size, and the first 16 hex digits of the SHA-256 of the
//! decoded bytes (so the same image reads the same in a data URL and as bare
//! base64, and across spans). [`MediaPolicy::Drop`]:
//! `<media image/png 48213 bytes dropped>`, no hash (nothing derived from
//! the content leaves, and the payload is only counted, not decoded).
//! [`MediaPolicy::Keep`] exports payloads as they are, and scans nothing.
//!
//! A placeholder holds no `"`, `\` or control character, so media inside a
//! JSON text (`input.value`, `gen_ai.input.messages`, JSON embedded in JSON
//! strings) is replaced in place and the JSON stays valid, with every other
//! byte as it was.
//!
//! # Cost
//!
//! Text without `;base64,` and shorter than [`MIN_BARE_BASE64`] costs one
//! SIMD substring search. Longer text is probed every [`MIN_BARE_BASE64`]
//! bytes (a run that long covers a probe point), so ordinary prose costs a
//! few byte lookups per KiB. Nothing is allocated unless media is found.

use memchr::memmem;
use std::fmt::Write;

/// What happens to inline media (setting `AGTRACE_MEDIA`, key `media` of
/// the `[redaction]` section).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaPolicy {
    /// `<media TYPE SIZE bytes sha256:HASH>`.
    #[default]
    Placeholder,
    /// Exported as it is.
    Keep,
    /// `<media TYPE SIZE bytes dropped>`.
    Drop,
}

impl MediaPolicy {
    /// Parses `placeholder`, `keep` or `drop` (any case); the error names
    /// `setting`.
    pub(crate) fn parse(setting: &str, v: &str) -> Result<Self, crate::Error> {
        match v.to_ascii_lowercase().as_str() {
            "placeholder" => Ok(MediaPolicy::Placeholder),
            "keep" => Ok(MediaPolicy::Keep),
            "drop" => Ok(MediaPolicy::Drop),
            _ => Err(crate::Error::config(
                setting,
                v,
                "expected placeholder, keep or drop",
            )),
        }
    }
}

/// The shortest bare base64 run looked at, in characters.
pub const MIN_BARE_BASE64: usize = 1024;

/// Hex digits of the SHA-256 shown in a placeholder.
const HASH_HEX: usize = 16;

/// How far before `;base64,` the `data:` may start (a media type with its
/// parameters).
const MAX_MEDIA_TYPE: usize = 128;

const DATA: &[u8] = b"data:";
const BASE64_MARK: &[u8] = b";base64,";

/// Not a base64 character.
const NOT: u8 = 0xFF;

/// Sextet of each byte in the standard and URL-safe alphabets, else [`NOT`].
static SEXTET: [u8; 256] = {
    let mut t = [NOT; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'-' as usize] = 62;
    t[b'/' as usize] = 63;
    t[b'_' as usize] = 63;
    t
};

/// Finds and replaces inline media under one policy other than `Keep`.
pub(crate) struct MediaScanner {
    policy: MediaPolicy,
    mark: memmem::Finder<'static>,
}

/// One payload found: the bytes it spans in the text and how to show it.
struct Found<'a> {
    start: usize,
    end: usize,
    /// Known by magic number.
    sniffed: Option<&'static str>,
    /// A data URL's declared media type, as written, parameters cut.
    declared: Option<&'a [u8]>,
    /// The payload's characters (escapes and padding included).
    payload: &'a [u8],
    /// Decoded size in bytes.
    size: usize,
}

impl MediaScanner {
    /// `None` for [`MediaPolicy::Keep`]: nothing to scan.
    pub(crate) fn new(policy: MediaPolicy) -> Option<Self> {
        (policy != MediaPolicy::Keep).then(|| MediaScanner {
            policy,
            mark: memmem::Finder::new(BASE64_MARK),
        })
    }

    /// `text` with each media payload replaced and how many there were, or
    /// `None` (nothing allocated) when it holds none.
    pub(crate) fn replace(&self, text: &str) -> Option<(String, u64)> {
        let b = text.as_bytes();
        let mut found: Vec<Found<'_>> = Vec::new();
        let mut from = 0;
        for mark in self.mark.find_iter(b) {
            if mark < from {
                continue;
            }
            if let Some(url) = data_url(b, from, mark) {
                bare_runs(b, from, url.start, &mut found);
                from = url.end;
                found.push(url);
            }
        }
        bare_runs(b, from, b.len(), &mut found);
        if found.is_empty() {
            return None;
        }
        // A placeholder is at most about 80 bytes.
        let removed: usize = found.iter().map(|f| f.end - f.start).sum();
        let mut out = String::with_capacity(text.len() - removed + 96 * found.len());
        let mut last = 0;
        for f in &found {
            // Both ends are ASCII bytes of the text, or its ends.
            out.push_str(&text[last..f.start]);
            self.placeholder(f, &mut out);
            last = f.end;
        }
        out.push_str(&text[last..]);
        Some((out, found.len() as u64))
    }

    fn placeholder(&self, f: &Found<'_>, out: &mut String) {
        out.push_str("<media ");
        match (f.sniffed, f.declared) {
            (Some(t), _) => out.push_str(t),
            (None, Some(d)) => out.extend(
                d.iter()
                    .filter(|c| **c != b'\\')
                    .map(|c| char::from(c.to_ascii_lowercase())),
            ),
            (None, None) => out.push_str("application/octet-stream"),
        }
        let _ = write!(out, " {} bytes ", f.size);
        match self.policy {
            MediaPolicy::Placeholder => {
                out.push_str("sha256:");
                for byte in &digest(f.payload)[..HASH_HEX / 2] {
                    let _ = write!(out, "{byte:02x}");
                }
                out.push('>');
            }
            MediaPolicy::Drop | MediaPolicy::Keep => out.push_str("dropped>"),
        }
    }
}

/// The data URL whose `;base64,` is at `mark`, if the text from `from` on
/// holds one there.
fn data_url(b: &[u8], from: usize, mark: usize) -> Option<Found<'_>> {
    let window = mark.saturating_sub(MAX_MEDIA_TYPE + DATA.len()).max(from);
    let start = window + memmem::rfind(&b[window..mark], DATA)?;
    if start > 0 && b[start - 1].is_ascii_alphanumeric() {
        return None; // a word ending in `data:` (`metadata:`), not a URL
    }
    let media_type = &b[start + DATA.len()..mark];
    // RFC 2045 token characters, `/`, parameters, and `\/` escapes.
    let token = |c: &u8| c.is_ascii_alphanumeric() || b"!#$&-^_.+/;=\\".contains(c);
    if !media_type.iter().all(token) {
        return None;
    }
    let payload_start = mark + BASE64_MARK.len();
    let end = payload_end(b, payload_start);
    let payload = &b[payload_start..end];
    let size = decoded_size(payload);
    if size == 0 {
        return None;
    }
    let essence = media_type.split(|c| *c == b';').next().unwrap_or_default();
    Some(Found {
        start,
        end,
        sniffed: sniff(payload),
        declared: essence.contains(&b'/').then_some(essence),
        payload,
        size,
    })
}

/// Whether byte `i` belongs to a base64 run: an alphabet character, or the
/// `\` of a `\/` escape.
fn in_run(b: &[u8], i: usize) -> bool {
    SEXTET[b[i] as usize] != NOT || (b[i] == b'\\' && b.get(i + 1) == Some(&b'/'))
}

/// The end of the base64 run starting at `from`, with its `=` padding.
fn payload_end(b: &[u8], from: usize) -> usize {
    let mut end = from;
    while end < b.len() && in_run(b, end) {
        end += 1;
    }
    let mut pad = 0;
    while end > from && pad < 2 && b.get(end) == Some(&b'=') {
        end += 1;
        pad += 1;
    }
    end
}

/// Pushes every bare base64 run of known media within `b[from..to]`, in
/// order. A run of [`MIN_BARE_BASE64`] characters covers one of the probe
/// points `from + MIN - 1 + k * MIN`; only probes that land on a base64
/// character are extended to their run.
fn bare_runs<'a>(b: &'a [u8], from: usize, to: usize, found: &mut Vec<Found<'a>>) {
    let mut base = from;
    let mut probe = base + MIN_BARE_BASE64 - 1;
    while probe < to {
        if !in_run(b, probe) {
            probe += MIN_BARE_BASE64;
            continue;
        }
        let mut start = probe;
        while start > base && in_run(b, start - 1) {
            start -= 1;
        }
        let end = payload_end(b, probe).min(to);
        let run = &b[start..end];
        if end - start >= MIN_BARE_BASE64 {
            if let Some(t) = sniff(run) {
                found.push(Found {
                    start,
                    end,
                    sniffed: Some(t),
                    declared: None,
                    payload: run,
                    size: decoded_size(run),
                });
            }
        }
        // No run starts inside this one; the next may start right after it.
        base = end;
        probe = base + MIN_BARE_BASE64;
    }
}

/// Bytes the payload decodes to (a trailing partial byte does not count).
fn decoded_size(payload: &[u8]) -> usize {
    payload
        .iter()
        .filter(|c| SEXTET[**c as usize] != NOT)
        .count()
        * 6
        / 8
}

/// Decodes base64 characters, skipping escapes and padding, into `out`
/// chunk by chunk (each at most 3 KiB).
fn decode(payload: &[u8], mut out: impl FnMut(&[u8]) -> bool) {
    let mut buf = [0u8; 3072];
    let mut n = 0;
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in payload {
        let v = SEXTET[c as usize];
        if v == NOT {
            continue;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            buf[n] = (acc >> bits) as u8;
            n += 1;
            if n == buf.len() {
                if !out(&buf) {
                    return;
                }
                n = 0;
            }
        }
    }
    out(&buf[..n]);
}

/// The media type the payload's first bytes identify, if any.
fn sniff(payload: &[u8]) -> Option<&'static str> {
    // The longest check needs 12 bytes: 16 characters, 32 with `\/` escapes.
    let mut head = [0u8; 12];
    let mut len = 0;
    decode(&payload[..payload.len().min(32)], |chunk| {
        len = chunk.len().min(head.len());
        head[..len].copy_from_slice(&chunk[..len]);
        false
    });
    magic(&head[..len])
}

/// The media type of a file starting with `h`, if known.
fn magic(h: &[u8]) -> Option<&'static str> {
    let at = |i: usize, m: &[u8]| h.get(i..i + m.len()) == Some(m);
    Some(match h {
        _ if at(0, b"\x89PNG\r\n\x1a\n") => "image/png",
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        _ if at(0, b"GIF87a") || at(0, b"GIF89a") => "image/gif",
        _ if at(0, b"RIFF") && at(8, b"WEBP") => "image/webp",
        _ if at(0, b"RIFF") && at(8, b"WAVE") => "audio/wav",
        _ if at(0, b"ID3") => "audio/mpeg",
        // An MPEG audio frame sync with layer III (`FF FB`, `FF F3`, ...).
        [0xFF, b1, ..] if b1 & 0xE0 == 0xE0 && (b1 >> 1) & 3 == 1 => "audio/mpeg",
        _ if at(0, b"OggS") => "audio/ogg",
        _ if at(0, b"fLaC") => "audio/flac",
        _ if at(0, b"%PDF-") => "application/pdf",
        _ if at(4, b"ftyp") => match h.get(8..12) {
            Some(b"M4A " | b"M4B ") => "audio/mp4",
            Some(b"heic" | b"heix" | b"mif1") => "image/heic",
            Some(b"avif") => "image/avif",
            Some(b"qt  ") => "video/quicktime",
            _ => "video/mp4",
        },
        _ => return None,
    })
}

/// SHA-256 of the decoded payload.
fn digest(payload: &[u8]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    decode(payload, |chunk| {
        ctx.update(chunk);
        true
    });
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::redact::{RedactionConfig, Redactor};
    use crate::{Attribute, SpanRecord, Status, Value};
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;
    use serde_json::{json, Value as Json};

    fn scanner(policy: MediaPolicy) -> MediaScanner {
        MediaScanner::new(policy).expect("scans")
    }

    fn replaced(text: &str) -> Option<String> {
        scanner(MediaPolicy::Placeholder)
            .replace(text)
            .map(|(t, _)| t)
    }

    /// A file of `len` bytes starting with `header`.
    fn file(header: &[u8], len: usize) -> Vec<u8> {
        let mut f = header.to_vec();
        f.extend((f.len()..len).map(|i| (i * 7 + i / 251) as u8));
        f
    }

    fn hash16(bytes: &[u8]) -> String {
        let d = ring::digest::digest(&ring::digest::SHA256, bytes);
        d.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    fn placeholder(mime: &str, bytes: &[u8]) -> String {
        format!(
            "<media {mime} {} bytes sha256:{}>",
            bytes.len(),
            hash16(bytes)
        )
    }

    const KNOWN: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "image/png"),
        (b"\xFF\xD8\xFF\xE0\0\x10JFIF", "image/jpeg"),
        (b"GIF89a", "image/gif"),
        (b"GIF87a", "image/gif"),
        (b"RIFF\x24\x10\0\0WEBPVP8 ", "image/webp"),
        (b"RIFF\x24\x10\0\0WAVEfmt ", "audio/wav"),
        (b"ID3\x04\0\0", "audio/mpeg"),
        (b"\xFF\xFB\x90\x64", "audio/mpeg"),
        (b"\xFF\xF3\x48\xC4", "audio/mpeg"),
        (b"OggS\0\x02", "audio/ogg"),
        (b"fLaC\0\0\0\x22", "audio/flac"),
        (b"\0\0\0\x18ftypisom", "video/mp4"),
        (b"\0\0\0\x20ftypM4A ", "audio/mp4"),
        (b"\0\0\0\x18ftypheic", "image/heic"),
        (b"\0\0\0\x1cftypavif", "image/avif"),
        (b"\0\0\0\x14ftypqt  ", "video/quicktime"),
        (b"%PDF-1.7\n", "application/pdf"),
    ];

    #[test]
    fn each_known_type_is_identified_bare_and_as_a_data_url() {
        for (header, mime) in KNOWN {
            let bytes = file(header, 1200);
            let b64 = STANDARD.encode(&bytes);
            let want = placeholder(mime, &bytes);
            let bare = format!("look: {b64} (attached)");
            assert_eq!(
                replaced(&bare).as_deref(),
                Some(format!("look: {want} (attached)").as_str()),
                "{mime} bare"
            );
            // The bytes win over a declared type.
            let url = format!("[data:application/octet-stream;base64,{b64}]");
            assert_eq!(replaced(&url), Some(format!("[{want}]")), "{mime} URL");
            // A data URL of any size.
            let small = file(header, 20);
            let url = format!("data:;base64,{}", STANDARD.encode(&small));
            assert_eq!(replaced(&url), Some(placeholder(mime, &small)), "{mime}");
        }
    }

    #[test]
    fn the_hash_is_sha256_of_the_decoded_bytes() {
        // Reference from Python's hashlib.
        let bytes = [b"\x89PNG\r\n\x1a\n".as_slice(), &[0u8; 0]].concat();
        let bytes: Vec<u8> = bytes
            .into_iter()
            .chain((0..=255u8).cycle().take(1024))
            .collect();
        let text = STANDARD.encode(&bytes);
        assert_eq!(text.len(), 1376);
        assert_eq!(
            replaced(&text).unwrap(),
            "<media image/png 1032 bytes sha256:a9c8a46924afca4e>"
        );
        // The URL-safe alphabet, unpadded, and `\/` escapes decode the same.
        let url_safe = URL_SAFE_NO_PAD.encode(&bytes);
        let escaped = text.replace('/', "\\/");
        assert_ne!(url_safe, text);
        assert!(escaped.contains("\\/"));
        for variant in [url_safe, escaped] {
            assert_eq!(
                replaced(&variant).unwrap(),
                "<media image/png 1032 bytes sha256:a9c8a46924afca4e>"
            );
        }
    }

    #[test]
    fn data_urls_of_unknown_content_show_the_declared_type() {
        let bytes = file(b"\x1aE\xdf\xa3", 300);
        let b64 = STANDARD.encode(&bytes);
        let hash = hash16(&bytes);
        for (url, mime) in [
            (format!("data:audio/webm;base64,{b64}"), "audio/webm"),
            (
                format!("data:Image/X-Custom;name=a.bin;base64,{b64}"),
                "image/x-custom",
            ),
            (
                format!("data:image\\/svg+xml;base64,{b64}"),
                "image/svg+xml",
            ),
            (format!("data:;base64,{b64}"), "application/octet-stream"),
            (
                format!("data:;charset=utf-8;base64,{b64}"),
                "application/octet-stream",
            ),
        ] {
            assert_eq!(
                replaced(&url).unwrap(),
                format!("<media {mime} 300 bytes sha256:{hash}>")
            );
        }
        // Bare base64 of unknown content is not assumed to be media.
        assert_eq!(replaced(&STANDARD.encode(file(b"", 3000))), None);
    }

    #[test]
    fn media_inside_json_text_is_replaced_and_the_json_stays_valid() {
        let bytes = file(b"\x89PNG\r\n\x1a\n", 5000);
        let b64 = STANDARD.encode(&bytes);
        let want = placeholder("image/png", &bytes);
        let message = |url: &str, raw: &str| {
            json!([{"role": "user", "content": [
                {"type": "text", "text": "What is in this image? data: below"},
                {"type": "image_url", "image_url": {"url": url, "detail": "low"}},
                {"type": "input_audio", "input_audio": {"data": raw, "format": "png"}},
            ]}])
        };
        let text = message(&format!("data:image/png;base64,{b64}"), &b64).to_string();
        let expected = message(&want, &want);
        let out = replaced(&text).expect("replaced");
        assert_eq!(serde_json::from_str::<Json>(&out).unwrap(), expected);
        // Every other byte is as it was.
        assert_eq!(out, expected.to_string());

        // With `/` escaped, as some encoders write JSON.
        let escaped = text.replace('/', "\\/");
        let out = replaced(&escaped).expect("replaced");
        let back: Json = serde_json::from_str(&out).unwrap();
        assert_eq!(back[0]["content"][1]["image_url"]["url"], json!(want));
        assert_eq!(back[0]["content"][2]["input_audio"]["data"], json!(want));

        // JSON inside a JSON string (a tool's arguments inside a message).
        let outer = json!({"name": "describe", "arguments": text}).to_string();
        let out = replaced(&outer).expect("replaced");
        let back: Json = serde_json::from_str(&out).unwrap();
        let inner: Json = serde_json::from_str(back["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(inner, expected);
    }

    #[test]
    fn short_runs_and_text_that_is_not_media_are_left_alone() {
        let png = STANDARD.encode(file(b"\x89PNG\r\n\x1a\n", 2000));
        let prose = "The data: 42 points; see metadata:x and base64, then ".repeat(100);
        let hex = "0123456789abcdef".repeat(300);
        let cases = [
            png[..MIN_BARE_BASE64 - 1].to_string(),
            format!("{} {}", &png[..800], &png[800..1600]),
            format!("img_{}", &png[..1600]),
            "data: 42".into(),
            "data:text/plain,hello".into(),
            "\"data:image/png;base64,\" + b64".into(),
            "data:image/png;base64,".into(),
            "data:image/png;base64,A".into(),
            "data:image png;base64,iVBORw0KGgo=".into(),
            "data:image/png\";base64,iVBORw0KGgo=".into(),
            format!("data:image/{};base64,iVBORw0KGgo=", "x".repeat(200)),
            "metadata:image/png;base64,iVBORw0KGgo=".into(),
            prose,
            hex,
            "a".repeat(5000),
            String::new(),
        ];
        for text in &cases {
            assert_eq!(replaced(text), None, "{text:.80}");
        }
    }

    #[test]
    fn runs_are_found_wherever_they_start_and_end() {
        // The shortest run looked at, at every offset around the probes.
        let bytes = file(b"GIF89a", MIN_BARE_BASE64 / 4 * 3);
        let gif = STANDARD.encode(&bytes);
        assert_eq!(gif.len(), MIN_BARE_BASE64);
        let want = placeholder("image/gif", &bytes);
        for offset in 0..2 * MIN_BARE_BASE64 + 3 {
            // Words, the last one ending in a space just before the payload.
            let mut before = "ab ".repeat(offset / 3 + 1);
            before.truncate(offset);
            if before.pop().is_some() {
                before.push(' ');
            }
            for after in ["", " tail", "\"", "\n"] {
                let text = format!("{before}{gif}{after}");
                assert_eq!(
                    replaced(&text),
                    Some(format!("{before}{want}{after}")),
                    "offset {offset}"
                );
            }
        }
        // Padding of every length, and payloads one after another.
        let pieces: Vec<(String, String)> = (0..3)
            .map(|extra| {
                let b = file(b"%PDF-1.4", 900 + extra);
                (STANDARD.encode(&b), placeholder("application/pdf", &b))
            })
            .collect();
        let url = format!("data:application/pdf;base64,{}", pieces[0].0);
        let text = format!("{url},{} {url}|{}", pieces[1].0, pieces[2].0);
        let want = format!(
            "{},{} {}|{}",
            pieces[0].1, pieces[1].1, pieces[0].1, pieces[2].1
        );
        let (out, n) = scanner(MediaPolicy::Placeholder).replace(&text).unwrap();
        assert_eq!((out, n), (want, 4));
    }

    #[test]
    fn a_huge_payload_is_replaced_whole() {
        let bytes = file(b"\xFF\xD8\xFF\xDB", 8 << 20);
        let text = json!({"image": format!("data:image/jpeg;base64,{}", STANDARD.encode(&bytes))})
            .to_string();
        let out = replaced(&text).unwrap();
        assert_eq!(
            out,
            json!({"image": placeholder("image/jpeg", &bytes)}).to_string()
        );
        assert!(out.contains(" 8388608 bytes "), "{out}");
    }

    #[test]
    fn drop_shows_type_and_size_without_a_hash() {
        let bytes = file(b"OggS", 4000);
        let text = format!("a {} b", STANDARD.encode(&bytes));
        let (out, n) = scanner(MediaPolicy::Drop).replace(&text).unwrap();
        assert_eq!(out, "a <media audio/ogg 4000 bytes dropped> b");
        assert_eq!(n, 1);
    }

    fn record(attrs: Vec<Attribute>) -> SpanRecord {
        let mut r = SpanRecord::blank();
        r.attributes = attrs.into_iter().collect();
        r
    }

    #[test]
    fn the_redactor_replaces_media_before_its_other_rules() {
        let bytes = file(b"\x89PNG\r\n\x1a\n", 100_000);
        let url = format!("data:image/png;base64,{}", STANDARD.encode(&bytes));
        let want = placeholder("image/png", &bytes);
        let input = json!({"prompt": "describe", "image": url, "api_key": "k"}).to_string();
        let attrs = || {
            vec![
                Attribute::new("input.value", input.clone()),
                Attribute::new("app.images", vec![url.clone(), "x".into()]),
            ]
        };
        let rd = Redactor::new(&RedactionConfig::default()).unwrap();
        let mut r = record(attrs());
        r.name = format!("describe {url}").into();
        r.status = Status::Error(format!("bad image {url}").into());
        rd.apply(&mut r);
        let value: Json =
            serde_json::from_str(r.attribute("input.value").unwrap().as_str().unwrap()).unwrap();
        assert_eq!(
            value,
            json!({"prompt": "describe", "image": want, "api_key": "[REDACTED]"}),
            "a placeholder, not a payload cut at the size cap"
        );
        assert_eq!(
            r.attribute("app.images"),
            Some(&Value::from(vec![want.clone(), "x".into()]))
        );
        assert_eq!(r.name, format!("describe {want}"));
        assert_eq!(r.status, Status::Error(format!("bad image {want}").into()));
        let stats = rd.stats();
        assert_eq!(stats.get("media"), 4);
        assert_eq!(stats.get("sensitive_key"), 1);
        assert_eq!(stats.get("attribute_truncated"), 0);

        // `keep` scans nothing: the value is exported as it came (here cut
        // by the size cap, as any long value is).
        let keep = RedactionConfig {
            media: MediaPolicy::Keep,
            max_attribute_bytes: 1 << 20,
            ..Default::default()
        };
        assert!(MediaScanner::new(MediaPolicy::Keep).is_none());
        let rd = Redactor::new(&keep).unwrap();
        let mut r = record(attrs());
        rd.apply(&mut r);
        let value: Json =
            serde_json::from_str(r.attribute("input.value").unwrap().as_str().unwrap()).unwrap();
        assert_eq!(value["image"], json!(url));
        assert_eq!(
            r.attribute("app.images"),
            Some(&Value::from(vec![url.clone(), "x".into()]))
        );
        assert_eq!(rd.stats().get("media"), 0);
    }

    #[test]
    fn the_policy_parses_in_any_case_and_bad_values_name_the_setting() {
        assert_eq!(MediaPolicy::parse("S", "Drop").unwrap(), MediaPolicy::Drop);
        assert_eq!(MediaPolicy::parse("S", "KEEP").unwrap(), MediaPolicy::Keep);
        assert_eq!(
            MediaPolicy::parse("S", "placeholder").unwrap(),
            MediaPolicy::Placeholder
        );
        match MediaPolicy::parse("AGTRACE_MEDIA", "strip") {
            Err(crate::Error::InvalidConfig { setting, value, .. }) => {
                assert_eq!(
                    (setting.as_str(), value.as_str()),
                    ("AGTRACE_MEDIA", "strip")
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(MediaPolicy::default(), MediaPolicy::Placeholder);
    }
}
