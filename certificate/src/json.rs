//! JSON value model that keeps what the reference hashes: the lexical class of every number
//! (int vs float), exact integers, object key order as parsed, and Python's canonical form
//! (CERTIFICATE.md section 3).
//!
//! CONTRACT (shared by maatproof_v1 and maat_v1; keep these names and signatures):
//! - `parse(bytes, ParseMode) -> Result<Value, JsonError>`
//!   * `ParseMode::Python`: duplicate keys keep the LAST value at the FIRST key's position
//!     (Python dict semantics).  `ParseMode::Strict`: a duplicate key is an error.
//!   * both modes reject NaN/Infinity literals, numbers that overflow f64, lone surrogates,
//!     invalid UTF-8, trailing garbage, nesting deeper than `MAX_DEPTH`.
//! - `Value::{Null, Bool, Int, Float, String, Array, Object}` with `JsonInt` exact integers.
//! - `Object`: ordered pairs in input order; `get` returns the (single) value for a key.
//! - `canon_string(&Value) -> String`, `canon_write(&Value, &mut dyn CanonSink)`,
//!   `canon_sha256_hex(&Value) -> String`: `json.dumps(sort_keys, (",", ":"), ensure_ascii=False)`.
//! - `python_float_repr(f64) -> String`.
//! - `is_truthy(&Value) -> bool`: Python truthiness.
//!
//! Additions beyond the contract: [`CanonWriter`] (streaming building blocks for objects that
//! are not held as one `Value`), [`canon_write_ascii`] (`ensure_ascii=True`, legacy hashes),
//! [`canon_bytes`], [`to_json_string`] (compact, input order), typed accessors on [`Value`].

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use sha2::{Digest, Sha256};

/// Deepest nesting of arrays/objects accepted by [`parse`].
pub const MAX_DEPTH: usize = 128;

/// Longest integer literal accepted, in digits. CPython >= 3.11 refuses to convert longer
/// decimal strings (`sys.int_info.default_max_str_digits`), so the reference would crash.
pub const MAX_INT_DIGITS: usize = 4300;

/// How [`parse`] treats duplicate object keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseMode {
    /// Python `json.loads`: the last value wins, at the first key's position.
    Python,
    /// A duplicate key is an error.
    Strict,
}

/// A parse error: byte offset into the input and a short reason.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("malformed JSON at byte {offset}: {reason}")]
pub struct JsonError {
    /// Byte offset into the input where parsing stopped.
    pub offset: usize,
    /// What was wrong there.
    pub reason: String,
}

/// An integer literal kept exactly. `text` is canonical decimal (no leading zeros, no `+`,
/// `-0` normalised to `0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonInt {
    /// Canonical decimal digits, with a leading `-` for negative values.
    pub text: Box<str>,
}

impl JsonInt {
    /// The value if it fits in an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        self.text.parse().ok()
    }
    /// An exact integer from an `i64`.
    pub fn from_i64(v: i64) -> Self {
        JsonInt {
            text: v.to_string().into_boxed_str(),
        }
    }
    /// Nearest f64 (Python `float(int)`), used where the reference mixes ints and floats.
    /// Python raises `OverflowError` above ~1.8e308; that yields ±infinity here, which callers
    /// must treat as malformed.
    pub fn to_f64(&self) -> f64 {
        self.text.parse().unwrap_or(f64::NAN)
    }
    /// True for negative values.
    pub fn is_negative(&self) -> bool {
        self.text.starts_with('-')
    }
    /// True for `0`.
    pub fn is_zero(&self) -> bool {
        &*self.text == "0"
    }
}

/// A JSON value as Python's `json.loads` sees it, keeping int/float apart.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number written without `.`, `e` or `E`, kept exactly.
    Int(JsonInt),
    /// A number written with `.`, `e` or `E`: the nearest double (always finite).
    Float(f64),
    /// A string (lone surrogates are rejected, so always valid UTF-8).
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, members in input order.
    Object(Object),
}

/// Object members in input order (duplicates already resolved per `ParseMode`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Object {
    /// `(key, value)` pairs in input order; keys are unique.
    pub entries: Vec<(String, Value)>,
}

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Object {
            entries: Vec::new(),
        }
    }
    /// The value for `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// True if `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    /// Python `d[key] = value`: replaces in place (keeping the position) or appends.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key, value)),
        }
    }
    /// Number of members.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// True when there are no members.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// Members in input order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }
    /// Keys in input order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }
}

impl FromIterator<(String, Value)> for Object {
    /// Builds with Python dict semantics (a repeated key replaces in place).
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        let mut o = Object::new();
        for (k, v) in iter {
            o.insert(k, v);
        }
        o
    }
}

impl Value {
    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    /// The object, if this is an object.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }
    /// The array, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    /// The boolean, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// The exact integer, if this is an int literal.
    pub fn as_int(&self) -> Option<&JsonInt> {
        match self {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }
    /// The integer as `i64`, if this is an int literal that fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_int().and_then(JsonInt::as_i64)
    }
    /// A number (int or float) as f64. Booleans are not numbers here.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(i.to_f64()),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }
    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// Member lookup when this is an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|o| o.get(key))
    }
    /// Python's type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "str",
            Value::Array(_) => "list",
            Value::Object(_) => "dict",
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(JsonInt::from_i64(i))
    }
}
impl From<Object> for Value {
    fn from(o: Object) -> Self {
        Value::Object(o)
    }
}
impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Self {
        Value::Array(a)
    }
}

/// Python truthiness: `null`, `false`, `0`, `0.0`, `""`, `[]`, `{}` are false.
pub fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Int(i) => !i.is_zero(),
        // NaN is truthy in Python (`bool(float("nan"))`); it cannot come from `parse`.
        Value::Float(f) => *f != 0.0,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

/// Parses one JSON text (RFC 8259, UTF-8, no BOM) into a [`Value`]. Never panics.
pub fn parse(bytes: &[u8], mode: ParseMode) -> Result<Value, JsonError> {
    let mut p = Parser {
        b: bytes,
        i: 0,
        mode,
        members: Vec::new(),
        items: Vec::new(),
    };
    p.skip_ws();
    let v = p.value(0)?;
    p.skip_ws();
    if p.i != bytes.len() {
        return Err(p.err("trailing data after the JSON value"));
    }
    Ok(v)
}

/// Objects with more members than this get a hash index for duplicate detection, so a hostile
/// object cannot make parsing quadratic.
const LINEAR_DUP_SCAN: usize = 16;

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    mode: ParseMode,
    /// Scratch stacks: members/items of the containers being parsed collect here, so each
    /// finished container is allocated once at its exact size.
    members: Vec<(String, Value)>,
    items: Vec<Value>,
}

impl Parser<'_> {
    fn err(&self, reason: impl Into<String>) -> JsonError {
        JsonError {
            offset: self.i,
            reason: reason.into(),
        }
    }

    fn err_at(&self, offset: usize, reason: impl Into<String>) -> JsonError {
        JsonError {
            offset,
            reason: reason.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        match self.peek() {
            None => Err(self.err("unexpected end of input")),
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'N' | b'I') => Err(self.err("NaN and Infinity are not JSON")),
            Some(_) => Err(self.err("expected a JSON value")),
        }
    }

    fn literal(&mut self, word: &[u8], v: Value) -> Result<Value, JsonError> {
        if self.b.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            Some(b'I') => return Err(self.err("NaN and Infinity are not JSON")),
            _ => return Err(self.err("expected a digit")),
        }
        let mut is_float = false;
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.err("expected a digit after the decimal point"));
            }
            is_float = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("expected a digit in the exponent"));
            }
            is_float = true;
        }
        let lit = self.b.get(start..self.i).unwrap_or_default();
        // The grammar above only admits ASCII, so this cannot fail.
        let text = std::str::from_utf8(lit).map_err(|_| self.err_at(start, "bad number"))?;
        if is_float {
            match text.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Value::Float(f)),
                _ => Err(self.err_at(start, "number overflows a double")),
            }
        } else {
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.len() > MAX_INT_DIGITS {
                return Err(self.err_at(start, "integer literal too long"));
            }
            // Leading zeros are excluded by the grammar, so only `-0` needs normalising.
            let canonical = if digits == "0" { "0" } else { text };
            Ok(Value::Int(JsonInt {
                text: canonical.into(),
            }))
        }
    }

    fn hex4(&mut self) -> Result<u16, JsonError> {
        let mut v: u16 = 0;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.err("invalid \\u escape")),
            };
            v = (v << 4) | u16::from(d);
            self.i += 1;
        }
        Ok(v)
    }

    /// Parses a string starting at the opening quote.
    fn string(&mut self) -> Result<String, JsonError> {
        self.i += 1; // opening quote
        let start = self.i;
        // Fast path: no escapes. Scan to the closing quote, noting non-ASCII bytes.
        let mut high = 0u8;
        let rest = self.b.get(start..).unwrap_or_default();
        for (n, &c) in rest.iter().enumerate() {
            if c == b'"' {
                let seg = rest.get(..n).unwrap_or_default();
                let text = if high < 0x80 {
                    // All ASCII: valid UTF-8 by construction.
                    std::str::from_utf8(seg).unwrap_or_default()
                } else {
                    std::str::from_utf8(seg)
                        .map_err(|e| self.err_at(start + e.valid_up_to(), "invalid UTF-8"))?
                };
                self.i = start + n + 1;
                return Ok(text.to_owned());
            }
            if c == b'\\' || c < 0x20 {
                self.i = start + n;
                return self.string_slow(start);
            }
            high |= c;
        }
        self.i = self.b.len();
        Err(self.err("unterminated string"))
    }

    /// The general path, from the first escape or control character on.
    fn string_slow(&mut self, start: usize) -> Result<String, JsonError> {
        let head = self.b.get(start..self.i).unwrap_or_default();
        let head = std::str::from_utf8(head)
            .map_err(|e| self.err_at(start + e.valid_up_to(), "invalid UTF-8"))?;
        let mut out = String::with_capacity(head.len() + 16);
        out.push_str(head);
        loop {
            let seg_start = self.i;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            let seg = self.b.get(seg_start..self.i).unwrap_or_default();
            // Segment boundaries are ASCII bytes, so validating segment by segment is exact.
            let seg = std::str::from_utf8(seg)
                .map_err(|e| self.err_at(seg_start + e.valid_up_to(), "invalid UTF-8"))?;
            out.push_str(seg);
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => return Err(self.err("control character in string")),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        let esc_start = self.i.saturating_sub(1);
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.i += 1;
                let hi = self.hex4()?;
                let cp = match hi {
                    0xD800..=0xDBFF => {
                        // Python joins `\uD8xx\uDCxx`; anything else leaves a lone surrogate,
                        // which the reference cannot encode (UnicodeEncodeError).
                        if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                            return Err(self.err_at(esc_start, "lone surrogate"));
                        }
                        self.i += 2;
                        let lo = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return Err(self.err_at(esc_start, "lone surrogate"));
                        }
                        0x10000 + ((u32::from(hi) - 0xD800) << 10) + (u32::from(lo) - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return Err(self.err_at(esc_start, "lone surrogate")),
                    _ => u32::from(hi),
                };
                let ch = char::from_u32(cp).ok_or_else(|| self.err_at(esc_start, "bad escape"))?;
                out.push(ch);
                return Ok(());
            }
            _ => return Err(self.err("invalid escape")),
        };
        self.i += 1;
        out.push(c);
        Ok(())
    }

    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.i += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::Array(Vec::new()));
        }
        let base = self.items.len();
        let result = self.array_items(depth);
        let items: Vec<Value> = self.items.drain(base..).collect();
        result.map(|()| Value::Array(items))
    }

    fn array_items(&mut self, depth: usize) -> Result<(), JsonError> {
        loop {
            self.skip_ws();
            let v = self.value(depth)?;
            self.items.push(v);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected ',' or ']'")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.i += 1;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::Object(Object {
                entries: Vec::new(),
            }));
        }
        let base = self.members.len();
        let result = self.object_members(depth, base);
        let entries: Vec<(String, Value)> = self.members.drain(base..).collect();
        result.map(|()| Value::Object(Object { entries }))
    }

    fn object_members(&mut self, depth: usize, base: usize) -> Result<(), JsonError> {
        let mut index: Option<HashMap<String, usize>> = None;
        loop {
            self.skip_ws();
            let key_at = self.i;
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a string key"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.err("expected ':'"));
            }
            self.i += 1;
            self.skip_ws();
            let value = self.value(depth)?;
            let mine = self.members.get_mut(base..).unwrap_or_default();
            let existing = match &index {
                Some(map) => map.get(&key).copied(),
                None => mine.iter().position(|(k, _)| *k == key),
            };
            match existing {
                Some(pos) => {
                    if self.mode == ParseMode::Strict {
                        return Err(self.err_at(key_at, "duplicate key"));
                    }
                    if let Some(slot) = mine.get_mut(pos) {
                        slot.1 = value;
                    }
                }
                None => {
                    let n = mine.len();
                    if let Some(map) = &mut index {
                        map.insert(key.clone(), n);
                    }
                    self.members.push((key, value));
                    if index.is_none() && n + 1 > LINEAR_DUP_SCAN {
                        let mine = self.members.get(base..).unwrap_or_default();
                        index = Some(
                            mine.iter()
                                .enumerate()
                                .map(|(i, (k, _))| (k.clone(), i))
                                .collect(),
                        );
                    }
                }
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected ',' or '}'")),
            }
        }
    }
}

/// Index of the first byte that ends or interrupts a JSON string's plain run: `"`, `\\` or a
/// control character (< 0x20). Tests sixteen bytes per step as two 64-bit words (SWAR) with one
/// branch; plain integer registers measured faster here than SSE compares whose mask has to
/// round-trip through memory.
#[inline]
pub fn find_string_special(b: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    // Flags bytes below 0x20, equal to '"', or equal to '\\'. A borrow can only flag bytes
    // above a true match, so the lowest flag (little-endian: the first byte) is exact.
    let special = |x: u64| {
        x.wrapping_sub(LO * 0x20) & !x & HI
            | has_zero(x ^ (LO * u64::from(b'"')))
            | has_zero(x ^ (LO * u64::from(b'\\')))
    };
    let word = |w: &[u8]| <[u8; 8]>::try_from(w).map_or(0, u64::from_le_bytes);
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 16) {
        let (lo, hi) = chunk.split_at(8);
        let (a, c) = (special(word(lo)), special(word(hi)));
        if a | c != 0 {
            let off = if a != 0 {
                a.trailing_zeros() / 8
            } else {
                8 + c.trailing_zeros() / 8
            };
            return Some(i + off as usize);
        }
        i += 16;
    }
    b.get(i..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| i + p)
}

// ---------------------------------------------------------------------------------------------
// Canonical writer
// ---------------------------------------------------------------------------------------------

/// A byte sink for canonical JSON: a buffer, a hasher or a MAC.
pub trait CanonSink {
    /// Appends bytes.
    fn write_bytes(&mut self, bytes: &[u8]);

    /// A growable buffer that [`CanonWriter`] may append to directly, skipping its own
    /// staging buffer (which only pays off in front of hashers).
    fn as_vec(&mut self) -> Option<&mut Vec<u8>> {
        None
    }
}

impl CanonSink for Vec<u8> {
    fn write_bytes(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    fn as_vec(&mut self) -> Option<&mut Vec<u8>> {
        Some(self)
    }
}

impl CanonSink for Sha256 {
    fn write_bytes(&mut self, bytes: &[u8]) {
        Digest::update(self, bytes);
    }
}

impl CanonSink for hmac::Hmac<Sha256> {
    fn write_bytes(&mut self, bytes: &[u8]) {
        hmac::Mac::update(self, bytes);
    }
}

impl<S: CanonSink + ?Sized> CanonSink for &mut S {
    fn write_bytes(&mut self, bytes: &[u8]) {
        (**self).write_bytes(bytes);
    }

    fn as_vec(&mut self) -> Option<&mut Vec<u8>> {
        (**self).as_vec()
    }
}

const WRITER_BUF: usize = 512;

/// Objects up to this many members are key-sorted without allocating.
const SMALL_SORT: usize = 32;

/// Streams canonical JSON into a sink through a small stack buffer, so that many tiny writes
/// (quotes, commas) reach a hasher as few large updates. Call [`CanonWriter::finish`] (or drop
/// it) to flush.
///
/// Besides [`CanonWriter::value`], the building blocks (`raw`, `string`, `float`, ...) let
/// callers emit objects that are not held as a single [`Value`]; they must then write keys in
/// sorted order themselves.
pub struct CanonWriter<'a, S: CanonSink + ?Sized> {
    sink: &'a mut S,
    buf: [u8; WRITER_BUF],
    len: usize,
    ascii: bool,
}

impl<'a, S: CanonSink + ?Sized> CanonWriter<'a, S> {
    /// A writer with `ensure_ascii=False` (the canonical form).
    pub fn new(sink: &'a mut S) -> Self {
        CanonWriter {
            sink,
            buf: [0; WRITER_BUF],
            len: 0,
            ascii: false,
        }
    }

    /// A writer with `ensure_ascii=True` (Python's default, used by the legacy step hash).
    pub fn new_ascii(sink: &'a mut S) -> Self {
        CanonWriter {
            sink,
            buf: [0; WRITER_BUF],
            len: 0,
            ascii: true,
        }
    }

    /// Flushes buffered bytes to the sink.
    pub fn finish(mut self) {
        self.flush();
    }

    /// Flushes and gives access to the sink (e.g. to read a `Vec`'s length as a position).
    pub fn sink(&mut self) -> &mut S {
        self.flush();
        self.sink
    }

    fn flush(&mut self) {
        if self.len > 0 {
            if let Some(b) = self.buf.get(..self.len) {
                self.sink.write_bytes(b);
            }
            self.len = 0;
        }
    }

    /// Writes bytes verbatim (for pre-encoded canonical fragments and punctuation).
    #[inline]
    pub fn raw(&mut self, bytes: &[u8]) {
        if let Some(v) = self.sink.as_vec() {
            v.extend_from_slice(bytes);
            return;
        }
        let end = self.len + bytes.len();
        if let Some(dst) = self.buf.get_mut(self.len..end) {
            dst.copy_from_slice(bytes);
            self.len = end;
            return;
        }
        self.flush();
        if bytes.len() >= WRITER_BUF / 2 {
            self.sink.write_bytes(bytes);
        } else if let Some(dst) = self.buf.get_mut(..bytes.len()) {
            dst.copy_from_slice(bytes);
            self.len = bytes.len();
        }
    }

    /// Writes a JSON string literal with the canonical escapes.
    pub fn string(&mut self, s: &str) {
        let bytes = s.as_bytes();
        if !self.ascii && find_string_special(bytes).is_none() {
            // Nothing to escape (the usual case): one copy.
            self.raw(b"\"");
            self.raw(bytes);
            self.raw(b"\"");
            return;
        }
        self.raw(b"\"");
        let mut run = 0;
        let mut i = 0;
        while let Some(&c) = bytes.get(i) {
            let needs = c < 0x20 || c == b'"' || c == b'\\' || (self.ascii && c >= 0x7f);
            if !needs {
                i += 1;
                continue;
            }
            self.raw(bytes.get(run..i).unwrap_or_default());
            if c >= 0x7f {
                // ensure_ascii: DEL and every non-ASCII char become \uXXXX (UTF-16 units).
                let ch = s
                    .get(i..)
                    .and_then(|t| t.chars().next())
                    .unwrap_or('\u{fffd}');
                let mut units = [0u16; 2];
                for u in ch.encode_utf16(&mut units) {
                    self.u_escape(*u);
                }
                i += ch.len_utf8().max(1);
            } else {
                match c {
                    b'"' => self.raw(b"\\\""),
                    b'\\' => self.raw(b"\\\\"),
                    b'\n' => self.raw(b"\\n"),
                    b'\r' => self.raw(b"\\r"),
                    b'\t' => self.raw(b"\\t"),
                    0x08 => self.raw(b"\\b"),
                    0x0c => self.raw(b"\\f"),
                    _ => self.u_escape(u16::from(c)),
                }
                i += 1;
            }
            run = i;
        }
        self.raw(bytes.get(run..).unwrap_or_default());
        self.raw(b"\"");
    }

    fn u_escape(&mut self, u: u16) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let nib = |shift: u16| HEX[usize::from((u >> shift) & 0xf)];
        self.raw(&[b'\\', b'u', nib(12), nib(8), nib(4), nib(0)]);
    }

    /// Writes a float with Python `repr`.
    pub fn float(&mut self, x: f64) {
        if let Some((digits, start)) = integral_digits(x) {
            // Timestamps, stakes and limits: `<digits>.0` straight from the integer.
            if x.is_sign_negative() {
                self.raw(b"-");
            }
            self.raw(digits.get(start..).unwrap_or_default());
            self.raw(b".0");
            return;
        }
        let mut fb = FloatBuf::default();
        fb.format(x);
        self.raw(fb.bytes());
    }

    /// Writes an exact integer.
    pub fn int(&mut self, i: &JsonInt) {
        self.raw(i.text.as_bytes());
    }

    /// Writes a string the caller knows contains no `"`, `\\` or control character (for
    /// example one a parser delimited without meeting an escape). In ASCII mode non-ASCII
    /// characters are still escaped.
    pub fn plain_string(&mut self, s: &str) {
        if self.ascii {
            self.string(s);
        } else if let Some(v) = self.sink.as_vec() {
            // One capacity check for the whole literal.
            v.reserve(s.len() + 2);
            v.push(b'"');
            v.extend_from_slice(s.as_bytes());
            v.push(b'"');
        } else {
            self.raw(b"\"");
            self.raw(s.as_bytes());
            self.raw(b"\"");
        }
    }

    /// Writes `"key":`.
    pub fn key(&mut self, k: &str) {
        self.string(k);
        self.raw(b":");
    }

    /// Writes any value canonically (keys sorted by code point at every level).
    pub fn value(&mut self, v: &Value) {
        match v {
            Value::Null => self.raw(b"null"),
            Value::Bool(true) => self.raw(b"true"),
            Value::Bool(false) => self.raw(b"false"),
            Value::Int(i) => self.int(i),
            Value::Float(f) => self.float(*f),
            Value::String(s) => self.string(s),
            Value::Array(a) => {
                self.raw(b"[");
                for (n, item) in a.iter().enumerate() {
                    if n > 0 {
                        self.raw(b",");
                    }
                    self.value(item);
                }
                self.raw(b"]");
            }
            Value::Object(o) => self.object(o),
        }
    }

    /// Writes an object canonically (keys sorted by code point).
    pub fn object(&mut self, o: &Object) {
        self.raw(b"{");
        let sorted = o.entries.windows(2).all(|w| match w {
            [a, b] => a.0.as_bytes() <= b.0.as_bytes(),
            _ => true,
        });
        if sorted {
            for (n, (k, v)) in o.entries.iter().enumerate() {
                if n > 0 {
                    self.raw(b",");
                }
                self.key(k);
                self.value(v);
            }
        } else if o.entries.len() <= SMALL_SORT {
            // Sort a stack array of indices, not keys: no allocation for small objects.
            let mut idx = [0u8; SMALL_SORT];
            let n = o.entries.len();
            for (slot, i) in idx.iter_mut().zip(0u8..) {
                *slot = i;
            }
            let idx = idx.get_mut(..n).unwrap_or_default();
            let key = |i: u8| {
                o.entries
                    .get(usize::from(i))
                    .map_or(&[][..], |e| e.0.as_bytes())
            };
            idx.sort_unstable_by(|&a, &b| key(a).cmp(key(b)));
            for (n, &i) in idx.iter().enumerate() {
                if let Some((k, v)) = o.entries.get(usize::from(i)) {
                    if n > 0 {
                        self.raw(b",");
                    }
                    self.key(k);
                    self.value(v);
                }
            }
        } else {
            // UTF-8 byte order equals code point order.
            let mut refs: Vec<&(String, Value)> = o.entries.iter().collect();
            refs.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            for (n, (k, v)) in refs.into_iter().enumerate() {
                if n > 0 {
                    self.raw(b",");
                }
                self.key(k);
                self.value(v);
            }
        }
        self.raw(b"}");
    }

    /// Writes a value as compact JSON in input key order (not canonical).
    fn value_ordered(&mut self, v: &Value) {
        match v {
            Value::Array(a) => {
                self.raw(b"[");
                for (n, item) in a.iter().enumerate() {
                    if n > 0 {
                        self.raw(b",");
                    }
                    self.value_ordered(item);
                }
                self.raw(b"]");
            }
            Value::Object(o) => {
                self.raw(b"{");
                for (n, (k, v)) in o.entries.iter().enumerate() {
                    if n > 0 {
                        self.raw(b",");
                    }
                    self.key(k);
                    self.value_ordered(v);
                }
                self.raw(b"}");
            }
            other => self.value(other),
        }
    }
}

impl<S: CanonSink + ?Sized> Drop for CanonWriter<'_, S> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Writes `canon(v)` (ensure_ascii=False) into `sink`.
pub fn canon_write(v: &Value, sink: &mut dyn CanonSink) {
    CanonWriter::new(sink).value(v);
}

/// Writes `json.dumps(v, sort_keys=True, separators=(",", ":"))` with Python's default
/// `ensure_ascii=True`: DEL and non-ASCII become lowercase `\uXXXX` (surrogate pairs above
/// U+FFFF).
pub fn canon_write_ascii(v: &Value, sink: &mut dyn CanonSink) {
    CanonWriter::new_ascii(sink).value(v);
}

/// `canon(v)` as bytes.
pub fn canon_bytes(v: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    CanonWriter::new(&mut out).value(v);
    out
}

/// `canon(v)` as a string.
pub fn canon_string(v: &Value) -> String {
    // The writer emits only whole UTF-8 strings and ASCII punctuation.
    String::from_utf8(canon_bytes(v)).unwrap_or_default()
}

/// Lowercase hex SHA-256 of `canon(v)`.
pub fn canon_sha256_hex(v: &Value) -> String {
    let mut h = Sha256::new();
    CanonWriter::new(&mut h).value(v);
    hex::encode(h.finalize())
}

/// Compact JSON in input key order (`json.dumps(v, separators=(",", ":"),
/// ensure_ascii=False)` without `sort_keys`): re-serialises a parsed document faithfully.
pub fn to_json_string(v: &Value) -> String {
    let mut out = Vec::with_capacity(256);
    CanonWriter::new(&mut out).value_ordered(v);
    String::from_utf8(out).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Python float repr
// ---------------------------------------------------------------------------------------------

/// Fixed stack buffer for float text (the longest repr is 24 bytes).
struct FloatBuf {
    buf: [u8; 40],
    len: usize,
}

impl Default for FloatBuf {
    fn default() -> Self {
        FloatBuf {
            buf: [0; 40],
            len: 0,
        }
    }
}

impl fmt::Write for FloatBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl FloatBuf {
    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(self.bytes()).unwrap_or("")
    }

    /// Formats `x` as Python `repr(x)` into this buffer.
    fn format(&mut self, x: f64) -> &str {
        self.len = 0;
        if x.is_nan() {
            let _ = self.write_str("NaN");
            return self.as_str();
        }
        if x.is_infinite() {
            let _ = self.write_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
            return self.as_str();
        }
        // Integral values below 1e16 (timestamps, stakes, limits) print as their digits and
        // ".0"; skip the general formatter for them.
        if let Some((digits, start)) = integral_digits(x) {
            if x.is_sign_negative() {
                self.push(b'-');
            }
            for &d in digits.get(start..).unwrap_or_default() {
                self.push(d);
            }
            self.push(b'.');
            self.push(b'0');
            return self.as_str();
        }
        // `{:e}` is the shortest round-trip digit string: "-1.2345e-7", "1e16", "-0e0".
        let mut sci = FloatBuf::default();
        if write!(sci, "{x:e}").is_err() {
            return self.as_str();
        }
        let text = sci.as_str();
        let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let (neg, mantissa) = match mantissa.strip_prefix('-') {
            Some(m) => (true, m),
            None => (false, mantissa),
        };
        let mut digits = [0u8; 24];
        let mut nd = 0usize;
        for &c in mantissa.as_bytes() {
            if c.is_ascii_digit()
                && let Some(slot) = digits.get_mut(nd)
            {
                *slot = c;
                nd += 1;
            }
        }
        fix_halfway_tie(x, &mut digits, nd);
        let digits = digits.get(..nd).unwrap_or_default();
        if neg {
            self.push(b'-');
        }
        if (-4..16).contains(&exp) {
            if exp >= 0 {
                let int_len = exp as usize + 1;
                for k in 0..int_len {
                    self.push(digits.get(k).copied().unwrap_or(b'0'));
                }
                self.push(b'.');
                match digits.get(int_len..) {
                    Some(frac) if !frac.is_empty() => frac.iter().for_each(|&d| self.push(d)),
                    _ => self.push(b'0'),
                }
            } else {
                self.push(b'0');
                self.push(b'.');
                for _ in 0..(-exp - 1) {
                    self.push(b'0');
                }
                digits.iter().for_each(|&d| self.push(d));
            }
        } else {
            if let Some((first, rest)) = digits.split_first() {
                self.push(*first);
                if !rest.is_empty() {
                    self.push(b'.');
                    rest.iter().for_each(|&d| self.push(d));
                }
            }
            let _ = write!(
                self,
                "e{}{:02}",
                if exp < 0 { '-' } else { '+' },
                exp.unsigned_abs()
            );
        }
        self.as_str()
    }
}

/// The decimal digits of `|x|` when `x` is integral and below 1e16 (where `repr` is just the
/// digits and `.0`), right-aligned in the buffer, with the index of the first digit.
#[inline]
fn integral_digits(x: f64) -> Option<([u8; 20], usize)> {
    // The range test comes first so the cast is exact; `as` instead of `fract()`, which is a
    // libm call on baseline x86_64.
    if x.is_nan() || x.abs() >= 1e16 || (x as i64) as f64 != x {
        return None;
    }
    let mut n = x.abs() as u64;
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        start -= 1;
        if n == 0 {
            break;
        }
    }
    Some((digits, start))
}

/// Python's `repr` (David Gay's `dtoa` mode 0) breaks a tie between two equally near shortest
/// digit strings to the even one; Rust's shortest formatting rounds such a tie up
/// (583146763786975.25 is `...975.2` in Python, `...975.3` in Rust). A tie needs the exact
/// binary value to have exactly one more significant decimal digit than the shortest form, and
/// that digit to be 5, so check that and take the even candidate when it round-trips.
fn fix_halfway_tie(x: f64, digits: &mut [u8; 24], nd: usize) {
    // Integers below 2^53 print exactly (their shortest form is their digits): no ties.
    if nd == 0 || (x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0) {
        return;
    }
    // 18 significant digits, exact when the value has at most that many.
    let mut exact = FloatBuf::default();
    if write!(exact, "{:.17e}", x.abs()).is_err() {
        return;
    }
    let text = exact.as_str();
    let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
    let sig: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let sig = match sig.iter().rposition(|&d| d != b'0') {
        Some(last) => sig.get(..=last).unwrap_or_default(),
        None => return,
    };
    if sig.len() != nd + 1 || sig.last() != Some(&b'5') {
        return;
    }
    // Rare: confirm exactness (a double has at most 767 significant digits).
    let full = format!("{:.800e}", x.abs());
    let full_sig = full.split_once('e').map_or(full.as_str(), |(m, _)| m);
    let mut full_digits = full_sig.bytes().filter(u8::is_ascii_digit);
    if !sig.iter().all(|&d| full_digits.next() == Some(d)) || !full_digits.all(|d| d == b'0') {
        return;
    }
    // The exact value sits halfway between T (its first nd digits) and T + 1.
    let Some(truncated) = sig.get(..nd) else {
        return;
    };
    if truncated
        .last()
        .is_some_and(|d| (d - b'0').is_multiple_of(2))
        && truncated != digits.get(..nd).unwrap_or_default()
    {
        // Only if T reads back as x (a tie at exactly half an ulp may not).
        let mut candidate = FloatBuf::default();
        let t = std::str::from_utf8(truncated).unwrap_or("0");
        let (first, rest) = t.split_at(1.min(t.len()));
        if write!(candidate, "{first}.{rest}0e{exp}").is_err() {
            return;
        }
        if candidate.as_str().parse::<f64>().ok() == Some(x.abs())
            && let Some(dst) = digits.get_mut(..nd)
        {
            dst.copy_from_slice(truncated);
        }
    }
}

/// Python `repr(x)` for a float: shortest round-trip digits, positional when the decimal
/// exponent is in `-4..16` (always with a fractional part), else `d[.ddd]e±XX`.
pub fn python_float_repr(x: f64) -> String {
    FloatBuf::default().format(x).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Value, JsonError> {
        parse(s.as_bytes(), ParseMode::Python)
    }

    #[test]
    #[allow(clippy::excessive_precision)] // the literals are the exact binary values
    fn float_repr_known_cases() {
        let cases: &[(f64, &str)] = &[
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1.5e-7, "1.5e-07"),
            (1e22, "1e+22"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.1, "0.1"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (1700000100.0, "1700000100.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (0.875, "0.875"),
            (1.2345678901234569e23, "1.2345678901234569e+23"),
            (-2.5e-300, "-2.5e-300"),
            (9999999999999998.0, "9999999999999998.0"),
            (100.0, "100.0"),
            (0.00012, "0.00012"),
            // Halfway ties between two shortest candidates go to the even digit, as in Python.
            (583146763786975.25, "583146763786975.2"),
            (-30452248614633.5625, "-30452248614633.562"),
            (222158783180050.625, "222158783180050.62"),
            (0.5, "0.5"),
            (2.5, "2.5"),
        ];
        for (x, want) in cases {
            assert_eq!(python_float_repr(*x), *want, "{x:e}");
        }
    }

    #[test]
    fn writer_float_matches_repr() {
        // The writer's integral shortcut must agree with the general formatter.
        let mut xs = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            1700000100.0,
            9999999999999998.0,
            1e16,
            -1e16,
            1e15,
            0.5,
            -2.5,
            1e300,
            f64::MIN_POSITIVE,
        ];
        let mut seed = 0x243f_6a88_85a3_08d3u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let x = f64::from_bits(seed);
            if x.is_finite() {
                xs.push(x);
                xs.push(x.trunc());
                // Integral values of every magnitude below and around 2^53.
                xs.push((seed >> (seed % 64)) as f64);
            }
        }
        for x in xs {
            let mut out = Vec::new();
            CanonWriter::new(&mut out).float(x);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                python_float_repr(x),
                "{x:e}"
            );
        }
    }

    #[test]
    fn ints_are_exact_and_minus_zero_normalises() {
        let v = p("[-0, 123456789012345678901234567890, -5]").unwrap();
        assert_eq!(canon_string(&v), "[0,123456789012345678901234567890,-5]");
    }

    #[test]
    fn rejects_bad_inputs() {
        for bad in [
            "NaN",
            "Infinity",
            "-Infinity",
            "[1e400]",
            "[-1e400]",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "01",
            "[1,]",
            "{\"a\":1,}",
            "\"a\nb\"",
            "[1] x",
            "",
            "tru",
            "1.",
            "1e",
            "-",
            "\u{feff}1",
        ] {
            assert!(p(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse(b"\"\xff\"", ParseMode::Python).is_err());
        assert!(parse(b"\"\xc3\"", ParseMode::Python).is_err());
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(p(&deep).is_err());
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(p(&ok).is_ok());
    }

    #[test]
    fn duplicate_keys() {
        let v = p(r#"{"a":1,"b":2,"a":3}"#).unwrap();
        let o = v.as_object().unwrap();
        assert_eq!(o.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(o.get("a"), Some(&Value::from(3)));
        assert!(parse(br#"{"a":1,"b":2,"a":3}"#, ParseMode::Strict).is_err());
        // Large objects use the hash index; same semantics.
        let mut s = String::from("{");
        for i in 0..40 {
            s += &format!("\"k{i}\":{i},");
        }
        s += "\"k3\":99}";
        let v = p(&s).unwrap();
        let o = v.as_object().unwrap();
        assert_eq!(o.len(), 40);
        assert_eq!(o.entries[3], ("k3".to_owned(), Value::from(99)));
        assert!(parse(s.as_bytes(), ParseMode::Strict).is_err());
    }

    #[test]
    fn ascii_escaping() {
        let v = p(r#"["d\u00e9 \u2713 \ud83d\ude80 \u007f"]"#).unwrap();
        let mut out = Vec::new();
        canon_write_ascii(&v, &mut out);
        assert_eq!(out, br#"["d\u00e9 \u2713 \ud83d\ude80 \u007f"]"#);
        assert_eq!(canon_string(&v), "[\"d\u{e9} \u{2713} \u{1f680} \u{7f}\"]");
    }

    #[test]
    fn string_special_scan_matches_naive() {
        let naive = |b: &[u8]| b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..80 {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        // Mostly plain bytes, sometimes a special one, sometimes high bytes.
                        match seed % 23 {
                            0 => b'"',
                            1 => b'\\',
                            2 => (seed >> 8) as u8 % 0x20,
                            3 => 0x80 | (seed >> 8) as u8,
                            _ => 0x20 + (seed >> 8) as u8 % 0x5f,
                        }
                    })
                    .collect();
                assert_eq!(find_string_special(&bytes), naive(&bytes), "{bytes:?}");
            }
        }
    }

    #[test]
    fn truthiness() {
        for (s, t) in [
            ("null", false),
            ("false", false),
            ("true", true),
            ("0", false),
            ("-0", false),
            ("0.0", false),
            ("-0.0", false),
            ("1", true),
            ("0.5", true),
            ("\"\"", false),
            ("\"0\"", true),
            ("[]", false),
            ("[0]", true),
            ("{}", false),
            ("{\"a\":null}", true),
        ] {
            assert_eq!(is_truthy(&p(s).unwrap()), t, "{s}");
        }
    }
}
