//! A borrowed JSON view for the checker's hot path.
//!
//! [`parse_doc`] reads a certificate into one flat node array whose strings borrow from the
//! input (only strings with escapes are copied, into one side buffer): a handful of allocations
//! per certificate instead of one per string and container. [`V`] is a copyable handle that
//! views either such a document, an owned [`Value`] (for `check_value`), or a bare string (the
//! items of Python's `list("abc")` / `list(dict)`), so the model and the checks are written once.
//!
//! The grammar and limits are exactly those of [`crate::json::parse`] in `ParseMode::Python`
//! (a test holds the two parsers to the same verdict and the same values).

use std::collections::HashMap;

use crate::json::{MAX_DEPTH, MAX_INT_DIGITS, Object, Value, find_string_special};

/// One parsed value. Containers point at their children in `Doc::nodes`: `Arr(start, n)` is
/// `n` nodes, `Obj(start, n)` is `n` (key, value) pairs stored as `2n` nodes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Node<'a> {
    Null,
    Bool(bool),
    /// Canonical decimal text.
    Int(&'a str),
    Float(f64),
    /// A string without escapes, borrowed from the input.
    Str(&'a str),
    /// A string with escapes: a range of `Doc::side`.
    Esc(u32, u32),
    Arr(u32, u32),
    Obj(u32, u32),
}

/// A parsed document: the root, its descendants, and unescaped string text.
pub(crate) struct Doc<'a> {
    nodes: Vec<Node<'a>>,
    side: String,
    root: Node<'a>,
}

impl<'a> Doc<'a> {
    /// The root value.
    pub fn root(&self) -> V<'_> {
        V::D(self, &self.root)
    }

    fn text(&self, n: Node<'a>) -> Option<&str> {
        match n {
            Node::Str(s) => Some(s),
            Node::Esc(s, e) => self.side.get(s as usize..e as usize),
            _ => None,
        }
    }
}

/// The input is not JSON that the reference could hash (any [`crate::json::parse`] error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DocError;

/// Parses like `json::parse(bytes, ParseMode::Python)`, into a borrowed [`Doc`].
pub(crate) fn parse_doc(bytes: &[u8]) -> Result<Doc<'_>, DocError> {
    // Validating all of the input up front lets strings be sliced without re-checking.
    let text = std::str::from_utf8(bytes).map_err(|_| DocError)?;
    let mut p = P {
        t: text,
        b: bytes,
        i: 0,
        nodes: Vec::with_capacity(bytes.len() / 8 + 64),
        stack: Vec::with_capacity(64),
        side: String::new(),
    };
    p.ws();
    p.value(0)?;
    p.ws();
    if p.i != bytes.len() {
        return Err(DocError);
    }
    let root = p.stack.pop().ok_or(DocError)?;
    Ok(Doc {
        nodes: p.nodes,
        side: p.side,
        root,
    })
}

const LINEAR_DUP_SCAN: usize = 16;

/// A `d.ddd` literal (no exponent) with at most 15 digits, given as the digits read as one
/// integer `mant` and the count after the point: the digits and the power of ten are exact
/// doubles, so one correctly rounded division gives the same value as `str::parse` (Clinger's
/// fast path) without the general algorithm. Timestamps, stakes and limits take this path.
fn short_decimal(neg: bool, mant: u64, digits: usize, frac_digits: usize) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    if digits > 15 {
        return None;
    }
    let x = mant as f64 / POW10.get(frac_digits)?;
    Some(if neg { -x } else { x })
}

/// One bit of a 64-bit filter per object key: a key whose bit is not yet set cannot be a
/// duplicate, so the usual all-distinct object skips the pairwise comparison.
#[inline]
fn key_bit(k: &str) -> u64 {
    let b = k.as_bytes();
    let first = usize::from(b.first().copied().unwrap_or(0));
    let last = usize::from(b.last().copied().unwrap_or(0));
    1u64 << ((b.len() * 7 + first * 3 + last * 5) & 63)
}

struct P<'a> {
    t: &'a str,
    b: &'a [u8],
    i: usize,
    nodes: Vec<Node<'a>>,
    /// Children of the containers being parsed; moved to `nodes` when a container closes.
    stack: Vec<Node<'a>>,
    side: String,
}

impl<'a> P<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// Parses one value and pushes its node on `stack` (values are not returned by value:
    /// moving the node through the return slot stalled on store forwarding).
    fn value(&mut self, depth: usize) -> Result<(), DocError> {
        let node = match self.peek() {
            Some(b'{') => return self.object(depth + 1),
            Some(b'[') => return self.array(depth + 1),
            Some(b'"') => return self.string(),
            Some(b't') => self.literal(b"true", Node::Bool(true))?,
            Some(b'f') => self.literal(b"false", Node::Bool(false))?,
            Some(b'n') => self.literal(b"null", Node::Null)?,
            Some(b'-' | b'0'..=b'9') => return self.number(),
            _ => return Err(DocError),
        };
        self.stack.push(node);
        Ok(())
    }

    fn literal(&mut self, word: &[u8], n: Node<'a>) -> Result<Node<'a>, DocError> {
        if self.b.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(n)
        } else {
            Err(DocError)
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    /// Digits from here on, each also folded into `mant` (wrapping: the value is only used
    /// when there are few enough digits to be exact). Returns how many.
    fn digits_into(&mut self, mant: &mut u64) -> usize {
        let start = self.i;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            *mant = mant.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<(), DocError> {
        let start = self.i;
        let neg = self.peek() == Some(b'-');
        if neg {
            self.i += 1;
        }
        let mut mant = 0u64;
        let int_digits = match self.peek() {
            Some(b'0') => {
                self.i += 1;
                1
            }
            Some(b'1'..=b'9') => self.digits_into(&mut mant),
            _ => return Err(DocError),
        };
        let mut frac_digits = 0;
        let mut is_float = false;
        if self.peek() == Some(b'.') {
            self.i += 1;
            frac_digits = self.digits_into(&mut mant);
            if frac_digits == 0 {
                return Err(DocError);
            }
            is_float = true;
        }
        let mut has_exp = false;
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(DocError);
            }
            is_float = true;
            has_exp = true;
        }
        let text = self.t.get(start..self.i).ok_or(DocError)?;
        let node = if is_float {
            let fast = if has_exp {
                None
            } else {
                short_decimal(neg, mant, int_digits + frac_digits, frac_digits)
            };
            match fast.map_or_else(|| text.parse::<f64>(), Ok) {
                Ok(f) if f.is_finite() => Node::Float(f),
                _ => return Err(DocError),
            }
        } else {
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.len() > MAX_INT_DIGITS {
                return Err(DocError);
            }
            Node::Int(if digits == "0" { "0" } else { text })
        };
        self.stack.push(node);
        Ok(())
    }

    /// A string starting at the opening quote; pushes its node.
    fn string(&mut self) -> Result<(), DocError> {
        self.push_string().map(|_| ())
    }

    /// A string starting at the opening quote: pushes its node and returns its text when it
    /// had no escapes. Inlined into the container loops, where most strings are met (keys and
    /// string items), so a plain string costs no call. The node is built in place on the
    /// stack: passing a `Node` through a `Result` went through memory byte by byte and then
    /// stalled the 16-byte reload (store forwarding), a sixth of the parse time.
    #[inline(always)]
    fn push_string(&mut self) -> Result<Option<&'a str>, DocError> {
        let start = self.i + 1;
        let rest = self.b.get(start..).unwrap_or_default();
        let Some(n) = find_string_special(rest) else {
            return Err(DocError);
        };
        if rest.get(n) == Some(&b'"') {
            self.i = start + n + 1;
            let text = self.t.get(start..start + n).ok_or(DocError)?;
            self.stack.push(Node::Str(text));
            return Ok(Some(text));
        }
        self.i = start + n;
        let node = self.string_escaped(start)?;
        self.stack.push(node);
        Ok(None)
    }

    fn string_escaped(&mut self, start: usize) -> Result<Node<'a>, DocError> {
        let s0 = self.side.len();
        self.side
            .push_str(self.t.get(start..self.i).ok_or(DocError)?);
        loop {
            let seg = self.i;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            self.side.push_str(self.t.get(seg..self.i).ok_or(DocError)?);
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    let (a, b) = (u32::try_from(s0), u32::try_from(self.side.len()));
                    return match (a, b) {
                        (Ok(a), Ok(b)) => Ok(Node::Esc(a, b)),
                        _ => Err(DocError),
                    };
                }
                Some(b'\\') => {
                    self.i += 1;
                    self.escape()?;
                }
                _ => return Err(DocError),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, DocError> {
        let h = self.t.get(self.i..self.i + 4).ok_or(DocError)?;
        if !h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(DocError);
        }
        self.i += 4;
        u32::from_str_radix(h, 16).map_err(|_| DocError)
    }

    fn escape(&mut self) -> Result<(), DocError> {
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
                        // Only a following low surrogate completes the pair.
                        if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                            return Err(DocError);
                        }
                        self.i += 2;
                        let lo = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return Err(DocError);
                        }
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return Err(DocError),
                    _ => hi,
                };
                self.side.push(char::from_u32(cp).ok_or(DocError)?);
                return Ok(());
            }
            _ => return Err(DocError),
        };
        self.i += 1;
        self.side.push(c);
        Ok(())
    }

    /// Moves the children collected since `base` to `nodes`; returns their start index.
    fn close(&mut self, base: usize) -> Result<u32, DocError> {
        let start = u32::try_from(self.nodes.len()).map_err(|_| DocError)?;
        // Nodes are `Copy`: one memcpy, then drop the moved tail.
        self.nodes
            .extend_from_slice(self.stack.get(base..).unwrap_or_default());
        self.stack.truncate(base);
        Ok(start)
    }

    /// An array item or member value: strings inline, anything else through [`P::value`].
    #[inline(always)]
    fn item(&mut self, depth: usize) -> Result<(), DocError> {
        if self.peek() == Some(b'"') {
            self.push_string().map(|_| ())
        } else {
            self.value(depth)
        }
    }

    #[inline(never)]
    fn array(&mut self, depth: usize) -> Result<(), DocError> {
        if depth > MAX_DEPTH {
            return Err(DocError);
        }
        self.i += 1;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            self.stack.push(Node::Arr(0, 0));
            return Ok(());
        }
        let base = self.stack.len();
        loop {
            self.ws();
            self.item(depth)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    break;
                }
                _ => return Err(DocError),
            }
        }
        let n = u32::try_from(self.stack.len() - base).map_err(|_| DocError)?;
        let start = self.close(base)?;
        self.stack.push(Node::Arr(start, n));
        Ok(())
    }

    fn key_text(&self, n: Node<'a>) -> &str {
        match n {
            Node::Str(s) => s,
            Node::Esc(s, e) => self.side.get(s as usize..e as usize).unwrap_or(""),
            _ => "",
        }
    }

    fn at(&self, i: usize) -> Node<'a> {
        self.stack.get(i).copied().unwrap_or(Node::Null)
    }

    #[inline(never)]
    fn object(&mut self, depth: usize) -> Result<(), DocError> {
        if depth > MAX_DEPTH {
            return Err(DocError);
        }
        self.i += 1;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            self.stack.push(Node::Obj(0, 0));
            return Ok(());
        }
        let base = self.stack.len();
        let mut index: Option<HashMap<String, usize>> = None;
        let mut filter = 0u64;
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(DocError);
            }
            // Key then value go on the stack; a duplicate is folded back below.
            let plain_key = self.push_string()?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(DocError);
            }
            self.i += 1;
            self.ws();
            self.item(depth)?;
            let top = self.stack.len();
            let pairs = (top - base) / 2 - 1;
            let k = match plain_key {
                Some(k) => k,
                None => self.key_text(self.at(top - 2)),
            };
            let bit = key_bit(k);
            let existing = match &index {
                Some(map) => map.get(k).copied(),
                None if filter & bit == 0 => None,
                None => (0..pairs).find(|j| self.key_text(self.at(base + 2 * j)) == k),
            };
            filter |= bit;
            match existing {
                // Python keeps the last value at the first key's position.
                Some(j) => {
                    let value = self.at(top - 1);
                    self.stack.truncate(top - 2);
                    if let Some(slot) = self.stack.get_mut(base + 2 * j + 1) {
                        *slot = value;
                    }
                }
                None => {
                    if let Some(map) = &mut index {
                        map.insert(k.to_owned(), pairs);
                    } else if pairs + 1 > LINEAR_DUP_SCAN {
                        let mut map = HashMap::new();
                        for j in 0..=pairs {
                            map.insert(self.key_text(self.at(base + 2 * j)).to_owned(), j);
                        }
                        index = Some(map);
                    }
                }
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    break;
                }
                _ => return Err(DocError),
            }
        }
        let n = u32::try_from((self.stack.len() - base) / 2).map_err(|_| DocError)?;
        let start = self.close(base)?;
        self.stack.push(Node::Obj(start, n));
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

/// `a == b` without a `memcmp` call for the short strings that keys and ids are: lengths
/// first, then at most two overlapping 8-byte words (or 4-byte words, or bytes).
#[inline(always)]
pub(crate) fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let w8 = |s: &[u8], i: usize| {
        s.get(i..i + 8)
            .and_then(|c| <[u8; 8]>::try_from(c).ok())
            .map_or(0, u64::from_ne_bytes)
    };
    let w4 = |s: &[u8], i: usize| {
        s.get(i..i + 4)
            .and_then(|c| <[u8; 4]>::try_from(c).ok())
            .map_or(0, u32::from_ne_bytes)
    };
    match n {
        0..=3 => a == b,
        4..=7 => w4(a, 0) == w4(b, 0) && w4(a, n - 4) == w4(b, n - 4),
        8..=16 => w8(a, 0) == w8(b, 0) && w8(a, n - 8) == w8(b, n - 8),
        _ => a == b,
    }
}

/// A JSON value seen through a parsed [`Doc`], an owned [`Value`], or a bare string.
#[derive(Clone, Copy)]
pub(crate) enum V<'d> {
    D(&'d Doc<'d>, &'d Node<'d>),
    J(&'d Value),
    S(&'d str),
}

/// What a [`V`] is.
pub(crate) enum K<'d> {
    Null,
    Bool(bool),
    Int(&'d str),
    Float(f64),
    Str(&'d str),
    Arr(Arr<'d>),
    Obj(Obj<'d>),
}

/// An array view. `Chars` and `Keys` are Python's `list(str)` and `list(dict)`.
#[derive(Clone, Copy)]
pub(crate) enum Arr<'d> {
    D(&'d Doc<'d>, u32, u32),
    J(&'d [Value]),
    Chars(&'d str),
    Keys(Obj<'d>),
}

/// An object view.
#[derive(Clone, Copy)]
pub(crate) enum Obj<'d> {
    D(&'d Doc<'d>, u32, u32),
    J(&'d Object),
}

impl<'d> V<'d> {
    /// Always inlined: callers match on the result at once, so the two nested matches fold
    /// into one (this was the hottest small function of the checks).
    #[inline(always)]
    pub fn kind(self) -> K<'d> {
        match self {
            V::S(s) => K::Str(s),
            V::J(v) => match v {
                Value::Null => K::Null,
                Value::Bool(b) => K::Bool(*b),
                Value::Int(i) => K::Int(&i.text),
                Value::Float(f) => K::Float(*f),
                Value::String(s) => K::Str(s),
                Value::Array(a) => K::Arr(Arr::J(a)),
                Value::Object(o) => K::Obj(Obj::J(o)),
            },
            V::D(d, n) => match *n {
                Node::Null => K::Null,
                Node::Bool(b) => K::Bool(b),
                Node::Int(t) => K::Int(t),
                Node::Float(f) => K::Float(f),
                Node::Str(s) => K::Str(s),
                Node::Esc(..) => K::Str(d.text(*n).unwrap_or("")),
                Node::Arr(s, l) => K::Arr(Arr::D(d, s, l)),
                Node::Obj(s, l) => K::Obj(Obj::D(d, s, l)),
            },
        }
    }

    #[inline]
    pub fn as_str(self) -> Option<&'d str> {
        match self.kind() {
            K::Str(s) => Some(s),
            _ => None,
        }
    }

    #[inline]
    pub fn as_obj(self) -> Option<Obj<'d>> {
        match self.kind() {
            K::Obj(o) => Some(o),
            _ => None,
        }
    }

    #[inline]
    pub fn is_null(self) -> bool {
        matches!(self.kind(), K::Null)
    }

    /// The string, when it was read from the input without escapes (so it needs none).
    #[inline]
    pub fn plain_str(self) -> Option<&'d str> {
        match self {
            V::D(_, Node::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// `x is True`.
    #[inline]
    pub fn is_true(self) -> bool {
        matches!(self.kind(), K::Bool(true))
    }
}

impl<'d> Doc<'d> {
    /// The `n` nodes starting at `start`.
    #[inline]
    fn span(&self, start: u32, n: usize) -> &[Node<'d>] {
        let s = start as usize;
        self.nodes.get(s..s + n).unwrap_or_default()
    }

    #[inline]
    fn key(&self, n: &Node<'d>) -> &str {
        match *n {
            Node::Str(s) => s,
            Node::Esc(a, b) => self.side.get(a as usize..b as usize).unwrap_or(""),
            _ => "",
        }
    }
}

impl<'d> Arr<'d> {
    pub fn len(self) -> usize {
        match self {
            Arr::D(_, _, l) => l as usize,
            Arr::J(a) => a.len(),
            Arr::Chars(s) => s.chars().count(),
            Arr::Keys(o) => o.len(),
        }
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn get(self, i: usize) -> Option<V<'d>> {
        match self {
            Arr::D(d, s, l) => d.span(s, l as usize).get(i).map(|n| V::D(d, n)),
            Arr::J(a) => a.get(i).map(V::J),
            Arr::Chars(s) => s
                .char_indices()
                .nth(i)
                .and_then(|(b, c)| s.get(b..b + c.len_utf8()))
                .map(V::S),
            Arr::Keys(o) => o.entry(i).map(|(k, _)| V::S(k)),
        }
    }

    pub fn iter(self) -> ArrIter<'d> {
        match self {
            Arr::D(d, s, l) => ArrIter::D(d, d.span(s, l as usize).iter()),
            Arr::J(a) => ArrIter::J(a.iter()),
            Arr::Chars(s) => ArrIter::Chars(s, s.char_indices()),
            Arr::Keys(o) => ArrIter::Keys(o.iter()),
        }
    }
}

/// Iterator over an [`Arr`].
pub(crate) enum ArrIter<'d> {
    D(&'d Doc<'d>, std::slice::Iter<'d, Node<'d>>),
    J(std::slice::Iter<'d, Value>),
    Chars(&'d str, std::str::CharIndices<'d>),
    Keys(ObjIter<'d>),
}

impl<'d> Iterator for ArrIter<'d> {
    type Item = V<'d>;

    #[inline]
    fn next(&mut self) -> Option<V<'d>> {
        match self {
            ArrIter::D(d, it) => it.next().map(|n| V::D(d, n)),
            ArrIter::J(it) => it.next().map(V::J),
            ArrIter::Chars(s, it) => {
                let (b, c) = it.next()?;
                s.get(b..b + c.len_utf8()).map(V::S)
            }
            ArrIter::Keys(it) => it.next().map(|(k, _)| V::S(k)),
        }
    }
}

/// Iterator over an [`Obj`]'s members in input order.
pub(crate) enum ObjIter<'d> {
    D(&'d Doc<'d>, std::slice::ChunksExact<'d, Node<'d>>),
    J(std::slice::Iter<'d, (String, Value)>),
}

impl<'d> Iterator for ObjIter<'d> {
    type Item = (&'d str, V<'d>);

    #[inline]
    fn next(&mut self) -> Option<(&'d str, V<'d>)> {
        match self {
            ObjIter::D(d, it) => match it.next()? {
                [k, v] => Some((d.key(k), V::D(d, v))),
                _ => None,
            },
            ObjIter::J(it) => it.next().map(|(k, v)| (k.as_str(), V::J(v))),
        }
    }
}

/// A list with O(1) indexing: an array view, or the materialised items of `list(str)` /
/// `list(dict)` (whose views index in O(n)).
pub(crate) enum List<'d> {
    A(Arr<'d>),
    Owned(Vec<V<'d>>),
}

impl<'d> List<'d> {
    pub fn new(a: Arr<'d>) -> Self {
        match a {
            Arr::Chars(_) | Arr::Keys(_) => List::Owned(a.iter().collect()),
            other => List::A(other),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            List::A(a) => a.len(),
            List::Owned(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> Option<V<'d>> {
        match self {
            List::A(a) => a.get(i),
            List::Owned(v) => v.get(i).copied(),
        }
    }

    pub fn iter(&self) -> ListIter<'_, 'd> {
        match self {
            List::A(a) => ListIter::A(a.iter()),
            List::Owned(v) => ListIter::Owned(v.iter()),
        }
    }
}

/// Iterator over a [`List`].
pub(crate) enum ListIter<'l, 'd> {
    A(ArrIter<'d>),
    Owned(std::slice::Iter<'l, V<'d>>),
}

impl<'d> Iterator for ListIter<'_, 'd> {
    type Item = V<'d>;

    #[inline]
    fn next(&mut self) -> Option<V<'d>> {
        match self {
            ListIter::A(it) => it.next(),
            ListIter::Owned(it) => it.next().copied(),
        }
    }
}

impl<'d> Obj<'d> {
    pub fn len(self) -> usize {
        match self {
            Obj::D(_, _, l) => l as usize,
            Obj::J(o) => o.len(),
        }
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The `i`-th member in input order.
    #[inline]
    pub fn entry(self, i: usize) -> Option<(&'d str, V<'d>)> {
        match self {
            Obj::D(d, s, l) => match d.span(s, 2 * l as usize).get(2 * i..2 * i + 2) {
                Some([k, v]) => Some((d.key(k), V::D(d, v))),
                _ => None,
            },
            Obj::J(o) => o.entries.get(i).map(|(k, v)| (k.as_str(), V::J(v))),
        }
    }

    /// The `i`-th member with its key as a view (see [`V::plain_str`]).
    #[inline]
    pub fn entry_v(self, i: usize) -> Option<(V<'d>, V<'d>)> {
        match self {
            Obj::D(d, s, l) => match d.span(s, 2 * l as usize).get(2 * i..2 * i + 2) {
                Some([k, v]) => Some((V::D(d, k), V::D(d, v))),
                _ => None,
            },
            Obj::J(o) => o.entries.get(i).map(|(k, v)| (V::S(k.as_str()), V::J(v))),
        }
    }

    /// Inlined so that a constant `key` specializes the comparison to its length.
    #[inline]
    pub fn get(self, key: &str) -> Option<V<'d>> {
        match self {
            Obj::J(o) => o.get(key).map(V::J),
            Obj::D(d, s, l) => d
                .span(s, 2 * l as usize)
                .chunks_exact(2)
                .find_map(|kv| match kv {
                    [k, v] if str_eq(d.key(k), key) => Some(V::D(d, v)),
                    _ => None,
                }),
        }
    }

    pub fn contains_key(self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn iter(self) -> ObjIter<'d> {
        match self {
            Obj::D(d, s, l) => ObjIter::D(d, d.span(s, 2 * l as usize).chunks_exact(2)),
            Obj::J(o) => ObjIter::J(o.entries.iter()),
        }
    }
}

/// The items of an array view as owned values (cold paths).
pub(crate) fn to_value_list(a: Arr<'_>) -> Vec<Value> {
    a.iter().map(to_value).collect()
}

/// Converts a view back to an owned value (cold paths and tests).
pub(crate) fn to_value(v: V<'_>) -> Value {
    match v.kind() {
        K::Null => Value::Null,
        K::Bool(b) => Value::Bool(b),
        K::Int(t) => Value::Int(crate::json::JsonInt { text: t.into() }),
        K::Float(f) => Value::Float(f),
        K::Str(s) => Value::String(s.to_owned()),
        K::Arr(a) => Value::Array(a.iter().map(to_value).collect()),
        K::Obj(o) => Value::Object(Object {
            entries: o.iter().map(|(k, v)| (k.to_owned(), to_value(v))).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{ParseMode, parse};
    use proptest::prelude::*;

    fn same_as_json(bytes: &[u8]) {
        let a = parse(bytes, ParseMode::Python);
        let b = parse_doc(bytes);
        match (a, b) {
            (Ok(v), Ok(d)) => {
                let w = to_value(d.root());
                // Bitwise float comparison via the canonical text.
                assert_eq!(crate::json::canon_string(&w), crate::json::canon_string(&v));
                assert_eq!(w, v);
            }
            (Err(_), Err(_)) => {}
            (a, b) => panic!(
                "parsers disagree on {:?}: {:?} vs {:?}",
                String::from_utf8_lossy(bytes),
                a.is_ok(),
                b.is_ok()
            ),
        }
    }

    #[test]
    fn agrees_with_json_parse() {
        for s in [
            r#"{"a":1,"b":[1.5,-0,"x\n\u00e9\ud83d\ude80"],"a":{"c":null},"d":true}"#,
            r#"[1e400]"#,
            r#""\ud800""#,
            r#""\ud800\u0041""#,
            r#"{"k":"v" , "k" : [ ] }"#,
            "[\"a\u{7f}\"]",
            "\"\\u00e9t\\u00e9\"",
            "01",
            "-",
            "{\"a\":}",
            "NaN",
            "[\"unterminated",
            " {} ",
        ] {
            same_as_json(s.as_bytes());
        }
        same_as_json(b"\"\xff\"");
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        same_as_json(deep.as_bytes());
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        same_as_json(ok.as_bytes());
        let mut big = String::from("{");
        for i in 0..40 {
            big += &format!("\"k{i}\":{i},");
        }
        big += "\"k7\":\"last\"}";
        same_as_json(big.as_bytes());
    }

    #[test]
    fn short_decimals_parse_exactly() {
        let mut cases: Vec<String> = [
            "0.0",
            "-0.0",
            "1.5",
            "1700000100.0",
            "0.1",
            "0.3",
            "123456789012.345",
            "99999999999999.9",
            "0.000000000000001",
            "9007199254740.993",
            "1.0000000000001",
            "1234567890123456.0",
            "1.5e3",
            "0.10000000000000001",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..50_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let digits = (seed % 10u64.pow(17)).to_string();
            let cut = (seed >> 50) as usize % digits.len();
            let (a, b) = digits.split_at(cut);
            let a = a.trim_start_matches('0');
            let a = if a.is_empty() { "0" } else { a };
            let b = if b.is_empty() { "0" } else { b };
            cases.push(format!("{}{a}.{b}", if seed & 1 == 1 { "-" } else { "" }));
        }
        for c in cases {
            let want: f64 = c.parse().unwrap();
            let doc = parse_doc(c.as_bytes()).unwrap();
            match doc.root().kind() {
                K::Float(got) => assert_eq!(got.to_bits(), want.to_bits(), "{c}"),
                _ => panic!("{c} is not a float"),
            }
        }
    }

    proptest! {
        #[test]
        fn agrees_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..48)) {
            same_as_json(&bytes);
        }

        #[test]
        fn agrees_on_jsonish(s in "[\\[\\]{}\",:0-9eE.+\\-tfnrul\\\\ au]{0,64}") {
            same_as_json(s.as_bytes());
        }
    }
}
