//! The few Python semantics the reference relies on, over [`Value`]s: `==`, `<` between
//! numbers and strings, hashability, `str()`, `int()`, `float()`, `list()` and `dict()`.
//!
//! Everything that would raise in Python returns `Err(PyError)`; the checker turns that into a
//! `*_MALFORMED` rejection (CERTIFICATE.md section 9b).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::LazyLock;

use super::doc::{Arr, K, Obj, V, str_eq};
use crate::json::{MAX_INT_DIGITS, Object, Value, python_float_repr};

/// Python raised (TypeError, ValueError, OverflowError, AttributeError, KeyError).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PyError;

pub(crate) type PyResult<T> = Result<T, PyError>;

/// `{}` for defaults and for `dict("")` / `dict([])`.
pub(crate) static EMPTY_OBJECT: Object = Object {
    entries: Vec::new(),
};
static EMPTY_STR_V: Value = Value::String(String::new());
static NONE_V: Value = Value::Null;
static EMPTY_ARR_V: Value = Value::Array(Vec::new());
static EMPTY_OBJ_V: Value = Value::Object(Object {
    entries: Vec::new(),
});
static ZERO_V: LazyLock<Value> = LazyLock::new(|| Value::from(0));
static POD_V1_V: LazyLock<Value> = LazyLock::new(|| Value::from("pod-v1"));

/// `None`.
pub(crate) fn none() -> V<'static> {
    V::J(&NONE_V)
}
/// `""`.
pub(crate) fn empty_str() -> V<'static> {
    V::J(&EMPTY_STR_V)
}
/// `[]`.
pub(crate) fn empty_list() -> V<'static> {
    V::J(&EMPTY_ARR_V)
}
/// `{}`.
pub(crate) fn empty_dict() -> V<'static> {
    V::J(&EMPTY_OBJ_V)
}
/// `0`, the default of `counts.get(severity, 0)`.
pub(crate) fn zero() -> V<'static> {
    V::J(&ZERO_V)
}
/// `"pod-v1"`, the default `rule_set_id`.
pub(crate) fn pod_v1() -> V<'static> {
    V::J(&POD_V1_V)
}

/// `dict.get(key)` with `None` for a miss.
#[inline]
pub(crate) fn get<'d>(o: Obj<'d>, key: &str) -> V<'d> {
    o.get(key).unwrap_or(none())
}

/// Lists and dicts cannot be set members or dict keys.
#[inline]
pub(crate) fn is_hashable(v: V<'_>) -> bool {
    !matches!(v.kind(), K::Arr(_) | K::Obj(_))
}

/// Python truthiness: `None`, `False`, `0`, `0.0`, `""`, `[]`, `{}` are false.
#[inline]
pub(crate) fn truthy(v: V<'_>) -> bool {
    match v.kind() {
        K::Null => false,
        K::Bool(b) => b,
        K::Int(t) => t != "0",
        K::Float(f) => f != 0.0,
        K::Str(s) => !s.is_empty(),
        K::Arr(a) => !a.is_empty(),
        K::Obj(o) => !o.is_empty(),
    }
}

// ---------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------

/// A Python number: `bool` and `int` as exact decimal text, or a float.
#[derive(Clone, Debug)]
pub(crate) enum Num<'a> {
    Int(Cow<'a, str>),
    Float(f64),
}

/// The value as a Python number (`bool` is an `int`), if it is one.
pub(crate) fn num<'d>(v: V<'d>) -> Option<Num<'d>> {
    match v.kind() {
        K::Int(t) => Some(Num::Int(Cow::Borrowed(t))),
        K::Bool(b) => Some(Num::Int(Cow::Borrowed(if b { "1" } else { "0" }))),
        K::Float(f) => Some(Num::Float(f)),
        _ => None,
    }
}

/// Compares canonical decimal integers.
pub(crate) fn cmp_int_text(a: &str, b: &str) -> Ordering {
    let (an, ad) = a.strip_prefix('-').map_or((false, a), |d| (true, d));
    let (bn, bd) = b.strip_prefix('-').map_or((false, b), |d| (true, d));
    match (an, bn) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (neg, _) => {
            let mag = ad.len().cmp(&bd.len()).then_with(|| ad.cmp(bd));
            if neg { mag.reverse() } else { mag }
        }
    }
}

/// Exact decimal text of an integral, finite f64 (`-0` becomes `0`).
pub(crate) fn integral_float_text(f: f64) -> String {
    let s = format!("{f:.0}");
    if s == "-0" { "0".to_owned() } else { s }
}

/// Python's exact comparison of an int with a float (`None` when the float is NaN).
fn cmp_int_float(i: &str, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f.is_infinite() {
        return Some(if f > 0.0 {
            Ordering::Less
        } else {
            Ordering::Greater
        });
    }
    // Fast path: integers below 2^53 are exact doubles.
    if let Ok(small) = i.parse::<i64>()
        && small.unsigned_abs() <= (1u64 << 53)
    {
        return (small as f64).partial_cmp(&f);
    }
    let whole = f.trunc();
    match cmp_int_text(i, &integral_float_text(whole)) {
        Ordering::Equal => (0.0).partial_cmp(&(f - whole)),
        other => Some(other),
    }
}

/// Python numeric comparison (`None` when a NaN is involved).
pub(crate) fn num_cmp(a: &Num<'_>, b: &Num<'_>) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(cmp_int_text(x, y)),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(y),
        (Num::Int(x), Num::Float(y)) => cmp_int_float(x, *y),
        (Num::Float(x), Num::Int(y)) => cmp_int_float(y, *x).map(Ordering::reverse),
    }
}

/// True for a Python number that is `<= 0` (used for `version` and freshness limits).
pub(crate) fn num_le_zero(n: &Num<'_>) -> bool {
    match n {
        Num::Int(t) => t.starts_with('-') || t.as_ref() == "0",
        Num::Float(f) => *f <= 0.0,
    }
}

// ---------------------------------------------------------------------------------------------
// Equality and ordering
// ---------------------------------------------------------------------------------------------

/// Python `a == b` for JSON-born values.
pub(crate) fn py_eq(a: V<'_>, b: V<'_>) -> bool {
    match (a.kind(), b.kind()) {
        (K::Null, K::Null) => true,
        (K::Str(x), K::Str(y)) => str_eq(x, y),
        (K::Arr(x), K::Arr(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| py_eq(p, q))
        }
        (K::Obj(x), K::Obj(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => num_cmp(&x, &y) == Some(Ordering::Equal),
            _ => false,
        },
    }
}

/// Python `v == "s"`.
#[inline]
pub(crate) fn eq_str(v: V<'_>, s: &str) -> bool {
    v.as_str().is_some_and(|x| str_eq(x, s))
}

/// Python `a < b` as an ordering for `sorted()`: strings by code point, numbers exactly;
/// anything else raises `TypeError`.
pub(crate) fn py_cmp(a: V<'_>, b: V<'_>) -> PyResult<Ordering> {
    match (a.kind(), b.kind()) {
        (K::Str(x), K::Str(y)) => Ok(x.as_bytes().cmp(y.as_bytes())),
        _ => match (num(a), num(b)) {
            // JSON values cannot be NaN, so the comparison is total here.
            (Some(x), Some(y)) => Ok(num_cmp(&x, &y).unwrap_or(Ordering::Equal)),
            _ => Err(PyError),
        },
    }
}

/// A permutation that `sorted()` would apply; `Identity` when the input is already in order
/// (the common case, which then costs no allocation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Order {
    Identity(usize),
    Perm(Vec<usize>),
}

impl Order {
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        let (n, perm) = match self {
            Order::Identity(n) => (*n, None),
            Order::Perm(p) => (p.len(), Some(p)),
        };
        (0..n).map(move |i| perm.and_then(|p| p.get(i).copied()).unwrap_or(i))
    }
}

/// Stable `sorted()` of keys, or `TypeError` when two keys are not comparable. With fewer than
/// two keys Python compares nothing, so nothing can raise.
pub(crate) fn sorted_order<'v>(n: usize, key: impl Fn(usize) -> V<'v>) -> PyResult<Order> {
    if n < 2 {
        return Ok(Order::Identity(n));
    }
    let all_str = (0..n).all(|i| matches!(key(i).kind(), K::Str(_)));
    // Any mix of types leaves an adjacent incomparable pair in every possible order, and
    // Python's sort compares every adjacent pair of its result, so it raises.
    if !all_str && !(0..n).all(|i| num(key(i)).is_some()) {
        return Err(PyError);
    }
    let cmp = |a: usize, b: usize| py_cmp(key(a), key(b)).unwrap_or(Ordering::Equal);
    if (1..n).all(|i| cmp(i - 1, i) != Ordering::Greater) {
        return Ok(Order::Identity(n));
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| cmp(a, b));
    Ok(Order::Perm(idx))
}

// ---------------------------------------------------------------------------------------------
// str() / repr()
// ---------------------------------------------------------------------------------------------

/// Python `str(v)`, as used by the reference's f-string failure codes.
pub(crate) fn py_str<'d>(v: V<'d>) -> Cow<'d, str> {
    match v.kind() {
        K::Str(s) => Cow::Borrowed(s),
        K::Int(t) => Cow::Borrowed(t),
        _ => {
            let mut out = String::new();
            repr_into(v, &mut out);
            Cow::Owned(out)
        }
    }
}

/// Python `repr(f)` for a float, including the non-finite spellings.
pub(crate) fn float_repr(f: f64) -> String {
    if f.is_nan() {
        "nan".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 {
            "inf".to_owned()
        } else {
            "-inf".to_owned()
        }
    } else {
        python_float_repr(f)
    }
}

fn repr_into(v: V<'_>, out: &mut String) {
    match v.kind() {
        K::Null => out.push_str("None"),
        K::Bool(true) => out.push_str("True"),
        K::Bool(false) => out.push_str("False"),
        K::Int(t) => out.push_str(t),
        K::Float(f) => out.push_str(&float_repr(f)),
        K::Str(s) => repr_str(s, out),
        K::Arr(a) => {
            out.push('[');
            for (n, item) in a.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                repr_into(item, out);
            }
            out.push(']');
        }
        K::Obj(o) => {
            out.push('{');
            for (n, (k, item)) in o.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                repr_str(k, out);
                out.push_str(": ");
                repr_into(item, out);
            }
            out.push('}');
        }
    }
}

/// Python `repr(str)`. Printability of non-ASCII characters is approximated: C1 controls,
/// NBSP, soft hyphen, line/paragraph separators, common format characters, surrogates and
/// private-use characters are escaped; other non-ASCII characters are kept.
fn repr_str(s: &str, out: &mut String) {
    use std::fmt::Write as _;
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..=0xa0).contains(&(c as u32)) || c == '\u{ad}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            '\u{2028}'
            | '\u{2029}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2060}'..='\u{2064}'
            | '\u{feff}'
            | '\u{e000}'..='\u{f8ff}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

// ---------------------------------------------------------------------------------------------
// int() / float()
// ---------------------------------------------------------------------------------------------

/// Whitespace that Python's `int()`/`float()` strip (`str.isspace`).
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Removes single underscores between digits (`1_000`); `None` if placed anywhere else.
fn strip_underscores(s: &str) -> Option<Cow<'_, str>> {
    if !s.contains('_') {
        return Some(Cow::Borrowed(s));
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in b.iter().enumerate() {
        if c == b'_' {
            let before = i
                .checked_sub(1)
                .and_then(|j| b.get(j))
                .is_some_and(u8::is_ascii_digit);
            let after = b.get(i + 1).is_some_and(u8::is_ascii_digit);
            if !(before && after) {
                return None;
            }
        } else {
            out.push(char::from(c));
        }
    }
    Some(Cow::Owned(out))
}

/// Python `int(v)`: exact canonical decimal text.
pub(crate) fn py_int<'d>(v: V<'d>) -> PyResult<Cow<'d, str>> {
    match v.kind() {
        K::Int(t) => Ok(Cow::Borrowed(t)),
        K::Bool(b) => Ok(Cow::Borrowed(if b { "1" } else { "0" })),
        // int(nan) is ValueError, int(inf) OverflowError; otherwise truncation.
        K::Float(f) if f.is_finite() => Ok(Cow::Owned(integral_float_text(f.trunc()))),
        K::Str(s) => int_from_str(s).map(Cow::Owned),
        _ => Err(PyError),
    }
}

fn int_from_str(s: &str) -> PyResult<String> {
    let t = s.trim_matches(is_py_space);
    if !t.is_ascii() {
        // Python also accepts non-ASCII decimal digits; we reject them (never fails open).
        return Err(PyError);
    }
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, t.get(1..).unwrap_or("")),
        Some(b'+') => (false, t.get(1..).unwrap_or("")),
        _ => (false, t),
    };
    let digits = strip_underscores(body).ok_or(PyError)?;
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(PyError);
    }
    if digits.len() > MAX_INT_DIGITS {
        return Err(PyError);
    }
    let trimmed = digits.trim_start_matches('0');
    Ok(match (trimmed.is_empty(), neg) {
        (true, _) => "0".to_owned(),
        (false, true) => format!("-{trimmed}"),
        (false, false) => trimmed.to_owned(),
    })
}

/// Python `float(v)`. Strings may yield NaN or infinities, as in Python.
pub(crate) fn py_float(v: V<'_>) -> PyResult<f64> {
    match v.kind() {
        K::Float(f) => Ok(f),
        K::Bool(b) => Ok(if b { 1.0 } else { 0.0 }),
        K::Int(t) => {
            let f: f64 = t.parse().map_err(|_| PyError)?;
            // float(int) raises OverflowError instead of returning infinity.
            if f.is_finite() { Ok(f) } else { Err(PyError) }
        }
        K::Str(s) => float_from_str(s),
        _ => Err(PyError),
    }
}

fn float_from_str(s: &str) -> PyResult<f64> {
    let t = s.trim_matches(is_py_space);
    if !t.is_ascii() {
        return Err(PyError);
    }
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, t.get(1..).unwrap_or("")),
        Some(b'+') => (false, t.get(1..).unwrap_or("")),
        _ => (false, t),
    };
    let lower = body.to_ascii_lowercase();
    let special = match lower.as_str() {
        "inf" | "infinity" => Some(f64::INFINITY),
        "nan" => Some(f64::NAN),
        _ => None,
    };
    if let Some(x) = special {
        return Ok(if neg { -x } else { x });
    }
    let plain = strip_underscores(body).ok_or(PyError)?;
    if !is_decimal_float(plain.as_bytes()) {
        return Err(PyError);
    }
    // Overflow gives infinity, as Python's float("1e400") does.
    let x: f64 = plain.parse().map_err(|_| PyError)?;
    Ok(if neg { -x } else { x })
}

/// `digits [. [digits]] | . digits`, then an optional exponent.
fn is_decimal_float(b: &[u8]) -> bool {
    let mut i = 0;
    let count = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int_digits = count(&mut i);
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = count(&mut i);
    }
    if int_digits + frac_digits == 0 {
        return false;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        if count(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

// ---------------------------------------------------------------------------------------------
// list() / dict()
// ---------------------------------------------------------------------------------------------

/// Python `list(v)`: a list stays, a string yields its characters, a dict its keys; other
/// types are not iterable.
pub(crate) fn py_list(v: V<'_>) -> PyResult<Arr<'_>> {
    match v.kind() {
        K::Arr(a) => Ok(a),
        K::Str(s) => Ok(Arr::Chars(s)),
        K::Obj(o) => Ok(Arr::Keys(o)),
        _ => Err(PyError),
    }
}

/// Python `dict(v)` for JSON values: a dict stays; an empty list or string gives `{}`.
/// Python would also build a dict from a list of pairs; we reject that form as malformed
/// (it would need non-string keys in the hash, and no producer emits it).
pub(crate) fn py_dict(v: V<'_>) -> PyResult<Obj<'_>> {
    match v.kind() {
        K::Obj(o) => Ok(o),
        K::Arr(a) if a.is_empty() => Ok(Obj::J(&EMPTY_OBJECT)),
        K::Str("") => Ok(Obj::J(&EMPTY_OBJECT)),
        _ => Err(PyError),
    }
}

/// Iterating `v` in a `for` loop whose body needs dict elements (`from_dict(x)` for each x):
/// a list yields its items; an empty string or dict yields nothing; a non-empty string or dict
/// yields strings, on which `from_dict` raises.
pub(crate) fn py_iter_dicts(v: V<'_>) -> PyResult<Arr<'_>> {
    match v.kind() {
        K::Arr(a) => Ok(a),
        K::Str("") => Ok(Arr::J(&[])),
        K::Obj(o) if o.is_empty() => Ok(Arr::J(&[])),
        _ => Err(PyError),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{ParseMode, parse};

    fn owned(s: &str) -> Value {
        parse(s.as_bytes(), ParseMode::Python).unwrap()
    }

    /// Leaks: test-only convenience for a `'static` view.
    fn v(s: &str) -> V<'static> {
        V::J(Box::leak(Box::new(owned(s))))
    }

    #[test]
    fn int_coercions() {
        let ok: &[(&str, &str)] = &[
            ("3", "3"),
            ("true", "1"),
            ("false", "0"),
            ("2.9", "2"),
            ("-2.9", "-2"),
            ("-0.5", "0"),
            ("1e20", "100000000000000000000"),
            ("\" 42 \"", "42"),
            ("\"-007\"", "-7"),
            ("\"1_000\"", "1000"),
            ("\"+5\"", "5"),
        ];
        for (src, want) in ok {
            assert_eq!(py_int(v(src)).unwrap(), *want, "{src}");
        }
        for bad in [
            "null", "[]", "{}", "\"1.0\"", "\"abc\"", "\"\"", "\"1__0\"", "\"_1\"",
        ] {
            assert!(py_int(v(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn float_coercions() {
        assert_eq!(py_float(v("1700000100")).unwrap(), 1_700_000_100.0);
        assert_eq!(py_float(v("\" 1.5e3 \"")).unwrap(), 1500.0);
        assert_eq!(py_float(v("\"1_0.5\"")).unwrap(), 10.5);
        assert_eq!(py_float(v("\".5\"")).unwrap(), 0.5);
        assert_eq!(py_float(v("\"5.\"")).unwrap(), 5.0);
        assert!(py_float(v("\"nan\"")).unwrap().is_nan());
        assert_eq!(py_float(v("\"-Infinity\"")).unwrap(), f64::NEG_INFINITY);
        assert_eq!(py_float(v("\"1e400\"")).unwrap(), f64::INFINITY);
        assert_eq!(py_float(v("true")).unwrap(), 1.0);
        let huge = format!("1{}", "0".repeat(400));
        assert!(py_float(v(&huge)).is_err());
        for bad in ["null", "[]", "\"\"", "\"1e\"", "\"0x10\"", "\".\""] {
            assert!(py_float(v(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn equality_and_order() {
        assert!(py_eq(v("1"), v("1.0")));
        assert!(py_eq(v("true"), v("1")));
        assert!(!py_eq(v("\"1\""), v("1")));
        assert!(py_eq(v("{\"a\":[1,2]}"), v("{\"a\":[1.0,2]}")));
        let big = v("123456789012345678901234567890");
        assert_eq!(
            py_cmp(big, v("1.2345678901234568e29")).unwrap(),
            Ordering::Greater
        );
        assert_eq!(
            py_cmp(v("9007199254740993"), v("9007199254740992.0")).unwrap(),
            Ordering::Greater
        );
        assert!(py_cmp(v("1"), v("\"a\"")).is_err());
        assert!(py_cmp(v("null"), v("null")).is_err());
    }

    #[test]
    fn str_of_values() {
        assert_eq!(py_str(v("null")), "None");
        assert_eq!(py_str(v("true")), "True");
        assert_eq!(py_str(v("1e16")), "1e+16");
        assert_eq!(py_str(v("[\"a\",1,{\"b\":null}]")), "['a', 1, {'b': None}]");
        assert_eq!(py_str(v("[\"it's\"]")), "[\"it's\"]");
    }
}
