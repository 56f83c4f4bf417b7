//! Hiding secrets in what an error keeps (its messages, its JSON members,
//! its request id, a refused redirect's target) and in what a recording
//! writes down.
//!
//! Two kinds of secret are hidden:
//! - the values held under names that say "secret" ([`is_secret_name`]),
//!   found in decoded JSON (where keys are compared once their escapes are
//!   read) and, for text that is not JSON, by a scan that reads only
//!   quotes, colons, brackets and commas ([`hide_secret_fields`]);
//! - known secrets (the caller's token, a secret just minted) wherever they
//!   occur, in every form text can give them: as written, JSON-escaped in
//!   part or in whole (`\/`, `\u002B`, any `\uXXXX`, a surrogate pair, an
//!   escape escaped again), percent-encoded (`%2B`: a URL quoting the
//!   request), as an HTML character reference (`&#43;`: a page quoting
//!   it), and split by characters a reader does not see (NUL, BEL, DEL, C1
//!   controls, zero-width characters), which a summary strips
//!   ([`replace_secret`]).
//!
//! Text that is not JSON is hidden after the normalization a summary
//! applies ([`normalize`]), so that what is shown is what was searched.

use std::borrow::Cow;
use std::collections::HashSet;

use bytes::Bytes;
use reqwest::header::HeaderValue;
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

/// What stands for a hidden secret in an error.
pub(crate) const REDACTED: &str = "[REDACTED]";

/// The longest summary of an error body, in characters.
const SUMMARY_LEN: usize = 200;

/// Whether a JSON field, query parameter or header with this name holds a
/// secret: `token`, `*_token`, `accessToken`, `secret`, `client_secret`,
/// `password`, `api_key`, `x-api-key`, `authorization`, `cookie`, …
pub(crate) fn is_secret_name(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    n.ends_with("token")
        || n.contains("secret")
        || n.contains("password")
        || n.contains("passwd")
        || n.ends_with("apikey")
        || n.ends_with("privatekey")
        || n.ends_with("accesskey")
        || n.ends_with("sessionid")
        || n.contains("authorization")
        || n.contains("cookie")
        || n.contains("credential")
}

/// Whether a field with this name holds a list of secrets when its items
/// are plain values: `tokens`, `api_keys`, `passwords`, … (a list of
/// objects under such a name is a list of records, whose own fields say
/// what they hold).
pub(crate) fn is_secret_list_name(name: &str) -> bool {
    name.strip_suffix(['s', 'S']).is_some_and(is_secret_name)
}

/// Characters a reader does not see, which [`normalize`] removes: controls
/// other than whitespace (NUL, BEL, DEL, the C1 range) and zero-width
/// format characters (soft hyphen, zero-width space and joiners, word
/// joiner, byte-order mark).
pub(crate) fn is_invisible(c: char) -> bool {
    (c.is_control() && !c.is_whitespace())
        || matches!(
            c,
            '\u{00ad}' | '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}'
        )
}

/// Text as a summary shows it: invisible characters ([`is_invisible`])
/// removed, then every run of whitespace made one space, with none at
/// either end. Hiding runs on this text, so a secret split by invisible
/// characters is found whole.
pub(crate) fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if is_invisible(c) {
            continue;
        }
        if c.is_whitespace() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// A short, printable description of an error body that is not a document
/// the dialect reads (a gateway's HTML page): its `<title>` or else the
/// whole text, [normalized](normalize), at most 200 characters (`…` marks a
/// cut). `None` when nothing visible is left. Give it a body already
/// hidden by [`Secrets::hide_in_body`]: whatever part of that body it
/// picks, it normalizes the same way.
pub(crate) fn summarize(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let picked = match (lower.find("<title>"), lower.find("</title>")) {
        // ASCII lower-casing keeps byte offsets.
        (Some(a), Some(b)) if b > a + 7 => &text[a + 7..b],
        _ => text,
    };
    let normalized = normalize(picked);
    if normalized.is_empty() {
        return None;
    }
    let mut out: String = normalized.chars().take(SUMMARY_LEN).collect();
    if normalized.chars().count() > SUMMARY_LEN {
        out.push('…');
    }
    Some(out)
}

/// The four hexadecimal digits at `at`, as a number.
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    digits
        .iter()
        .try_fold(0u32, |n, &b| char::from(b).to_digit(16).map(|d| n * 16 + d))
}

/// The JSON escape starting at the backslash at `i`: the character it
/// stands for and its length in bytes. A `\uXXXX` high surrogate is read
/// with the low one that follows; a lone surrogate stands for nothing.
fn escape_at(bytes: &[u8], i: usize) -> Option<(char, usize)> {
    let c = match *bytes.get(i + 1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let high = hex4(bytes, i + 2)?;
            if !(0xd800..0xe000).contains(&high) {
                return char::from_u32(high).map(|c| (c, 6));
            }
            if high >= 0xdc00 || bytes.get(i + 6..i + 8) != Some(b"\\u") {
                return None;
            }
            let low = hex4(bytes, i + 8)?;
            if !(0xdc00..0xe000).contains(&low) {
                return None;
            }
            let code = 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
            return char::from_u32(code).map(|c| (c, 12));
        }
        _ => return None,
    };
    Some((c, 2))
}

/// The two hexadecimal digits at `at`, as a byte.
fn hex2(bytes: &[u8], at: usize) -> Option<u8> {
    let digits = bytes.get(at..at + 2)?;
    let high = char::from(digits[0]).to_digit(16)?;
    let low = char::from(digits[1]).to_digit(16)?;
    u8::try_from(high * 16 + low).ok()
}

/// The percent-encoded character starting at the `%` at `i` (a URL quoting
/// a request, a redirect's target): one `%XX` for ASCII, up to four for a
/// UTF-8 sequence.
fn percent_at(bytes: &[u8], i: usize) -> Option<(char, usize)> {
    let first = hex2(bytes, i + 1)?;
    let len = match first {
        0x00..=0x7f => return Some((char::from(first), 3)),
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let mut utf8 = [first, 0, 0, 0];
    for (k, byte) in utf8.iter_mut().enumerate().take(len).skip(1) {
        let at = i + 3 * k;
        if bytes.get(at) != Some(&b'%') {
            return None;
        }
        *byte = hex2(bytes, at + 1)?;
    }
    let c = std::str::from_utf8(&utf8[..len]).ok()?.chars().next()?;
    Some((c, 3 * len))
}

/// The HTML character reference starting at the `&` at `i` (a page quoting
/// a request): `&#43;`, `&#x2B;`, or one of the five named ones.
fn entity_at(text: &str, i: usize) -> Option<(char, usize)> {
    let rest = text.get(i + 1..)?;
    let end = rest.bytes().take(10).position(|b| b == b';')?;
    let name = &rest[..end];
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let code = match name.strip_prefix(['#']) {
                Some(hex) if hex.starts_with(['x', 'X']) => u32::from_str_radix(&hex[1..], 16),
                Some(decimal) => decimal.parse::<u32>(),
                None => return None,
            };
            char::from_u32(code.ok()?)?
        }
    };
    Some((c, end + 2))
}

/// What the text at byte `i` (a character boundary) may stand for, with
/// the bytes each reading takes: the character as written; at a backslash,
/// the JSON escape it starts, and at a run of backslashes, the escape that
/// ends the run, read through the escaping of the backslash itself
/// (`\\u002B`, JSON quoted in JSON); at a `%`, the percent-encoded
/// character; at a `&`, the HTML character reference.
fn readings(text: &str, i: usize) -> [Option<(char, usize)>; 3] {
    let bytes = text.as_bytes();
    let literal = text[i..].chars().next().map(|c| (c, c.len_utf8()));
    match bytes[i] {
        b'\\' => {
            let escaped = escape_at(bytes, i);
            let run = bytes[i..].iter().take_while(|&&b| b == b'\\').count();
            let nested = (run > 1)
                .then(|| escape_at(bytes, i + run - 1))
                .flatten()
                .map(|(c, len)| (c, len + run - 1));
            [literal, escaped, nested]
        }
        b'%' => [literal, percent_at(bytes, i), None],
        b'&' => [literal, entity_at(text, i), None],
        _ => [literal, None, None],
    }
}

/// `raw` with its JSON escapes read; anything that is not a valid escape is
/// kept as written.
fn unescape(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let (c, len) = match escape_at(bytes, i) {
            Some(read) if bytes[i] == b'\\' => read,
            _ => {
                let c = raw[i..].chars().next().unwrap_or('\u{fffd}');
                (c, c.len_utf8())
            }
        };
        out.push(c);
        i += len;
    }
    Cow::Owned(out)
}

/// Where an occurrence of `secret` that starts at byte `start` ends, if one
/// does. Each character of the secret may be written as itself or in any
/// of the forms [`readings`] reads; between two of them any number of invisible characters
/// (written or escaped) may stand.
fn match_at(text: &str, start: usize, secret: &[char]) -> Option<usize> {
    let mut here = vec![start];
    let mut next: Vec<usize> = Vec::new();
    let mut seen: HashSet<usize> = HashSet::new();
    for (k, &wanted) in secret.iter().enumerate() {
        next.clear();
        seen.clear();
        let mut stack = std::mem::take(&mut here);
        while let Some(at) = stack.pop() {
            if at >= text.len() || !seen.insert(at) {
                continue;
            }
            for (c, len) in readings(text, at).into_iter().flatten() {
                if c == wanted {
                    next.push(at + len);
                } else if k > 0 && is_invisible(c) {
                    stack.push(at + len);
                }
            }
        }
        if next.is_empty() {
            return None;
        }
        next.sort_unstable();
        next.dedup();
        here.extend_from_slice(&next);
    }
    here.last().copied()
}

/// `text` with every occurrence of `secret`, in any of the forms
/// [`match_at`] reads, replaced by `with`; `None` when there is none.
pub(crate) fn replace_secret(text: &str, secret: &str, with: &str) -> Option<String> {
    let wanted: Vec<char> = secret.chars().collect();
    let first = *wanted.first()?;
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let (mut kept, mut i) = (0, 0);
    while i < bytes.len() {
        if text.is_char_boundary(i)
            && (matches!(bytes[i], b'\\' | b'%' | b'&') || text[i..].starts_with(first))
        {
            if let Some(end) = match_at(text, i, &wanted) {
                let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
                o.push_str(&text[kept..i]);
                o.push_str(with);
                kept = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.map(|mut o| {
        o.push_str(&text[kept..]);
        o
    })
}

/// How a kind of writer hides secrets: what stands for a value found under
/// a secret's name, and how known secrets are found and replaced.
pub(crate) trait Hider {
    /// What stands for `value`, found under a secret's name (decoded).
    fn stand_in(&self, value: &str) -> String;
    /// `text` with every known secret replaced, or `None` when it holds
    /// none.
    fn hide_known(&self, text: &str) -> Option<String>;
}

/// `text` with the values under secret names hidden (in any JSON it holds,
/// however it is cut or wrapped) and every known secret replaced; `None`
/// when it holds neither.
pub(crate) fn hide_text(hider: &impl Hider, text: &str) -> Option<String> {
    let mut fields = hide_secret_fields(text, |raw| {
        let mut decoded = unescape(raw).into_owned();
        let shown = hider.stand_in(&decoded);
        decoded.zeroize();
        shown
    });
    let known = hider.hide_known(fields.as_deref().unwrap_or(text));
    if known.is_some() {
        if let Some(fields) = &mut fields {
            fields.zeroize();
        }
        return known;
    }
    fields
}

/// Hides secrets in a decoded JSON value, in place: every value under a
/// secret's name, every plain item of a list under a plural one
/// (`tokens`), and in every string and every object key, the values under
/// secret names of any JSON it holds and every known secret. Says whether
/// anything changed.
pub(crate) fn hide_value(hider: &impl Hider, value: &mut Value) -> bool {
    match value {
        Value::Object(map) => {
            let mut changed = false;
            let old = std::mem::take(map);
            for (mut key, mut item) in old {
                changed |= if is_secret_name(&key) {
                    hide_leaves(hider, &mut item)
                } else if is_secret_list_name(&key) {
                    match &mut item {
                        Value::Array(items) => items.iter_mut().fold(false, |changed, item| {
                            let hidden = match item {
                                Value::String(_) | Value::Number(_) => hide_leaves(hider, item),
                                _ => hide_value(hider, item),
                            };
                            changed | hidden
                        }),
                        Value::String(_) | Value::Number(_) => hide_leaves(hider, &mut item),
                        _ => hide_value(hider, &mut item),
                    }
                } else {
                    hide_value(hider, &mut item)
                };
                if let Some(hidden) = hide_text(hider, &key) {
                    key.zeroize();
                    key = hidden;
                    changed = true;
                }
                insert_unique(map, key, item);
            }
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| hide_value(hider, item) | changed),
        Value::String(text) => match hide_text(hider, text) {
            Some(hidden) => {
                text.zeroize();
                *text = hidden;
                true
            }
            None => false,
        },
        // A number written the way a known secret is (a numeric token).
        Value::Number(n) => match hider.hide_known(&n.to_string()) {
            Some(hidden) => {
                *value = Value::String(hidden);
                true
            }
            None => false,
        },
        Value::Bool(_) | Value::Null => false,
    }
}

/// Inserts under `key`, or under `key#2`, `key#3`, … when two keys hid to
/// the same text: no member is lost.
fn insert_unique(map: &mut Map<String, Value>, key: String, value: Value) {
    if !map.contains_key(&key) {
        map.insert(key, value);
        return;
    }
    let mut n = 2;
    while map.contains_key(&format!("{key}#{n}")) {
        n += 1;
    }
    map.insert(format!("{key}#{n}"), value);
}

/// Every string and number in `value`, however deep, replaced by its stand-in;
/// keys are kept but searched for known secrets.
fn hide_leaves(hider: &impl Hider, value: &mut Value) -> bool {
    match value {
        Value::String(text) => {
            let shown = hider.stand_in(text);
            text.zeroize();
            *text = shown;
            true
        }
        Value::Number(n) => {
            *value = Value::String(hider.stand_in(&n.to_string()));
            true
        }
        Value::Object(map) => {
            let mut changed = false;
            let old = std::mem::take(map);
            for (mut key, mut item) in old {
                changed |= hide_leaves(hider, &mut item);
                if let Some(hidden) = hide_text(hider, &key) {
                    key.zeroize();
                    key = hidden;
                    changed = true;
                }
                insert_unique(map, key, item);
            }
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| hide_leaves(hider, item) | changed),
        Value::Bool(_) | Value::Null => false,
    }
}

/// The secrets an error must never show: the caller's token, and any other
/// the caller knows of. Held as [`SecretString`]s, longest first (so that a
/// secret holding another is replaced whole). Every value under a secret's
/// name is hidden too, known or not.
#[derive(Clone, Default)]
pub(crate) struct Secrets {
    known: Vec<SecretString>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} known)", self.known.len())
    }
}

impl Secrets {
    /// No known secret: only values under secret names are hidden.
    pub(crate) fn new() -> Secrets {
        Secrets::default()
    }

    /// `secret` alone.
    pub(crate) fn of(secret: &SecretString) -> Secrets {
        Secrets::new().with(secret)
    }

    /// These secrets and `secret`.
    pub(crate) fn with(mut self, secret: &SecretString) -> Secrets {
        self.add(secret);
        self
    }

    /// Adds `secret` (an empty one, or one already known, is ignored).
    pub(crate) fn add(&mut self, secret: &SecretString) {
        let raw = secret.expose_secret();
        if raw.is_empty() || self.known.iter().any(|k| k.expose_secret() == raw) {
            return;
        }
        self.known.push(secret.clone());
        self.known
            .sort_by_key(|k| std::cmp::Reverse(k.expose_secret().len()));
    }

    /// A free text (a message, a header's value) with every known secret
    /// and every value under a secret's name in any JSON it quotes
    /// replaced by `[REDACTED]`.
    pub(crate) fn hide_in_text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match hide_text(self, text) {
            Some(hidden) => Cow::Owned(hidden),
            None => Cow::Borrowed(text),
        }
    }

    /// A decoded JSON value with secrets hidden in place (see
    /// [`hide_value`]); says whether anything changed.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn hide_in_value(&self, value: &mut Value) -> bool {
        hide_value(self, value)
    }

    /// A header's value as an error may keep it (`x-request-id`, the
    /// `Location` of a refused redirect): [normalized](normalize), every
    /// known secret replaced. `None` when the value is not visible text or
    /// nothing visible is left.
    pub(crate) fn hide_in_header(&self, value: &HeaderValue) -> Option<String> {
        let text = normalize(value.to_str().ok()?);
        if text.is_empty() {
            return None;
        }
        Some(self.hide_in_text(&text).into_owned())
    }

    /// An error body as the dialects may read and show it, or `None` when
    /// it holds no secret (the body is then kept byte for byte).
    ///
    /// A JSON body is decoded, hidden in the decoded value ([`hide_value`]:
    /// strings and keys, every escape read) and written again, so that no
    /// escaped form of a secret survives. Any other body is
    /// [normalized](normalize) as a summary would be, then hidden
    /// ([`hide_secret_fields`] and every known secret in any form).
    pub(crate) fn hide_in_body(&self, body: &[u8]) -> Option<Bytes> {
        let mut text = String::from_utf8_lossy(body);
        let hidden = match serde_json::from_slice::<Value>(body) {
            Ok(mut value) => {
                let changed = hide_value(self, &mut value);
                // Duplicate keys are read once, and some forms of a secret
                // appear only in the raw text: check it too.
                let raw = hide_text(self, &text);
                let hit = raw.is_some();
                if let Some(mut raw) = raw {
                    raw.zeroize();
                }
                if changed || hit {
                    // Writing a `Value` cannot fail.
                    let mut written = serde_json::to_string(&value).unwrap_or_default();
                    Some(match self.hide_known(&written) {
                        Some(again) => {
                            written.zeroize();
                            again
                        }
                        None => written,
                    })
                } else {
                    None
                }
            }
            Err(_) => {
                let mut normalized = normalize(&text);
                let hidden = hide_text(self, &normalized);
                normalized.zeroize();
                hidden
            }
        };
        if let Cow::Owned(text) = &mut text {
            text.zeroize();
        }
        hidden.map(Bytes::from)
    }
}

impl Hider for Secrets {
    fn stand_in(&self, _value: &str) -> String {
        REDACTED.to_owned()
    }

    fn hide_known(&self, text: &str) -> Option<String> {
        let mut out: Option<String> = None;
        for secret in &self.known {
            let current = out.as_deref().unwrap_or(text);
            if let Some(hidden) = replace_secret(current, secret.expose_secret(), REDACTED) {
                if let Some(old) = &mut out {
                    old.zeroize();
                }
                out = Some(hidden);
            }
        }
        out
    }
}

/// How the values met at one nesting level are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hide {
    /// Kept, unless a key says otherwise.
    No,
    /// Every value, however deep: the container is under a secret's name.
    All,
    /// The plain values directly in this array: it is under a plural name.
    Direct,
}

/// Replaces every value held under a secret's name (see [`is_secret_name`],
/// [`is_secret_list_name`]) in JSON-like `text` by `replace(raw)`, where
/// `raw` is the value as written (a string without its quotes, still
/// escaped, or a number). Works on text that is not valid JSON (cut short,
/// nested too deep, preceded by a byte-order mark, inside an HTML page):
/// it reads only quotes, colons, brackets and commas. A replaced value is
/// written as a JSON string; `replace` must return text that needs no
/// escaping. Keys are compared once their escapes are read. Gives `None`
/// when nothing was replaced.
pub(crate) fn hide_secret_fields(
    text: &str,
    mut replace: impl FnMut(&str) -> String,
) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut levels: Vec<Hide> = Vec::new();
    let mut next = Hide::No;
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        let level = levels.last().copied().unwrap_or(Hide::No);
        let hidden = next != Hide::No || level != Hide::No;
        match bytes[i] {
            b'"' => {
                // Quotes and backslashes are ASCII, so every index below is
                // on a character boundary.
                let mut j = i + 1;
                let mut closed = false;
                while j < bytes.len() {
                    match bytes[j] {
                        b'\\' => j += 2,
                        b'"' => {
                            closed = true;
                            break;
                        }
                        _ => j += 1,
                    }
                }
                let end = j.min(bytes.len());
                let inner = &text[i + 1..end];
                let after = if closed { end + 1 } else { end };
                let mut k = after;
                while k < bytes.len() && bytes[k].is_ascii_whitespace() {
                    k += 1;
                }
                if closed && k < bytes.len() && bytes[k] == b':' {
                    // A key is compared as it reads once decoded:
                    // `"t\u006fken"` is `token`.
                    let name = unescape(inner);
                    next = if is_secret_name(&name) {
                        Hide::All
                    } else if is_secret_list_name(&name) {
                        Hide::Direct
                    } else {
                        Hide::No
                    };
                    out.push_str(&text[i..=k]);
                    i = k + 1;
                    continue;
                }
                if hidden {
                    out.push('"');
                    out.push_str(&replace(inner));
                    out.push('"');
                    changed = true;
                } else {
                    out.push_str(&text[i..after]);
                }
                next = Hide::No;
                i = after;
            }
            b @ (b'{' | b'[') => {
                levels.push(if level == Hide::All || next == Hide::All {
                    Hide::All
                } else if next == Hide::Direct && b == b'[' {
                    Hide::Direct
                } else {
                    Hide::No
                });
                next = Hide::No;
                out.push(char::from(b));
                i += 1;
            }
            b @ (b'}' | b']' | b',') => {
                if b != b',' {
                    levels.pop();
                }
                next = Hide::No;
                out.push(char::from(b));
                i += 1;
            }
            b'-' | b'0'..=b'9' if hidden => {
                let mut j = i;
                while j < bytes.len()
                    && !matches!(bytes[j], b',' | b'}' | b']' | b'"')
                    && !bytes[j].is_ascii_whitespace()
                {
                    j += 1;
                }
                out.push('"');
                out.push_str(&replace(&text[i..j]));
                out.push('"');
                changed = true;
                next = Hide::No;
                i = j;
            }
            _ => {
                let c = text[i..].chars().next().unwrap_or('\u{fffd}');
                out.push(c);
                i += c.len_utf8().max(1);
            }
        }
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden(text: &str) -> String {
        hide_secret_fields(text, |_| "[REDACTED]".to_owned()).unwrap_or_else(|| text.to_owned())
    }

    #[test]
    fn values_under_secret_names_are_replaced() {
        assert_eq!(
            hidden(r#"{"id":"19","attributes":{"token":"v2.x\"y","description":"d"}}"#),
            r#"{"id":"19","attributes":{"token":"[REDACTED]","description":"d"}}"#
        );
        assert_eq!(
            hidden(r#"{"password": 123456, "pin": {"secret": [1, "two", {"x": "three"}]}}"#),
            r#"{"password": "[REDACTED]", "pin": {"secret": ["[REDACTED]", "[REDACTED]", {"x": "[REDACTED]"}]}}"#
        );
        assert_eq!(
            hidden(r#"{"tokens":["aaa","bbb"],"keep":"x"}"#),
            r#"{"tokens":["[REDACTED]","[REDACTED]"],"keep":"x"}"#
        );
        assert_eq!(
            hidden(r#"{"tokens":[{"id":1,"name":"n","token":"s"}]}"#),
            r#"{"tokens":[{"id":1,"name":"n","token":"[REDACTED]"}]}"#
        );
        assert_eq!(
            hidden(r#"{"token":null,"expires_at":null,"n":1}"#),
            r#"{"token":null,"expires_at":null,"n":1}"#
        );
    }

    #[test]
    fn text_that_is_not_json_is_handled() {
        // Cut short inside the secret.
        assert_eq!(hidden(r#"{"token":"abcdef"#), r#"{"token":"[REDACTED]""#);
        // A byte-order mark, then JSON.
        assert_eq!(
            hidden("\u{feff}{\"api_key\":\"k\"}"),
            "\u{feff}{\"api_key\":\"[REDACTED]\"}"
        );
        // An HTML page quoting a document.
        assert_eq!(
            hidden(r#"<pre>é {"accessToken": "abc"} </pre>"#),
            r#"<pre>é {"accessToken": "[REDACTED]"} </pre>"#
        );
        assert!(hide_secret_fields("<html>no secret</html>", |_| String::new()).is_none());
        assert!(hide_secret_fields("\"\\", |_| String::new()).is_none());
    }

    #[test]
    fn list_names() {
        for name in ["tokens", "api_keys", "Secrets", "passwords"] {
            assert!(is_secret_list_name(name), "{name}");
        }
        for name in ["ids", "names", "resources", "token"] {
            assert!(!is_secret_list_name(name), "{name}");
        }
    }

    const TOKEN: &str = "mt/Abc+def=ghi-0123x7k9";

    fn caller() -> Secrets {
        Secrets::of(&SecretString::from(TOKEN))
    }

    /// Every string and key of `text` read as JSON, or the text itself.
    fn decoded_strings(text: &str) -> Vec<String> {
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::String(s) => out.push(s.clone()),
                Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
                Value::Object(map) => map.iter().for_each(|(k, v)| {
                    out.push(k.clone());
                    walk(v, out);
                }),
                _ => {}
            }
        }
        let mut out = vec![text.to_owned()];
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            walk(&v, &mut out);
        }
        out
    }

    fn assert_no_token(text: &str) {
        for s in decoded_strings(text) {
            assert!(!s.contains(TOKEN), "token in {s:?}");
            assert!(
                !normalize(&s).contains(TOKEN),
                "token once normalized in {s:?}"
            );
            assert!(
                !normalize(&unescape(&s)).contains(TOKEN),
                "token once unescaped in {s:?}"
            );
        }
    }

    #[test]
    fn a_token_quoted_json_escaped_in_an_error_body_is_hidden() {
        for quoted in [
            r"mt\/Abc+def=ghi-0123x7k9",
            r"mt/Abc\u002Bdef=ghi-0123x7k9",
            r"mt/Abc\u002bdef\u003Dghi-0123x7k9",
            r"\u006d\u0074\/\u0041bc+def=ghi-0123x7k\u0039",
            // JSON quoted in a JSON string: the escape itself escaped.
            r"mt\\/Abc\\u002Bdef=ghi-0123x7k9",
        ] {
            let body =
                format!(r#"{{"error":"Incorrect API token {quoted}","request":"{quoted}"}}"#);
            // The raw bytes never hold the token as written…
            assert!(!body.contains(TOKEN));
            let hidden = caller().hide_in_body(body.as_bytes()).expect("hidden");
            let text = std::str::from_utf8(&hidden).unwrap();
            assert_no_token(text);
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(value["error"], "Incorrect API token [REDACTED]", "{quoted}");
            assert_eq!(value["request"], "[REDACTED]");
        }
        // The same forms in a body that is not JSON (cut short).
        let cut = r#"{"error":"Incorrect API token mt\/Abc\u002Bdef=ghi-0123x7k9"#;
        let hidden = caller().hide_in_body(cut.as_bytes()).expect("hidden");
        assert_eq!(
            std::str::from_utf8(&hidden).unwrap(),
            r#"{"error":"Incorrect API token [REDACTED]"#
        );
        // A body holding nothing is kept byte for byte.
        assert!(
            caller()
                .hide_in_body(br#"{"error":"Incorrect API token"}"#)
                .is_none()
        );
        assert!(caller().hide_in_body(b"<html>\0 mt/Abc</html>").is_none());
    }

    #[test]
    fn a_token_split_by_invisible_characters_is_hidden_in_the_summary() {
        for split in [
            "mt/Abc+d\0ef=ghi-0123x7k9",
            "m\u{7}t/Abc+def=ghi-0123x7k\u{7f}9",
            "mt/\u{9b}Abc+def=\u{80}\u{9f}ghi-0123x7k9",
            "mt/Abc+def=ghi-01\u{200b}23x7\u{feff}k9",
        ] {
            let page = format!("<html><head><title>401 bad token {split}</title></head></html>");
            assert!(!page.contains(TOKEN));
            let hidden = caller().hide_in_body(page.as_bytes()).expect("hidden");
            let text = String::from_utf8(hidden.to_vec()).unwrap();
            assert_no_token(&text);
            assert_eq!(
                summarize(&text).as_deref(),
                Some("401 bad token [REDACTED]")
            );
            // A text body, no title.
            let plain = format!("denied:\n{split}\n");
            let hidden = caller().hide_in_body(plain.as_bytes()).expect("hidden");
            assert_eq!(&hidden[..], b"denied: [REDACTED]");
        }
        // Whitespace is not invisible: a token cut by a line break is not
        // joined back by the summary.
        assert_eq!(
            summarize("mt/Abc+def\n=ghi-0123x7k9").as_deref(),
            Some("mt/Abc+def =ghi-0123x7k9")
        );
    }

    #[test]
    fn a_token_in_a_kept_header_is_hidden() {
        for value in [
            format!("req-{TOKEN}"),
            format!("https://evil.example/collect?t={TOKEN}&x=1"),
            "https://evil.example/collect?t=mt%2FAbc%2Bdef%3Dghi-0123x7k9".to_owned(),
            r"req-mt\/Abc\u002Bdef=ghi-0123x7k9".to_owned(),
            format!("req-\t{TOKEN}"),
        ] {
            let header = HeaderValue::from_str(&value).unwrap();
            let kept = caller().hide_in_header(&header).unwrap();
            assert!(!kept.contains(TOKEN), "{kept}");
            assert!(kept.contains(REDACTED), "{kept}");
        }
        let plain = HeaderValue::from_static("req-42");
        assert_eq!(caller().hide_in_header(&plain).as_deref(), Some("req-42"));
        let opaque = HeaderValue::from_bytes(b"req-\xff").unwrap();
        assert_eq!(caller().hide_in_header(&opaque), None);
    }

    #[test]
    fn a_secret_under_an_escaped_key_is_hidden() {
        // A secret just minted, which the caller does not know yet.
        let minted = "v2.public.minted-secret-4242";
        for key in [
            r"t\u006fken",
            r"\u0074oken",
            r"api\u005Fkey",
            r"s\u0065cret",
        ] {
            let body = format!(
                r#"{{"errors":[{{"title":"conflict","meta":{{"{key}":"{minted}","id":"7"}}}}]}}"#
            );
            let hidden = Secrets::new()
                .hide_in_body(body.as_bytes())
                .expect("hidden");
            let text = std::str::from_utf8(&hidden).unwrap();
            assert!(!text.contains(minted), "{key}: {text}");
            let value: Value = serde_json::from_str(text).unwrap();
            let meta = value["errors"][0]["meta"].as_object().unwrap();
            assert_eq!(meta.len(), 2, "{text}");
            assert!(meta.values().any(|v| v == REDACTED), "{text}");
            assert_eq!(meta["id"], "7");
            // The same in text that is not JSON.
            let page = format!(r#"<pre>{{"{key}": "{minted}"}}</pre>"#);
            let hidden = Secrets::new()
                .hide_in_body(page.as_bytes())
                .expect("hidden");
            assert!(!std::str::from_utf8(&hidden).unwrap().contains(minted));
        }
        // A value under a secret's name inside a string that holds JSON.
        let nested = format!(r#"{{"error":"{{\"token\":\"{minted}\"}}"}}"#);
        let hidden = Secrets::new()
            .hide_in_body(nested.as_bytes())
            .expect("hidden");
        assert!(!std::str::from_utf8(&hidden).unwrap().contains(minted));
    }

    #[test]
    fn a_known_secret_used_as_a_key_is_hidden() {
        let mut value = serde_json::json!({TOKEN: {"ok": true}, "note": {"x": TOKEN}});
        assert!(caller().hide_in_value(&mut value));
        assert_no_token(&value.to_string());
        assert_eq!(value[REDACTED]["ok"], true);
        assert_eq!(value["note"]["x"], REDACTED);
        // Two keys that hide to the same text are both kept.
        let other = SecretString::from("second-secret-key-000");
        let mut both = serde_json::json!({TOKEN: 1, "second-secret-key-000": 2});
        assert!(caller().with(&other).hide_in_value(&mut both));
        assert_eq!(both.as_object().unwrap().len(), 2, "{both}");
    }

    #[test]
    fn escapes_and_invisibles_are_read_in_every_form() {
        let hide = |text: &str, secret: &str| replace_secret(text, secret, "#");
        assert_eq!(hide("a secret!", "secret").as_deref(), Some("a #!"));
        assert_eq!(
            hide(r"x s\u0065cr\u0065t y", "secret").as_deref(),
            Some("x # y")
        );
        // A surrogate pair stands for one character; a lone one for none.
        assert_eq!(hide(r"k\ud83d\ude00y", "k😀y").as_deref(), Some("#"));
        assert_eq!(hide(r"k\ud83dy", "k😀y"), None);
        // Invisible characters between, never before, the first character.
        assert_eq!(hide("s\u{0}e\u{7}cret", "secret").as_deref(), Some("#"));
        assert_eq!(hide(r"s\u0000ecret", "secret").as_deref(), Some("#"));
        assert_eq!(hide("\u{0}secret", "secret").as_deref(), Some("\u{0}#"));
        // A backslash in the secret, written or escaped.
        assert_eq!(hide(r"a\b", r"a\b").as_deref(), Some("#"));
        assert_eq!(hide(r"a\\b", r"a\b").as_deref(), Some("#"));
        // Percent-encoded, as an HTML reference, mixed.
        assert_eq!(hide("?t=s%65cr%45t", "secrEt").as_deref(), Some("?t=#"));
        assert_eq!(hide("a%2Fb%2bc", "a/b+c").as_deref(), Some("#"));
        assert_eq!(hide("%C3%A9t%C3%A9", "été").as_deref(), Some("#"));
        assert_eq!(
            hide("a&#43;b&#x2F;c&amp;d", "a+b/c&d").as_deref(),
            Some("#")
        );
        assert_eq!(hide(r"a\u002B%2F&#61;b", "a+/=b").as_deref(), Some("#"));
        // A near miss is kept.
        assert_eq!(hide("secre t secre", "secret"), None);
        assert_eq!(hide(r"\u00", "secret"), None);
        assert_eq!(hide("%2", "%2"), Some("#".to_owned()));
        assert_eq!(hide("s%6", "s%6").as_deref(), Some("#"));
        assert_eq!(hide("a&#;b &#xZZ; &amp", "a;b"), None);
        assert_eq!(hide("", "secret"), None);
        assert_eq!(hide("anything", ""), None);
    }

    #[test]
    fn normalization_is_what_a_summary_shows() {
        assert_eq!(normalize("  a\u{0}b \t\n c\u{7f}\u{85}d  "), "ab c d");
        assert_eq!(normalize("\u{feff}x\u{200b}y"), "xy");
        assert_eq!(
            summarize(" <TITLE> 502\u{0} Bad\nGateway </TITLE> "),
            Some("502 Bad Gateway".into())
        );
        assert_eq!(summarize("\u{0}\u{7} \n"), None);
        let long = "w ".repeat(300);
        let cut = summarize(&long).unwrap();
        assert_eq!(cut.chars().count(), 201);
        assert!(cut.ends_with('…'));
        assert_eq!(summarize(&"w ".repeat(100)).unwrap().chars().count(), 199);
    }

    #[test]
    fn a_numeric_token_is_hidden_where_json_holds_it_as_a_number() {
        let numeric = Secrets::of(&SecretString::from("123456789012"));
        let hidden = numeric
            .hide_in_body(br#"{"error":"bad","echo":123456789012}"#)
            .expect("hidden");
        let value: Value = serde_json::from_slice(&hidden).unwrap();
        assert_eq!(value["echo"], REDACTED);
        assert_eq!(value["error"], "bad");
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let debug = format!("{:?}", caller());
        assert!(!debug.contains(TOKEN));
        assert_eq!(debug, "Secrets(1 known)");
    }
}
