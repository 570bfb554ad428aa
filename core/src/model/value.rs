//! Typed attribute values.
//!
//! Keys and string values are `Cow<'static, str>`: a literal costs nothing to
//! store, an owned `String` is moved in without copying. Structured values
//! (messages, tool arguments) are stored as JSON strings, as the OpenTelemetry
//! GenAI conventions ask.

use std::borrow::Cow;

/// A string that is either a `'static` literal or owned.
pub type Str = Cow<'static, str>;

/// An attribute value: a scalar or a homogeneous array.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Bool(bool),
    I64(i64),
    F64(f64),
    String(Str),
    BoolArray(Vec<bool>),
    I64Array(Vec<i64>),
    F64Array(Vec<f64>),
    StringArray(Vec<Str>),
}

impl Value {
    /// Serializes a structured value to a JSON string attribute.
    pub fn json(v: &serde_json::Value) -> Value {
        Value::String(Cow::Owned(v.to_string()))
    }

    /// The value a JSON value stands for: a string, boolean, integer
    /// (fitting `i64`) or number becomes that scalar; an array whose items
    /// are all strings, all booleans, all integers or all numbers becomes a
    /// typed array; anything else (objects, mixed arrays, null) is stored as
    /// its JSON text.
    pub fn from_json(json: serde_json::Value) -> Value {
        use serde_json::Value as J;
        match json {
            J::String(s) => Value::String(Cow::Owned(s)),
            J::Bool(b) => Value::Bool(b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::I64(i),
                None => n
                    .as_f64()
                    .map_or_else(|| Value::String(Cow::Owned(n.to_string())), Value::F64),
            },
            J::Array(items) => Self::from_json_array(items),
            other => Value::json(&other),
        }
    }

    fn from_json_array(items: Vec<serde_json::Value>) -> Value {
        use serde_json::Value as J;
        if items.iter().all(J::is_string) {
            let strings = items.into_iter().filter_map(|v| match v {
                J::String(s) => Some(Cow::Owned(s)),
                _ => None,
            });
            return Value::StringArray(strings.collect());
        }
        if let Some(v) = items.iter().map(J::as_bool).collect::<Option<Vec<_>>>() {
            return Value::BoolArray(v);
        }
        if let Some(v) = items.iter().map(J::as_i64).collect::<Option<Vec<_>>>() {
            return Value::I64Array(v);
        }
        if let Some(v) = items.iter().map(J::as_f64).collect::<Option<Vec<_>>>() {
            return Value::F64Array(v);
        }
        Value::json(&J::Array(items))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::I64(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::F64(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(v) => Some(*v),
            _ => None,
        }
    }

    /// Approximate encoded size in bytes, used for the queue's byte cap and for
    /// splitting batches. Counts payload, not framing.
    #[inline]
    pub fn approx_size(&self) -> usize {
        match self {
            Value::Bool(_) => 1,
            Value::I64(_) | Value::F64(_) => 8,
            Value::String(s) => s.len(),
            Value::BoolArray(v) => v.len(),
            Value::I64Array(v) => v.len() * 8,
            Value::F64Array(v) => v.len() * 8,
            Value::StringArray(v) => v.iter().map(|s| s.len() + 2).sum(),
        }
    }

    /// A short human rendering, for the console exporter.
    pub fn display(&self) -> String {
        match self {
            Value::Bool(v) => v.to_string(),
            Value::I64(v) => v.to_string(),
            Value::F64(v) => v.to_string(),
            Value::String(s) => s.to_string(),
            Value::BoolArray(v) => format!("{v:?}"),
            Value::I64Array(v) => format!("{v:?}"),
            Value::F64Array(v) => format!("{v:?}"),
            Value::StringArray(v) => format!("{v:?}"),
        }
    }
}

macro_rules! from_scalar {
    ($($t:ty => $variant:ident as $conv:ty),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::$variant(v as $conv)
            }
        })*
    };
}
from_scalar!(i64 => I64 as i64, i32 => I64 as i64, u32 => I64 as i64, i16 => I64 as i64, u16 => I64 as i64,
             f64 => F64 as f64, f32 => F64 as f64);

/// Unsigned values above `i64::MAX` saturate: OTLP has no unsigned integer.
impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::I64(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Value {
        Value::from(v as u64)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}
impl From<&'static str> for Value {
    fn from(v: &'static str) -> Value {
        Value::String(Cow::Borrowed(v))
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::String(Cow::Owned(v))
    }
}
impl From<Str> for Value {
    fn from(v: Str) -> Value {
        Value::String(v)
    }
}
impl From<Vec<bool>> for Value {
    fn from(v: Vec<bool>) -> Value {
        Value::BoolArray(v)
    }
}
impl From<Vec<i64>> for Value {
    fn from(v: Vec<i64>) -> Value {
        Value::I64Array(v)
    }
}
impl From<Vec<f64>> for Value {
    fn from(v: Vec<f64>) -> Value {
        Value::F64Array(v)
    }
}
impl From<Vec<String>> for Value {
    fn from(v: Vec<String>) -> Value {
        Value::StringArray(v.into_iter().map(Cow::Owned).collect())
    }
}
impl From<Vec<&'static str>> for Value {
    fn from(v: Vec<&'static str>) -> Value {
        Value::StringArray(v.into_iter().map(Cow::Borrowed).collect())
    }
}
impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Value {
        Value::json(v)
    }
}

/// One key/value attribute.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub key: Str,
    pub value: Value,
}

impl Attribute {
    #[inline]
    pub fn new(key: impl Into<Str>, value: impl Into<Value>) -> Self {
        Attribute {
            key: key.into(),
            value: value.into(),
        }
    }

    #[inline]
    pub(crate) fn approx_size(&self) -> usize {
        self.key.len() + self.value.approx_size()
    }
}

/// Attributes of one span. Up to eight are stored inline, so a typical span
/// needs no allocation beyond its record.
pub type Attributes = smallvec::SmallVec<[Attribute; 8]>;

/// Removes earlier duplicates of a key, keeping the last value set (the
/// OpenTelemetry rule). Survivors keep their relative order.
///
/// Linear in the number of attributes; allocates nothing for up to
/// [`DEDUP_SCAN_MAX`] of them, where comparing every pair is cheaper than
/// hashing.
pub(crate) fn dedup_last_wins(attrs: &mut Attributes) {
    if attrs.len() < 2 {
        return;
    }
    if attrs.len() <= DEDUP_SCAN_MAX {
        let mut i = 0;
        while i < attrs.len() {
            if attrs[i + 1..].iter().any(|a| a.key == attrs[i].key) {
                attrs.remove(i);
            } else {
                i += 1;
            }
        }
        return;
    }
    // From the end: the first sighting of a key is its last value. A
    // randomly seeded hash, since keys may come from outside the program.
    let mut seen = std::collections::HashSet::with_capacity(attrs.len());
    let keep: Vec<bool> = attrs.iter().rev().map(|a| seen.insert(&*a.key)).collect();
    drop(seen);
    let mut survives = keep.into_iter().rev();
    attrs.retain(|_| survives.next().unwrap_or(true));
}

/// Up to this many attributes, [`dedup_last_wins`] compares pairs in place.
const DEDUP_SCAN_MAX: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(Value::from(3u32), Value::I64(3));
        assert_eq!(Value::from(u64::MAX), Value::I64(i64::MAX));
        assert_eq!(Value::from(1.5f32), Value::F64(1.5));
        assert_eq!(Value::from("x").as_str(), Some("x"));
        assert_eq!(
            Value::from(vec!["a", "b"]),
            Value::StringArray(vec!["a".into(), "b".into()])
        );
        let j = serde_json::json!({"role": "user", "content": "hi"});
        assert_eq!(
            Value::json(&j).as_str(),
            Some(r#"{"content":"hi","role":"user"}"#)
        );
    }

    /// The rule, written as plainly as possible.
    fn dedup_reference(attrs: &[Attribute]) -> Vec<Attribute> {
        attrs
            .iter()
            .enumerate()
            .filter(|(i, a)| !attrs[i + 1..].iter().any(|b| b.key == a.key))
            .map(|(_, a)| a.clone())
            .collect()
    }

    #[test]
    fn dedup_matches_the_rule_at_every_size() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for len in 0..200usize {
            for distinct in [1, 2, 3, len / 2 + 1, len + 1] {
                let attrs: Attributes = (0..len)
                    .map(|i| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        let key = format!("k{}", state % distinct as u64);
                        Attribute::new(key, i as i64)
                    })
                    .collect();
                let mut got = attrs.clone();
                dedup_last_wins(&mut got);
                assert_eq!(got.to_vec(), dedup_reference(&attrs), "{len} {distinct}");
            }
        }
    }

    #[test]
    fn dedup_of_many_attributes_is_linear() {
        let n = 100_000;
        let mut attrs: Attributes = (0..n)
            .map(|i| Attribute::new(format!("key.{}", i % (n / 2)), i as i64))
            .collect();
        let start = std::time::Instant::now();
        dedup_last_wins(&mut attrs);
        // Pairwise this takes minutes; linear, milliseconds.
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(attrs.len(), n / 2);
        assert_eq!(attrs[0].value, Value::I64((n / 2) as i64));
        assert_eq!(attrs[n / 2 - 1].value, Value::I64(n as i64 - 1));
    }

    #[test]
    fn dedup_keeps_last_value_in_first_order() {
        let mut a: Attributes = [
            Attribute::new("a", 1),
            Attribute::new("b", 2),
            Attribute::new("a", 3),
            Attribute::new("c", 4),
        ]
        .into_iter()
        .collect();
        dedup_last_wins(&mut a);
        let keys: Vec<_> = a
            .iter()
            .map(|x| (x.key.as_ref(), x.value.clone()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("b", Value::I64(2)),
                ("a", Value::I64(3)),
                ("c", Value::I64(4))
            ]
        );
    }
}
