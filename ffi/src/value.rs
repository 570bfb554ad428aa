//! Attribute values across the ABI: a tagged struct (no union, so a
//! wrongly filled value is an error, never undefined behaviour).

use crate::error::{FfiError, FfiResult};
use crate::string::agtrace_str_t;
use agtrace_core::{Attribute, Value};
use std::ffi::c_void;

/// Which field of `agtrace_value_t` holds the value.
#[allow(non_camel_case_types)]
pub type agtrace_value_type_t = u32;
pub const AGTRACE_VALUE_STRING: agtrace_value_type_t = 1;
pub const AGTRACE_VALUE_BOOL: agtrace_value_type_t = 2;
pub const AGTRACE_VALUE_INT: agtrace_value_type_t = 3;
pub const AGTRACE_VALUE_DOUBLE: agtrace_value_type_t = 4;
/// `array` points to `array_len` `agtrace_str_t`.
pub const AGTRACE_VALUE_STRING_ARRAY: agtrace_value_type_t = 5;
/// `array` points to `array_len` `bool`.
pub const AGTRACE_VALUE_BOOL_ARRAY: agtrace_value_type_t = 6;
/// `array` points to `array_len` `int64_t`.
pub const AGTRACE_VALUE_INT_ARRAY: agtrace_value_type_t = 7;
/// `array` points to `array_len` `double`.
pub const AGTRACE_VALUE_DOUBLE_ARRAY: agtrace_value_type_t = 8;
/// `string` holds JSON text (messages, tool arguments); it is checked and
/// stored as a JSON string attribute.
pub const AGTRACE_VALUE_JSON: agtrace_value_type_t = 9;

/// A typed value. Only the field named by `type` is read.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct agtrace_value_t {
    pub r#type: agtrace_value_type_t,
    pub boolean: bool,
    pub integer: i64,
    pub number: f64,
    pub string: agtrace_str_t,
    pub array: *const c_void,
    pub array_len: usize,
}

/// A key and its value.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct agtrace_attribute_t {
    pub key: agtrace_str_t,
    pub value: agtrace_value_t,
}

/// "value of KEY", formatted only when an error needs it.
#[derive(Clone, Copy)]
struct ValueOf<'a>(&'a str);

impl std::fmt::Display for ValueOf<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "value of {}", self.0)
    }
}

fn slice<'a, T>(
    ptr: *const c_void,
    len: usize,
    what: impl std::fmt::Display + Copy,
) -> FfiResult<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(FfiError::null(what));
    }
    // SAFETY: the caller guarantees `len` elements at `ptr` during the call.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<T>(), len) })
}

fn value(v: &agtrace_value_t, key: &str) -> FfiResult<Value> {
    // Named only when something is wrong, so success allocates nothing here.
    let what = &ValueOf(key);
    Ok(match v.r#type {
        AGTRACE_VALUE_STRING => Value::String(agtrace_core::intern_value(v.string.get(what)?)),
        AGTRACE_VALUE_BOOL => Value::Bool(v.boolean),
        AGTRACE_VALUE_INT => Value::I64(v.integer),
        AGTRACE_VALUE_DOUBLE => Value::F64(v.number),
        AGTRACE_VALUE_STRING_ARRAY => Value::from(
            slice::<agtrace_str_t>(v.array, v.array_len, what)?
                .iter()
                .map(|s| s.get(what).map(str::to_string))
                .collect::<FfiResult<Vec<String>>>()?,
        ),
        // Read as bytes: a C `bool` other than 0/1 must not become an
        // invalid Rust bool.
        AGTRACE_VALUE_BOOL_ARRAY => Value::BoolArray(
            slice::<u8>(v.array, v.array_len, what)?
                .iter()
                .map(|b| *b != 0)
                .collect(),
        ),
        AGTRACE_VALUE_INT_ARRAY => {
            Value::I64Array(slice::<i64>(v.array, v.array_len, what)?.to_vec())
        }
        AGTRACE_VALUE_DOUBLE_ARRAY => {
            Value::F64Array(slice::<f64>(v.array, v.array_len, what)?.to_vec())
        }
        AGTRACE_VALUE_JSON => {
            let text = v.string.get(what)?;
            serde_json::from_str::<serde_json::Value>(text)
                .map_err(|e| FfiError::invalid(what, format!("not JSON ({e})")))?;
            Value::from(text.to_string())
        }
        other => {
            return Err(FfiError::invalid(
                what,
                format!("unknown value type {other}"),
            ))
        }
    })
}

/// Converts `len` attributes at `attrs` into a per-thread scratch vector and
/// hands them to `f`, all or nothing: one bad attribute fails the call and
/// `f` is not called. No allocation per call once the thread is warm.
pub(crate) fn with_attributes<R>(
    attrs: *const agtrace_attribute_t,
    len: usize,
    f: impl FnOnce(&mut Vec<Attribute>) -> R,
) -> FfiResult<R> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<Attribute>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    if len == 0 {
        return Ok(f(&mut Vec::new()));
    }
    // Never re-entered: `f` calls no C ABI function and C is not called back.
    SCRATCH.with(|cell| {
        let mut scratch = cell.borrow_mut();
        scratch.clear();
        let result = convert_into(attrs, len, &mut scratch).map(|()| f(&mut scratch));
        scratch.clear();
        result
    })
}

fn convert_into(
    attrs: *const agtrace_attribute_t,
    len: usize,
    out: &mut Vec<Attribute>,
) -> FfiResult {
    for a in slice::<agtrace_attribute_t>(attrs.cast(), len, "attributes")? {
        let key = a.key.get("attribute key")?;
        if key.is_empty() {
            return Err(FfiError::invalid("attribute key", "empty"));
        }
        out.push(Attribute::new(
            agtrace_core::intern(key),
            value(&a.value, key)?,
        ));
    }
    Ok(())
}

/// Converts `len` attributes at `attrs`, all or nothing: one bad attribute
/// fails the call and nothing is set.
pub(crate) fn attributes(
    attrs: *const agtrace_attribute_t,
    len: usize,
) -> FfiResult<Vec<Attribute>> {
    let mut out = Vec::with_capacity(len);
    convert_into(attrs, len, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(key: &'static str, value: agtrace_value_t) -> agtrace_attribute_t {
        agtrace_attribute_t {
            key: agtrace_str_t::from_str(key),
            value,
        }
    }

    fn blank(r#type: agtrace_value_type_t) -> agtrace_value_t {
        agtrace_value_t {
            r#type,
            boolean: false,
            integer: 0,
            number: 0.0,
            string: agtrace_str_t::NULL,
            array: std::ptr::null(),
            array_len: 0,
        }
    }

    #[test]
    fn every_type_converts_and_bad_input_is_named() {
        let ints = [1i64, 2];
        let strs = [agtrace_str_t::from_str("a")];
        let mut i = blank(AGTRACE_VALUE_INT);
        i.integer = 7;
        let mut ia = blank(AGTRACE_VALUE_INT_ARRAY);
        ia.array = ints.as_ptr().cast();
        ia.array_len = 2;
        let mut sa = blank(AGTRACE_VALUE_STRING_ARRAY);
        sa.array = strs.as_ptr().cast();
        sa.array_len = 1;
        let mut j = blank(AGTRACE_VALUE_JSON);
        j.string = agtrace_str_t::from_str(r#"{"a":1}"#);
        let got = attributes(
            [attr("i", i), attr("ia", ia), attr("sa", sa), attr("j", j)].as_ptr(),
            4,
        )
        .unwrap();
        assert_eq!(got[0].value, Value::I64(7));
        assert_eq!(got[1].value, Value::I64Array(vec![1, 2]));
        assert_eq!(got[2].value, Value::from(vec!["a"]));
        assert_eq!(got[3].value.as_str(), Some(r#"{"a":1}"#));

        let mut bad = blank(AGTRACE_VALUE_JSON);
        bad.string = agtrace_str_t::from_str("{nope");
        let e = attributes([attr("args", bad)].as_ptr(), 1).unwrap_err();
        assert!(
            e.message.contains("args") && e.message.contains("not JSON"),
            "{}",
            e.message
        );
        let e = attributes([attr("k", blank(42))].as_ptr(), 1).unwrap_err();
        assert!(e.message.contains("unknown value type 42"), "{}", e.message);
        let mut nul = blank(AGTRACE_VALUE_INT_ARRAY);
        nul.array_len = 3;
        let e = attributes([attr("xs", nul)].as_ptr(), 1).unwrap_err();
        assert!(e.message.contains("NULL"), "{}", e.message);
    }
}
