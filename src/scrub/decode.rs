//! Reading the forms text gives a character: JSON escapes (`\/`,
//! `\u002B`, a surrogate pair, an escape escaped again), percent-encoding
//! (`%2B`) and HTML character references (`&#43;`, `&amp;`). Every other
//! part of the scrubber reads text through these.

use std::borrow::Cow;

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
/// a request, a redirect's target, a form body): one `%XX` for ASCII, up to
/// four for a UTF-8 sequence.
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
pub(crate) fn readings(text: &str, i: usize) -> [Option<(char, usize)>; 3] {
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

/// One character of text as a reader takes it: what it stands for and the
/// bytes `start..end` that write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unit {
    /// The character read.
    pub(crate) c: char,
    /// Where it is written.
    pub(crate) start: usize,
    /// Where its writing ends.
    pub(crate) end: usize,
}

impl Unit {
    /// Whether it is written other than as itself (an escape, `%XX`, a
    /// character reference).
    pub(crate) fn encoded(&self) -> bool {
        self.end - self.start != self.c.len_utf8()
    }
}

/// The character at byte `i` (a character boundary, before the end) as a
/// reader takes it: a JSON escape, a percent-encoded character or an HTML
/// character reference when one starts there, else the character as
/// written. Always at least one character long.
pub(crate) fn unit_at(text: &str, i: usize) -> Unit {
    let bytes = text.as_bytes();
    let read = match bytes[i] {
        b'\\' => escape_at(bytes, i),
        b'%' => percent_at(bytes, i),
        b'&' => entity_at(text, i),
        _ => None,
    };
    let (c, len) = read.unwrap_or_else(|| {
        let c = text[i..].chars().next().unwrap_or('\u{fffd}');
        (c, c.len_utf8().max(1))
    });
    Unit {
        c,
        start: i,
        end: i + len,
    }
}

/// `raw` with every escape, percent-encoding and character reference read
/// ([`unit_at`]).
pub(crate) fn decode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let unit = unit_at(raw, i);
        out.push(unit.c);
        i = unit.end;
    }
    out
}

/// `raw` with its JSON escapes read; anything that is not a valid escape is
/// kept as written.
pub(crate) fn unescape(raw: &str) -> Cow<'_, str> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_read_every_form_once() {
        let text = r"a\u005F%5f&#95;&amp;%zz\q&nope;é";
        let mut i = 0;
        let mut read = Vec::new();
        while i < text.len() {
            let unit = unit_at(text, i);
            read.push((unit.c, unit.encoded()));
            i = unit.end;
        }
        let expected: Vec<(char, bool)> = vec![
            ('a', false),
            ('_', true),
            ('_', true),
            ('_', true),
            ('&', true),
            ('%', false),
            ('z', false),
            ('z', false),
            ('\\', false),
            ('q', false),
            ('&', false),
            ('n', false),
            ('o', false),
            ('p', false),
            ('e', false),
            (';', false),
            ('é', false),
        ];
        assert_eq!(read, expected);
        assert_eq!(decode(r"t\u006fken%3D&#x61;bc"), "token=abc");
        assert_eq!(unescape(r"a\/b\q"), "a/b\\q");
    }
}
