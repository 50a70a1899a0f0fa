//! Field extraction from NDJSON lines without building a document.
//!
//! A [`Paths`] set compiles dotted paths (`App.Version`, `"a.b".c`, `items.0.id`) into a small
//! tree. [`Extractor::extract`] walks one line once: it descends only into the members the
//! tree names, skips everything else without allocating, validates the whole line as it goes
//! (so a line that is not valid JSON is never half-used), and returns borrowed spans of the
//! wanted values. Decoding a string or compacting a nested value happens only when a value is
//! written out ([`JsonValue::write_text`]).

use std::fmt;

use crate::bytescan::{find_stop, Stops};

/// Containers nested deeper than this are rejected (keeps skipping bounded on hostile input).
const MAX_DEPTH: usize = 512;

/// Why a line is not a usable JSON record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// Stable reason token, used as the reject reason.
    pub reason: &'static str,
    /// Byte offset where the problem was seen.
    pub at: usize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.at)
    }
}

fn bad(at: usize) -> JsonError {
    JsonError {
        reason: "invalid_json",
        at,
    }
}

/// The JSON type of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    String,
    Number,
    Bool,
    Null,
    Object,
    Array,
}

/// A value found in a line, borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JsonValue<'a> {
    pub kind: Kind,
    /// For strings the bytes between the quotes (escapes not yet decoded); otherwise the value's
    /// whole text as written.
    pub raw: &'a [u8],
    /// A string that contains escapes (so `raw` is not its text).
    pub escaped: bool,
}

impl<'a> JsonValue<'a> {
    /// The value whose whole (validated) text is `span`.
    pub fn from_span(span: &'a [u8]) -> Self {
        let kind = match span[0] {
            b'"' => Kind::String,
            b'{' => Kind::Object,
            b'[' => Kind::Array,
            b't' | b'f' => Kind::Bool,
            b'n' => Kind::Null,
            _ => Kind::Number,
        };
        if kind == Kind::String {
            let inner = &span[1..span.len() - 1];
            JsonValue {
                kind,
                raw: inner,
                escaped: memchr::memchr(b'\\', inner).is_some(),
            }
        } else {
            JsonValue {
                kind,
                raw: span,
                escaped: false,
            }
        }
    }

    /// Appends the value as plain text: a string decoded, a scalar as written, an object or
    /// array as compact JSON, null as nothing.
    pub fn write_text(&self, out: &mut Vec<u8>) {
        match self.kind {
            Kind::String if self.escaped => unescape_into(self.raw, out),
            Kind::String | Kind::Number | Kind::Bool => out.extend_from_slice(self.raw),
            Kind::Null => {}
            Kind::Object | Kind::Array => write_compact(self.raw, out),
        }
    }

    /// Appends the value as JSON (strings keep their quotes and escapes; containers compacted).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self.kind {
            Kind::String => {
                out.push(b'"');
                out.extend_from_slice(self.raw);
                out.push(b'"');
            }
            Kind::Object | Kind::Array => write_compact(self.raw, out),
            _ => out.extend_from_slice(self.raw),
        }
    }
}

/// A compiled set of dotted paths; path `i` fills slot `i` of the extraction output.
#[derive(Debug, Default)]
pub struct Paths {
    root: Node,
    len: usize,
}

#[derive(Debug, Default)]
struct Node {
    children: Vec<(Vec<u8>, Node)>,
    slots: Vec<usize>,
    /// The slots of every path below this node, cleared each time the node's key is met:
    /// when an object holds a key twice, the last occurrence wins for the paths inside it too,
    /// as it does for the key itself (and as in serde_json and jq), so a path and its parent
    /// never come from different occurrences.
    below: Vec<usize>,
    /// Bit b set when a child's key starts with byte b: most keys of a record are ruled out
    /// with one test, however many children there are.
    firsts: [u64; 4],
}

impl Node {
    /// Fills `below` and `firsts` for this node and its descendants; returns this node's slots
    /// and below.
    fn index_children(&mut self) -> Vec<usize> {
        let mut below = Vec::new();
        for (key, child) in &mut self.children {
            if let Some(&first) = key.first() {
                self.firsts[usize::from(first >> 6)] |= 1 << (first & 63);
            }
            below.extend(child.index_children());
        }
        self.below = below;
        self.slots.iter().chain(&self.below).copied().collect()
    }

    /// Clears the slots of the paths below this node before it is read again.
    #[inline]
    fn clear_below<T: Default>(&self, out: &mut [T]) {
        for &slot in &self.below {
            out[slot] = T::default();
        }
    }

    /// The child for `key`. First bytes, then lengths are compared before the bytes, which
    /// rules out most keys of a record without a call to `memcmp`.
    #[inline]
    fn child(&self, key: &[u8]) -> Option<&Node> {
        let first = *key.first()?;
        if self.firsts[usize::from(first >> 6)] & (1 << (first & 63)) == 0 {
            return None;
        }
        self.children
            .iter()
            .find(|(k, _)| k.len() == key.len() && k[0] == first && k.as_slice() == key)
            .map(|(_, n)| n)
    }
}

/// Splits a dotted path into its segments. A segment in double quotes may contain dots.
pub fn split_path(path: &str) -> Result<Vec<String>, String> {
    let mut segments = Vec::new();
    let mut rest = path;
    loop {
        let (segment, after) = if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or_else(|| format!("unclosed quote in field path {path:?}"))?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        if segment.is_empty() {
            return Err(format!("empty segment in field path {path:?}"));
        }
        segments.push(segment.to_string());
        if after.is_empty() {
            return Ok(segments);
        }
        rest = after
            .strip_prefix('.')
            .ok_or_else(|| format!("expected '.' after a quoted segment in {path:?}"))?;
    }
}

impl Paths {
    pub fn new<S: AsRef<str>>(paths: &[S]) -> Result<Paths, String> {
        let mut root = Node::default();
        for (slot, path) in paths.iter().enumerate() {
            let mut node = &mut root;
            for segment in split_path(path.as_ref())? {
                let key = segment.into_bytes();
                let pos = match node.children.iter().position(|(k, _)| *k == key) {
                    Some(pos) => pos,
                    None => {
                        node.children.push((key, Node::default()));
                        node.children.len() - 1
                    }
                };
                node = &mut node.children[pos].1;
            }
            node.slots.push(slot);
        }
        root.index_children();
        Ok(Paths {
            root,
            len: paths.len(),
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Reusable scratch space for [`Extractor::extract`]; keep one per thread.
#[derive(Default)]
pub struct Extractor {
    stack: Vec<u8>,
    key: Vec<u8>,
    index: itoa::Buffer,
}

impl Extractor {
    /// Validates `line` as one JSON object and sets `out[i]` to the value at path `i`. Slots of
    /// absent paths are left as they are, so the caller resets `out` (to `None`, say) first.
    /// `out` must have `paths.len()` slots. A key held twice takes its last value, and so do
    /// the paths inside it.
    pub fn extract<'a, T: From<JsonValue<'a>> + Default>(
        &mut self,
        line: &'a [u8],
        paths: &Paths,
        out: &mut [T],
    ) -> Result<(), JsonError> {
        let walked = (|| {
            let pos = self.object_start(line)?;
            let end = self.value(line, pos, &paths.root, out)?;
            only_whitespace_after(line, end)
        })();
        walked.map_err(|e| utf8_first(line, e))
    }

    /// Validates `line` as one JSON object and calls `member(key, value)` for each top-level
    /// member, in order, with the key decoded (for tools whose columns are a record's fields).
    pub fn for_each_member<'a>(
        &mut self,
        line: &'a [u8],
        member: impl FnMut(&[u8], JsonValue<'a>),
    ) -> Result<(), JsonError> {
        self.walk_members(line, member)
            .map_err(|e| utf8_first(line, e))
    }

    fn walk_members<'a>(
        &mut self,
        line: &'a [u8],
        mut member: impl FnMut(&[u8], JsonValue<'a>),
    ) -> Result<(), JsonError> {
        let mut pos = skip_ws(line, self.object_start(line)? + 1);
        if line.get(pos) == Some(&b'}') {
            return only_whitespace_after(line, pos + 1);
        }
        loop {
            if line.get(pos) != Some(&b'"') {
                return Err(bad(pos));
            }
            let (key_end, escaped) = skip_string(line, pos)?;
            let raw_key = &line[pos + 1..key_end - 1];
            pos = skip_ws(line, key_end);
            if line.get(pos) != Some(&b':') {
                return Err(bad(pos));
            }
            let start = skip_ws(line, pos + 1);
            let end = self.skip_any(line, start)?;
            let key = if escaped {
                self.key.clear();
                unescape_into(raw_key, &mut self.key);
                self.key.as_slice()
            } else {
                raw_key
            };
            member(key, JsonValue::from_span(&line[start..end]));
            pos = skip_ws(line, end);
            match line.get(pos) {
                Some(b',') => pos = skip_ws(line, pos + 1),
                Some(b'}') => return only_whitespace_after(line, pos + 1),
                _ => return Err(bad(pos)),
            }
        }
    }

    /// Checks that `line` starts (after whitespace) an object; returns where.
    fn object_start(&mut self, line: &[u8]) -> Result<usize, JsonError> {
        let pos = skip_ws(line, 0);
        if line.get(pos) == Some(&b'{') {
            return Ok(pos);
        }
        if pos == line.len() {
            return Err(bad(pos));
        }
        // Valid JSON that is not an object is its own reason; anything else is invalid.
        let end = self.skip_value(line, pos)?;
        Err(if skip_ws(line, end) == line.len() {
            JsonError {
                reason: "not_object",
                at: pos,
            }
        } else {
            bad(end)
        })
    }

    /// Checks that `line` is one valid JSON value.
    pub fn validate(&mut self, line: &[u8]) -> Result<(), JsonError> {
        let start = skip_ws(line, 0);
        let walked = self.skip_value(line, start).and_then(|end| {
            let end = skip_ws(line, end);
            if end == line.len() {
                Ok(())
            } else {
                Err(bad(end))
            }
        });
        walked.map_err(|e| utf8_first(line, e))
    }

    /// Reads the value at `pos` for `node`: descends where the node has children, records it
    /// in the node's slots; returns the position after it.
    fn value<'a, T: From<JsonValue<'a>> + Default>(
        &mut self,
        b: &'a [u8],
        pos: usize,
        node: &Node,
        out: &mut [T],
    ) -> Result<usize, JsonError> {
        let end = match b.get(pos) {
            Some(b'{') if !node.children.is_empty() => self.object(b, pos, node, out)?,
            Some(b'[') if !node.children.is_empty() => self.array(b, pos, node, out)?,
            _ => self.skip_any(b, pos)?,
        };
        if !node.slots.is_empty() {
            let v = JsonValue::from_span(&b[pos..end]);
            for &slot in &node.slots {
                out[slot] = T::from(v);
            }
        }
        Ok(end)
    }

    fn object<'a, T: From<JsonValue<'a>> + Default>(
        &mut self,
        b: &'a [u8],
        pos: usize,
        node: &Node,
        out: &mut [T],
    ) -> Result<usize, JsonError> {
        let mut pos = skip_ws(b, pos + 1);
        if b.get(pos) == Some(&b'}') {
            return Ok(pos + 1);
        }
        loop {
            if b.get(pos) != Some(&b'"') {
                return Err(bad(pos));
            }
            let (key_end, escaped) = skip_string(b, pos)?;
            let raw_key = &b[pos + 1..key_end - 1];
            let key = if escaped {
                self.key.clear();
                unescape_into(raw_key, &mut self.key);
                self.key.as_slice()
            } else {
                raw_key
            };
            // Look the child up before the key buffer can be reused by a nested call.
            let child = node.child(key);
            pos = skip_ws(b, key_end);
            if b.get(pos) != Some(&b':') {
                return Err(bad(pos));
            }
            pos = skip_ws(b, pos + 1);
            pos = match child {
                Some(child) => {
                    child.clear_below(out);
                    self.value(b, pos, child, out)?
                }
                None => self.skip_any(b, pos)?,
            };
            pos = skip_ws(b, pos);
            match b.get(pos) {
                Some(b',') => pos = skip_ws(b, pos + 1),
                Some(b'}') => return Ok(pos + 1),
                _ => return Err(bad(pos)),
            }
        }
    }

    fn array<'a, T: From<JsonValue<'a>> + Default>(
        &mut self,
        b: &'a [u8],
        pos: usize,
        node: &Node,
        out: &mut [T],
    ) -> Result<usize, JsonError> {
        let mut pos = skip_ws(b, pos + 1);
        if b.get(pos) == Some(&b']') {
            return Ok(pos + 1);
        }
        let mut i: u64 = 0;
        loop {
            let key = self.index.format(i).as_bytes();
            pos = match node.child(key) {
                Some(child) => self.value(b, pos, child, out)?,
                None => self.skip_value(b, pos)?,
            };
            i += 1;
            pos = skip_ws(b, pos);
            match b.get(pos) {
                Some(b',') => pos = skip_ws(b, pos + 1),
                Some(b']') => return Ok(pos + 1),
                _ => return Err(bad(pos)),
            }
        }
    }

    /// [`Extractor::skip_value`] with a string, the usual member value, skipped inline.
    #[inline(always)]
    fn skip_any(&mut self, b: &[u8], pos: usize) -> Result<usize, JsonError> {
        if b.get(pos) == Some(&b'"') {
            Ok(skip_string(b, pos)?.0)
        } else {
            self.skip_value(b, pos)
        }
    }

    /// Skips (and validates) one value starting at `pos`, without recursion.
    pub fn skip_value(&mut self, b: &[u8], mut pos: usize) -> Result<usize, JsonError> {
        let stack = &mut self.stack;
        stack.clear();
        'value: loop {
            match b.get(pos) {
                Some(b'{') => {
                    pos = skip_ws(b, pos + 1);
                    if b.get(pos) == Some(&b'}') {
                        pos += 1;
                    } else {
                        if stack.len() >= MAX_DEPTH {
                            return Err(JsonError {
                                reason: "too_deep",
                                at: pos,
                            });
                        }
                        stack.push(b'{');
                        pos = key_colon(b, pos)?;
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    pos = skip_ws(b, pos + 1);
                    if b.get(pos) == Some(&b']') {
                        pos += 1;
                    } else {
                        if stack.len() >= MAX_DEPTH {
                            return Err(JsonError {
                                reason: "too_deep",
                                at: pos,
                            });
                        }
                        stack.push(b'[');
                        continue 'value;
                    }
                }
                Some(b'"') => pos = skip_string(b, pos)?.0,
                _ => pos = skip_scalar(b, pos)?,
            }
            // A value is complete: close containers and move past commas.
            loop {
                let Some(&top) = stack.last() else {
                    return Ok(pos);
                };
                pos = skip_ws(b, pos);
                match (b.get(pos), top) {
                    (Some(b','), _) => {
                        pos = skip_ws(b, pos + 1);
                        if top == b'{' {
                            pos = key_colon(b, pos)?;
                        }
                        continue 'value;
                    }
                    (Some(b'}'), b'{') | (Some(b']'), b'[') => {
                        stack.pop();
                        pos += 1;
                    }
                    _ => return Err(bad(pos)),
                }
            }
        }
    }
}

/// Only whitespace may follow the top-level value.
fn only_whitespace_after(line: &[u8], end: usize) -> Result<(), JsonError> {
    let end = skip_ws(line, end);
    if end == line.len() {
        Ok(())
    } else {
        Err(bad(end))
    }
}

#[inline]
fn skip_ws(b: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(pos) {
        pos += 1;
    }
    pos
}

/// Skips `"key"` `:` and the whitespace before the value.
#[inline(always)]
fn key_colon(b: &[u8], pos: usize) -> Result<usize, JsonError> {
    if b.get(pos) != Some(&b'"') {
        return Err(bad(pos));
    }
    let pos = skip_ws(b, skip_string(b, pos)?.0);
    if b.get(pos) != Some(&b':') {
        return Err(bad(pos));
    }
    Ok(skip_ws(b, pos + 1))
}

/// What a walk that failed reports: the line's first byte that is not UTF-8, if it has one,
/// else the walk's own error. The walk checks UTF-8 only inside strings, as it meets them
/// (most lines are ASCII: no separate pass); a non-ASCII byte anywhere else is a syntax
/// error, and this makes it the same error a check of the whole line first would give.
#[cold]
fn utf8_first(line: &[u8], walked: JsonError) -> JsonError {
    if walked.reason == "invalid_utf8" {
        return walked; // found inside a string, after only valid bytes
    }
    match simdutf8::compat::from_utf8(line) {
        Ok(_) => walked,
        Err(e) => JsonError {
            reason: "invalid_utf8",
            at: e.valid_up_to(),
        },
    }
}

/// The first position at or after `i` holding a quote, a backslash, a control byte or a
/// non-ASCII byte (or `b.len()`).
#[inline]
fn find_string_stop(b: &[u8], i: usize) -> usize {
    const STRING_STOPS: Stops = Stops::new(b"\"\\").control().non_ascii();
    find_stop(b, i, &STRING_STOPS)
}

/// Checks the run of non-ASCII bytes at `i` inside a string and returns where it ends. UTF-8
/// sequences hold no ASCII byte, so each such run is valid on its own.
#[inline(never)]
fn skip_non_ascii(b: &[u8], i: usize) -> Result<usize, JsonError> {
    let end = b[i..]
        .iter()
        .position(u8::is_ascii)
        .map_or(b.len(), |k| i + k);
    match simdutf8::compat::from_utf8(&b[i..end]) {
        Ok(_) => Ok(end),
        Err(e) => Err(JsonError {
            reason: "invalid_utf8",
            at: i + e.valid_up_to(),
        }),
    }
}

/// Skips a string starting at its opening quote; returns the position after the closing quote
/// and whether it holds escapes.
#[inline(always)]
fn skip_string(b: &[u8], pos: usize) -> Result<(usize, bool), JsonError> {
    let mut i = pos + 1;
    let mut escaped = false;
    loop {
        i = find_string_stop(b, i);
        match b.get(i) {
            Some(b'"') => return Ok((i + 1, escaped)),
            Some(b'\\') => {}
            Some(c) if !c.is_ascii() => {
                i = skip_non_ascii(b, i)?;
                continue;
            }
            Some(_) => return Err(bad(i)), // a raw control byte
            None => return Err(bad(b.len())),
        }
        escaped = true;
        match b.get(i + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
            Some(b'u') if b.len() >= i + 6 && b[i + 2..i + 6].iter().all(u8::is_ascii_hexdigit) => {
                i += 6
            }
            _ => return Err(bad(i)),
        }
    }
}

/// Skips a number or `true`/`false`/`null`.
fn skip_scalar(b: &[u8], pos: usize) -> Result<usize, JsonError> {
    for word in [&b"true"[..], b"false", b"null"] {
        if b[pos..].starts_with(word) {
            return Ok(pos + word.len());
        }
    }
    let digits = |mut i: usize| {
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i, i - start)
    };
    let mut i = pos;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(i).0,
        _ => return Err(bad(i)),
    }
    if b.get(i) == Some(&b'.') {
        let (end, n) = digits(i + 1);
        if n == 0 {
            return Err(bad(end));
        }
        i = end;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        let (end, n) = digits(i);
        if n == 0 {
            return Err(bad(end));
        }
        i = end;
    }
    Ok(i)
}

/// Decodes the escapes of a (validated) JSON string body into `out`. A lone surrogate becomes
/// U+FFFD.
pub fn unescape_into(raw: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        let Some(k) = memchr::memchr(b'\\', &raw[i..]) else {
            out.extend_from_slice(&raw[i..]);
            return;
        };
        out.extend_from_slice(&raw[i..i + k]);
        i += k;
        let Some(&c) = raw.get(i + 1) else {
            out.push(b'\\');
            return;
        };
        i += 2;
        let simple = match c {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'u' => {
                let (ch, used) = decode_u_escape(raw, i);
                i += used;
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            other => other, // \" \\ \/
        };
        out.push(simple);
    }
}

/// Decodes the hex after `\u` at `raw[i..]` (and a following low surrogate); returns the
/// character and how many bytes after `\u` were used.
fn decode_u_escape(raw: &[u8], i: usize) -> (char, usize) {
    let hex4 = |at: usize| -> Option<u32> {
        let s = std::str::from_utf8(raw.get(at..at + 4)?).ok()?;
        u32::from_str_radix(s, 16).ok()
    };
    let Some(hi) = hex4(i) else {
        return (char::REPLACEMENT_CHARACTER, 0);
    };
    if (0xD800..0xDC00).contains(&hi) && raw.get(i + 4..i + 6) == Some(b"\\u") {
        if let Some(lo) = hex4(i + 6).filter(|lo| (0xDC00..0xE000).contains(lo)) {
            let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
            return (char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER), 10);
        }
    }
    (char::from_u32(hi).unwrap_or(char::REPLACEMENT_CHARACTER), 4)
}

/// Copies JSON text without the whitespace outside strings.
pub fn write_compact(raw: &[u8], out: &mut Vec<u8>) {
    let mut in_string = false;
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if in_string {
            out.push(c);
            if c == b'\\' {
                if let Some(&next) = raw.get(i + 1) {
                    out.push(next);
                    i += 1;
                }
            } else if c == b'"' {
                in_string = false;
            }
        } else if c == b'"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            out.push(c);
        }
        i += 1;
    }
}

/// Appends `s` as a JSON string literal. Bytes that are not UTF-8 become U+FFFD.
pub fn write_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    // Fast path: the printable-ASCII run without quotes or backslashes is copied as it is.
    let plain = plain_prefix(s);
    out.extend_from_slice(&s[..plain]);
    if plain < s.len() {
        // The plain run is ASCII, so the rest starts on a character boundary.
        let rest = &s[plain..];
        match std::str::from_utf8(rest) {
            Ok(text) => escape_str(text, out),
            Err(_) => escape_str(&String::from_utf8_lossy(rest), out),
        }
    }
    out.push(b'"');
}

/// The length of the longest prefix of `s` that goes into a JSON string as it is (printable
/// ASCII other than the quote and the backslash).
#[inline]
fn plain_prefix(s: &[u8]) -> usize {
    const SPECIAL: Stops = Stops::new(b"\"\\").control().non_ascii();
    find_stop(s, 0, &SPECIAL)
}

fn escape_str(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let escape: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(c >> 4) as usize]);
            out.push(HEX[(c & 15) as usize]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(line: &str, paths: &[&str]) -> Result<Vec<Option<String>>, JsonError> {
        let set = Paths::new(paths).unwrap();
        let mut out: Vec<Option<JsonValue>> = vec![None; set.len()];
        Extractor::default().extract(line.as_bytes(), &set, &mut out)?;
        Ok(out
            .iter()
            .map(|v| {
                v.map(|v| {
                    let mut t = Vec::new();
                    v.write_text(&mut t);
                    String::from_utf8(t).unwrap()
                })
            })
            .collect())
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn nested_paths_and_types() {
        let line = r#"{"App":{"Version":"2.1.8","n":12,"f":-1.5e3,"ok":true},"x":null,"arr":[1,{"id":"a"}],"o":{ "k" : [ 1 , 2 ] }}"#;
        let got = get(
            line,
            &[
                "App.Version",
                "App.n",
                "App.f",
                "App.ok",
                "x",
                "arr.1.id",
                "o",
                "missing",
                "App.Version.deeper",
            ],
        )
        .unwrap();
        assert_eq!(
            got,
            [
                some("2.1.8"),
                some("12"),
                some("-1.5e3"),
                some("true"),
                some(""),
                some("a"),
                some(r#"{"k":[1,2]}"#),
                None,
                None
            ]
        );
    }

    #[test]
    fn escapes_are_decoded_in_values_and_keys() {
        let line = r#"{"a\u002eb":"x\"y\\z\n\u00e9\ud83d\ude00","c":"\ud800"}"#;
        let got = get(line, &[r#""a.b""#, "c"]).unwrap();
        assert_eq!(got, [some("x\"y\\z\né😀"), some("\u{fffd}")]);
    }

    #[test]
    fn the_same_path_twice_and_overlapping_paths() {
        let got = get(r#"{"a":{"b":1}}"#, &["a.b", "a", "a.b"]).unwrap();
        assert_eq!(got, [some("1"), some(r#"{"b":1}"#), some("1")]);
    }

    #[test]
    fn a_key_held_twice_takes_its_last_value_inside_too() {
        let paths = ["A", "A.v", "A.w", "B.x", "B"];
        let got = get(r#"{"A":{"v":3},"B":{"x":1},"A":{"w":1},"B":2}"#, &paths).unwrap();
        assert_eq!(got, [some(r#"{"w":1}"#), None, some("1"), None, some("2")]);
        let got = get(r#"{"A":{"v":3},"A":{"v":4,"w":5}}"#, &paths).unwrap();
        assert_eq!(got[..3], [some(r#"{"v":4,"w":5}"#), some("4"), some("5")]);
        // Deeper: the middle level is held twice.
        let got = get(r#"{"a":{"b":{"c":1},"b":{"d":2}}}"#, &["a.b.c", "a.b.d"]).unwrap();
        assert_eq!(got, [None, some("2")]);
    }

    #[test]
    fn invalid_lines_are_errors() {
        for line in [
            "",
            "{",
            r#"{"a":}"#,
            r#"{"a":1,}"#,
            r#"{"a":1}x"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":"\x"}"#,
            "{\"a\":\"tab\there\"}",
            r#"{"a" 1}"#,
            r#"{"a":[1,2}"#,
            r#"{"a":tru}"#,
            r#"{a:1}"#,
            r#"{"a":1 "b":2}"#,
        ] {
            assert!(get(line, &["a"]).is_err(), "accepted {line:?}");
        }
        assert_eq!(get("[1]", &["a"]).unwrap_err().reason, "not_object");
        let mut slot: [Option<JsonValue>; 1] = [None];
        let paths = Paths::new(&["a"]).unwrap();
        let bad_utf8 = Extractor::default().extract(b"{\"a\":\"\xff\"}", &paths, &mut slot);
        assert_eq!(bad_utf8.unwrap_err().reason, "invalid_utf8");
    }

    #[test]
    fn invalid_utf8_is_found_where_std_finds_it() {
        // Overlong, surrogate, stray continuation, truncated sequences; short and long lines
        // (the SIMD check works 64 bytes at a time) and the bad bytes at several offsets.
        let bad: [&[u8]; 6] = [
            b"\xff",
            b"\xc0\xaf",
            b"\xed\xa0\x80",
            b"\x80",
            b"\xe2\x82",
            b"\xf4\x90\x80\x80",
        ];
        for seq in bad {
            for pad in [0, 5, 63, 64, 130] {
                let mut line = format!("{{\"a\":\"{}\u{e9}", "x".repeat(pad)).into_bytes();
                line.extend_from_slice(seq);
                line.extend_from_slice(b"\"}");
                let want = std::str::from_utf8(&line).unwrap_err().valid_up_to();
                let err = Extractor::default().validate(&line).unwrap_err();
                assert_eq!(
                    (err.reason, err.at),
                    ("invalid_utf8", want),
                    "{seq:?} after {pad}"
                );
            }
        }
        // The checks inside strings as they are met, and the one after a syntax error, give
        // what a check of the whole line first gives: in a value, in a key, outside any
        // string, and after an earlier syntax error; through every entry point.
        let paths = Paths::new(&["a"]).unwrap();
        for line in [
            &b"{\"a\":\"ok \xc3\xa9 then \xc3\"}"[..],
            b"{\"k\xff\":1,\"a\":2}",
            b"{\"a\":1\xe9}",
            b"{\"a\":\"\xe9\xe9\xe9\"}",
            b"{\"a\" 1,\"b\":\"\xff\"}",
            b"{\"a\":[1,\"\xc3\xa9\",\"\xed\xa0\x80\"]}",
            b"\xff{}",
        ] {
            let want = std::str::from_utf8(line).unwrap_err().valid_up_to();
            let mut ex = Extractor::default();
            let mut slot: [Option<JsonValue>; 1] = [None];
            for err in [
                ex.validate(line).unwrap_err(),
                ex.extract(line, &paths, &mut slot).unwrap_err(),
                ex.for_each_member(line, |_, _| {}).unwrap_err(),
            ] {
                assert_eq!((err.reason, err.at), ("invalid_utf8", want), "{line:?}");
            }
        }
    }

    #[test]
    fn deep_nesting_is_bounded_not_a_crash() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(get(&deep, &["b"]).unwrap_err().reason, "too_deep");
        let ok = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(get(&ok, &["b"]).is_ok());
    }

    #[test]
    fn whitespace_around_everything_is_accepted() {
        let got = get(
            " { \"a\" : { \"b\" : \"v\" } , \"c\" : [ ] } ",
            &["a.b", "c"],
        )
        .unwrap();
        assert_eq!(got, [some("v"), some("[]")]);
    }

    fn members(line: &str) -> Result<Vec<(String, String)>, &'static str> {
        let mut got = Vec::new();
        Extractor::default()
            .for_each_member(line.as_bytes(), |k, v| {
                let mut text = Vec::new();
                v.write_text(&mut text);
                got.push((
                    String::from_utf8(k.to_vec()).unwrap(),
                    String::from_utf8(text).unwrap(),
                ));
            })
            .map_err(|e| e.reason)?;
        Ok(got)
    }

    #[test]
    fn members_come_in_order_with_decoded_keys() {
        let got = members(r#" { "a" : 1, "b\"k": "x\ny", "n": null, "o": {"p": [1, 2]} } "#);
        let want = [
            ("a", "1"),
            ("b\"k", "x\ny"),
            ("n", ""),
            ("o", r#"{"p":[1,2]}"#),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got.unwrap(), want);
        assert_eq!(members("{}").unwrap(), vec![]);
        assert_eq!(members("[1]").unwrap_err(), "not_object");
        for bad in ["{", r#"{"a":1,}"#, r#"{"a":1} x"#, r#"{"a" 1}"#, "{1:2}"] {
            assert_eq!(members(bad).unwrap_err(), "invalid_json", "{bad}");
        }
    }

    #[test]
    fn string_stops_are_found_at_every_offset() {
        for len in 0..40 {
            for stop in [b'"', b'\\', b'\n', 0u8, 0x1f] {
                let mut text = vec![b'a'; len];
                text.extend_from_slice("\u{7f} ~".as_bytes());
                let at = text.len();
                text.push(stop);
                text.extend_from_slice(b"\"zzzzzzzzzz");
                assert_eq!(find_string_stop(&text, 0), at, "len {len} stop {stop}");
                // Non-ASCII bytes stop the scan too (their UTF-8 is checked there).
                text[len] = 0xc3;
                assert_eq!(find_string_stop(&text, 0), len, "len {len}");
            }
            assert_eq!(find_string_stop(&vec![b'x'; len], 0), len);
        }
    }

    #[test]
    fn paths_split_with_quotes() {
        assert_eq!(split_path(r#""a.b".c"#).unwrap(), ["a.b", "c"]);
        assert_eq!(split_path("a.b").unwrap(), ["a", "b"]);
        assert!(split_path("a..b").is_err());
        assert!(split_path(r#""a"#).is_err());
    }

    #[test]
    fn strings_are_written_escaped_and_valid() {
        let mut out = Vec::new();
        write_string(b"a\"b\\c\n\x01\xff", &mut out);
        assert_eq!(out, b"\"a\\\"b\\\\c\\n\\u0001\xef\xbf\xbd\"");
        let v: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(v, "a\"b\\c\n\u{1}\u{fffd}");
    }

    #[test]
    fn every_byte_at_every_offset_round_trips() {
        // The 16-byte fast path must stop at the first special byte wherever it falls.
        let mut out = Vec::new();
        for special in 0..=255u8 {
            for at in 0..40 {
                let mut s = vec![b'x'; 40];
                s[at] = special;
                out.clear();
                write_string(&s, &mut out);
                let back: String = serde_json::from_slice(&out).unwrap();
                assert_eq!(
                    back,
                    String::from_utf8_lossy(&s),
                    "byte {special:#x} at {at}"
                );
            }
        }
        // Multi-byte UTF-8 after a long plain run is kept, not replaced.
        out.clear();
        write_string(
            "plain ascii text, then: \u{e9}t\u{e9} \u{20ac}".as_bytes(),
            &mut out,
        );
        assert_eq!(
            out,
            "\"plain ascii text, then: \u{e9}t\u{e9} \u{20ac}\"".as_bytes()
        );
    }
}
