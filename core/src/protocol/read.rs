//! Decoding span protocol messages (`ffi/PROTOCOL.md`) into borrowed
//! records and items. Nothing here touches spans: [`super::apply`] does, and
//! the test vectors describe what decodes here as JSON.

use crate::codes::{item, parent, record};
use crate::id::{SpanId, TraceId};
use crate::SpanKind;

/// What is wrong with a message, and where (a byte offset into it).
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub at: usize,
    /// The field at fault (`record`, `name`, `attribute gen_ai.system`, ...).
    pub field: String,
    pub reason: String,
    /// The fault is a string that is not UTF-8.
    pub utf8: bool,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} (byte {})", self.field, self.reason, self.at)
    }
}

impl std::error::Error for Fault {}

/// Faults are boxed: they are rare, and results stay small on the hot path.
pub(crate) type Read<T> = Result<T, Box<Fault>>;

/// A cursor over little-endian fields.
#[derive(Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf` in the whole message, for fault positions.
    base: usize,
    /// The first fault in a field's content (a string that is not UTF-8, a
    /// bad key): the field's bytes were consumed, so reading goes on and
    /// the item holding it is skipped.
    soft: Option<Box<Fault>>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], base: usize) -> Self {
        Reader {
            buf,
            pos: 0,
            base,
            soft: None,
        }
    }

    /// The offset in the message of the next byte.
    pub(crate) fn at(&self) -> usize {
        self.base + self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn fault(&self, field: &str, reason: impl Into<String>) -> Box<Fault> {
        Box::new(Fault {
            at: self.base + self.pos,
            field: field.to_string(),
            reason: reason.into(),
            utf8: false,
        })
    }

    #[inline]
    fn take(&mut self, n: usize, field: &str) -> Read<&'a [u8]> {
        match self.buf.get(self.pos..self.pos.wrapping_add(n)) {
            Some(b) if self.pos.checked_add(n).is_some() => {
                self.pos += n;
                Ok(b)
            }
            _ => Err(self.fault(field, format!("truncated (needs {n} more bytes)"))),
        }
    }

    #[inline]
    fn array<const N: usize>(&mut self, field: &str) -> Read<[u8; N]> {
        Ok(self.take(N, field)?.try_into().expect("N bytes"))
    }

    #[inline]
    pub(crate) fn u8(&mut self, field: &str) -> Read<u8> {
        Ok(self.array::<1>(field)?[0])
    }

    #[inline]
    pub(crate) fn u32(&mut self, field: &str) -> Read<u32> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    #[inline]
    pub(crate) fn u64(&mut self, field: &str) -> Read<u64> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    fn i64(&mut self, field: &str) -> Read<i64> {
        Ok(i64::from_le_bytes(self.array(field)?))
    }

    fn f64(&mut self, field: &str) -> Read<f64> {
        Ok(f64::from_le_bytes(self.array(field)?))
    }

    /// Records a content fault (the first one counts).
    fn soft(&mut self, f: Box<Fault>) {
        self.soft.get_or_insert(f);
    }

    fn bool(&mut self, field: &str) -> Read<bool> {
        let b = self.u8(field)?;
        if b > 1 {
            let f = self.fault(field, format!("{b} is not a boolean (0 or 1)"));
            self.soft(f);
        }
        Ok(b == 1)
    }

    /// A length-prefixed string. One that is not UTF-8 reads as empty and
    /// is a content fault (see `soft`).
    #[inline]
    pub(crate) fn str(&mut self, field: &str) -> Read<&'a str> {
        let at = self.base + self.pos;
        let len = self.u32(field)? as usize;
        let bytes = self.take(len, field)?;
        Ok(std::str::from_utf8(bytes).unwrap_or_else(|e| {
            self.soft(Box::new(Fault {
                at,
                field: field.to_string(),
                reason: format!("not UTF-8 ({e})"),
                utf8: true,
            }));
            ""
        }))
    }

    /// The content fault of what was read since the last call.
    pub(crate) fn take_soft(&mut self) -> Read<()> {
        self.soft.take().map_or(Ok(()), Err)
    }

    /// An element count, checked against the bytes left (each element takes
    /// at least `min_size`), so a hostile count allocates nothing.
    fn count(&mut self, field: &str, min_size: usize) -> Read<usize> {
        let n = self.u32(field)? as usize;
        if n.saturating_mul(min_size) > self.buf.len() - self.pos {
            return Err(self.fault(field, format!("count {n} exceeds the record")));
        }
        Ok(n)
    }

    /// A time offset in nanoseconds from the span's start; `None` for
    /// [`NOW`].
    fn offset(&mut self, field: &str) -> Read<Option<u64>> {
        Ok(Some(self.u64(field)?).filter(|&n| n != NOW))
    }
}

impl Record<'_> {
    /// A fault of the record as a whole.
    pub(crate) fn fault(&self, reason: impl Into<String>) -> Box<Fault> {
        Box::new(Fault {
            at: self.at,
            field: "record".into(),
            reason: reason.into(),
            utf8: false,
        })
    }
}

/// The time offset meaning "when the core reads this".
pub const NOW: u64 = u64::MAX;

/// One record of a message: its code and body.
pub(crate) struct Record<'a> {
    /// Offset of the record's code in the message.
    pub(crate) at: usize,
    /// No record follows.
    pub(crate) last: bool,
    pub(crate) code: u8,
    pub(crate) body: Reader<'a>,
}

/// Splits a message into records. A record whose length runs past the end
/// is a fault that ends the message.
pub(crate) fn records(msg: &[u8]) -> impl Iterator<Item = Read<Record<'_>>> {
    let mut r = Reader::new(msg, 0);
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || r.is_empty() {
            return None;
        }
        let next = (|| {
            let at = r.pos;
            let code = r.u8("record")?;
            let len = r.u32("record length")? as usize;
            let base = r.base + r.pos;
            let body = r.take(len, "record")?;
            Ok(Record {
                at,
                last: r.is_empty(),
                code,
                body: Reader::new(body, base),
            })
        })();
        failed = next.is_err();
        Some(next)
    })
}

/// A span's parent, as a BEGIN record names it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum ParentRef {
    Root,
    Ids {
        trace_id: TraceId,
        span_id: SpanId,
        flags: u8,
        /// Still recording in this process: counts this child for rollups.
        local: bool,
        /// A context handle to take the trace state and baggage from.
        inherit: Option<u64>,
    },
    Context(u64),
}

pub(crate) struct Begin<'a> {
    pub(crate) kind: SpanKind,
    pub(crate) parent: ParentRef,
    pub(crate) name: &'a str,
}

impl<'a> Begin<'a> {
    pub(crate) fn read(r: &mut Reader<'a>) -> Read<Self> {
        let code = r.u8("kind")?;
        let kind = SpanKind::from_code(code)
            .ok_or_else(|| r.fault("kind", format!("unknown span kind {code}")))?;
        let form = r.u8("parent")?;
        let parent = match form & !parent::INHERIT {
            parent::ROOT if form == parent::ROOT => ParentRef::Root,
            parent::CONTEXT if form == parent::CONTEXT => ParentRef::Context(r.u64("parent")?),
            f @ (parent::LOCAL | parent::SPAN) => ParentRef::Ids {
                trace_id: TraceId(r.array("parent trace id")?),
                span_id: SpanId(r.array("parent span id")?),
                flags: r.u8("parent flags")?,
                local: f == parent::LOCAL,
                inherit: if form & parent::INHERIT != 0 {
                    Some(r.u64("parent context")?)
                } else {
                    None
                },
            },
            _ => return Err(r.fault("parent", format!("unknown parent form {form}"))),
        };
        let name = r.str("name")?;
        r.take_soft()?;
        if name.is_empty() {
            return Err(r.fault("name", "empty"));
        }
        Ok(Begin { kind, parent, name })
    }
}

pub(crate) struct End {
    pub(crate) handle: u64,
    pub(crate) duration: Option<u64>,
    pub(crate) abandoned: bool,
}

impl End {
    pub(crate) fn read(r: &mut Reader<'_>, code: u8) -> Read<Self> {
        Ok(End {
            handle: r.u64("handle")?,
            duration: r.offset("duration")?,
            abandoned: code == record::ABANDON,
        })
    }
}

/// An attribute value as encoded.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Val<'a> {
    Str(&'a str),
    Int(i64),
    Double(f64),
    Bool(bool),
    StrArray(Vec<&'a str>),
    IntArray(Vec<i64>),
    DoubleArray(Vec<f64>),
    BoolArray(Vec<bool>),
    Json(&'a str),
}

/// One thing recorded on a span. Empty strings mean "not set" where a field
/// is optional.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Item<'a> {
    Attr(&'a str, Val<'a>),
    Status(u8, &'a str),
    Error {
        error_type: &'a str,
        message: &'a str,
        stacktrace: &'a str,
    },
    Usage([u64; 5]),
    /// Boxed, as [`Item::Trace`]: items stay small on the hot path.
    Llm(Box<Llm<'a>>),
    Tool {
        name: &'a str,
        call_id: &'a str,
    },
    Agent {
        name: &'a str,
        id: &'a str,
    },
    Messages {
        input: &'a str,
        output: &'a str,
    },
    Trace(Box<Trace<'a>>),
    Event {
        name: &'a str,
        offset: Option<u64>,
        attributes: Vec<(&'a str, Val<'a>)>,
    },
    FirstChunk(Option<u64>),
    Name(&'a str),
    /// Boxed, as [`Item::Trace`].
    Link(Box<LinkRef<'a>>),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LinkRef<'a> {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) flags: u8,
    /// W3C `tracestate` text; empty for none.
    pub(crate) trace_state: &'a str,
    pub(crate) attributes: Vec<(&'a str, Val<'a>)>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Llm<'a> {
    pub(crate) provider: &'a str,
    pub(crate) request_model: &'a str,
    pub(crate) response_model: &'a str,
    pub(crate) response_id: &'a str,
    pub(crate) finish_reasons: Vec<&'a str>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Trace<'a> {
    /// user, session, conversation, environment, release.
    pub(crate) fields: [&'a str; 5],
    pub(crate) tags: Vec<&'a str>,
    pub(crate) metadata: &'a str,
}

/// The items of a record body, in order. A fault in one item's content
/// (a bad key, a string that is not UTF-8) skips that item only; a fault in
/// the framing (an unknown item code, a truncated field) ends the record's
/// items, since where the next one starts is unknown.
pub(crate) struct Items<'a> {
    r: Reader<'a>,
}

impl<'a> Items<'a> {
    pub(crate) fn new(r: Reader<'a>) -> Self {
        Items { r }
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Read<Item<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.r.is_empty() {
            return None;
        }
        Some(match read_item(&mut self.r) {
            Ok(item) => self.r.take_soft().map(|()| item),
            Err(framing) => {
                self.r.pos = self.r.buf.len();
                Err(framing)
            }
        })
    }
}

#[inline]
fn read_item<'a>(r: &mut Reader<'a>) -> Read<Item<'a>> {
    let code = r.u8("item")?;
    let item = match code {
        item::STRING..=item::JSON => {
            let (key, val) = read_attr(r, code)?;
            Item::Attr(key, val)
        }
        item::STATUS => {
            let c = r.u8("status")?;
            let description = r.str("status description")?;
            if c > crate::codes::status::ERROR {
                let f = r.fault("status", format!("unknown status {c}"));
                r.soft(f);
            }
            Item::Status(c, description)
        }
        item::ERROR => Item::Error {
            error_type: r.str("error type")?,
            message: r.str("error message")?,
            stacktrace: r.str("error stacktrace")?,
        },
        item::USAGE => {
            let mut n = [0u64; 5];
            for slot in &mut n {
                *slot = r.u64("usage")?;
            }
            Item::Usage(n)
        }
        item::LLM => Item::Llm(Box::new(Llm {
            provider: r.str("llm provider")?,
            request_model: r.str("llm request model")?,
            response_model: r.str("llm response model")?,
            response_id: r.str("llm response id")?,
            finish_reasons: strs(r, "llm finish reasons")?,
        })),
        item::TOOL => Item::Tool {
            name: r.str("tool name")?,
            call_id: r.str("tool call id")?,
        },
        item::AGENT => Item::Agent {
            name: r.str("agent name")?,
            id: r.str("agent id")?,
        },
        item::MESSAGES => Item::Messages {
            input: r.str("input messages")?,
            output: r.str("output messages")?,
        },
        item::TRACE => {
            let mut fields = [""; 5];
            for (slot, field) in fields.iter_mut().zip([
                "trace user id",
                "trace session id",
                "trace conversation id",
                "trace environment",
                "trace release",
            ]) {
                *slot = r.str(field)?;
            }
            Item::Trace(Box::new(Trace {
                fields,
                tags: strs(r, "trace tags")?,
                metadata: r.str("trace metadata")?,
            }))
        }
        item::EVENT => Item::Event {
            name: r.str("event name")?,
            offset: r.offset("event time")?,
            attributes: attrs(r, "event attribute")?,
        },
        item::LINK => Item::Link(Box::new(LinkRef {
            trace_id: TraceId(r.array("link trace id")?),
            span_id: SpanId(r.array("link span id")?),
            flags: r.u8("link flags")?,
            trace_state: r.str("link trace state")?,
            attributes: attrs(r, "link attribute")?,
        })),
        item::FIRST_CHUNK => Item::FirstChunk(r.offset("first chunk time")?),
        item::NAME => {
            let name = r.str("name")?;
            if name.is_empty() {
                let f = r.fault("name", "empty");
                r.soft(f);
            }
            Item::Name(name)
        }
        other => {
            r.pos -= 1;
            return Err(r.fault("item", format!("unknown item {other}")));
        }
    };
    Ok(item)
}

/// A count, then that many attribute items (an event's or a link's).
fn attrs<'a>(r: &mut Reader<'a>, field: &str) -> Read<Vec<(&'a str, Val<'a>)>> {
    let n = r.count(field, 6)?;
    let mut attributes = Vec::with_capacity(n);
    for _ in 0..n {
        let code = r.u8(field)?;
        if !(item::STRING..=item::JSON).contains(&code) {
            r.pos -= 1;
            return Err(r.fault(field, format!("unknown item {code}")));
        }
        attributes.push(read_attr(r, code)?);
    }
    Ok(attributes)
}

fn strs<'a>(r: &mut Reader<'a>, field: &str) -> Read<Vec<&'a str>> {
    let n = r.count(field, 4)?;
    (0..n).map(|_| r.str(field)).collect()
}

#[inline]
fn read_attr<'a>(r: &mut Reader<'a>, code: u8) -> Read<(&'a str, Val<'a>)> {
    let key_at = r.base + r.pos;
    let key = r.str("attribute key")?;
    // Fields are named after the key only when at fault: formatting costs
    // more than the rest of the item.
    let name = || format!("attribute {}", key.escape_debug());
    let clean = r.soft.is_none();
    let f = "attribute";
    let val = match code {
        item::STRING => r.str(f).map(Val::Str),
        item::INT => r.i64(f).map(Val::Int),
        item::DOUBLE => r.f64(f).map(Val::Double),
        item::BOOL => r.bool(f).map(Val::Bool),
        item::STRING_ARRAY => strs(r, f).map(Val::StrArray),
        item::INT_ARRAY => r
            .count(f, 8)
            .and_then(|n| (0..n).map(|_| r.i64(f)).collect::<Read<_>>())
            .map(Val::IntArray),
        item::DOUBLE_ARRAY => r
            .count(f, 8)
            .and_then(|n| (0..n).map(|_| r.f64(f)).collect::<Read<_>>())
            .map(Val::DoubleArray),
        item::BOOL_ARRAY => r
            .count(f, 1)
            .and_then(|n| (0..n).map(|_| r.bool(f)).collect::<Read<_>>())
            .map(Val::BoolArray),
        _ => r.str(f).map(Val::Json),
    };
    let val = val.map_err(|mut e| {
        e.field = name();
        e
    })?;
    if clean {
        if let Some(e) = r.soft.as_mut() {
            e.field = name();
        }
    }
    let bad = if key.is_empty() {
        Some("empty")
    } else if key.bytes().any(|b| b < 0x20 || b == 0x7f) {
        Some("contains a control character")
    } else {
        None
    };
    if let Some(reason) = bad {
        r.soft(Box::new(Fault {
            at: key_at,
            field: format!("attribute key {}", key.escape_debug())
                .trim_end()
                .to_string(),
            reason: reason.into(),
            utf8: false,
        }));
    }
    Ok((key, val))
}
