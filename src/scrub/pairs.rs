//! Values named by a secret's name in free text, whatever the content type
//! quoting them:
//!
//! - `key=value` (a form body, a query in a URL, a log line), `key: value`
//!   (a plain-text message, a header quoted in a page), `key => value`,
//!   with the key bare or quoted (`'token': …`, `\"token\": …`) and the
//!   value bare or quoted;
//! - an HTML element whose `name`, `id`, `type`, `property`, `itemprop`,
//!   `key` or `autocomplete` is a secret's name: its `value` and `content`
//!   (`<input name="token" value="…">`, `<meta name="csrf-token"
//!   content="…">`, `<input type="password" value="…">`);
//! - the credential after an auth scheme: `Bearer …`, `Basic …`, and
//!   `Authorization: Token …`.
//!
//! Text is read the way [`unit_at`] reads it, so a key or a separator
//! written with escapes, percent-encoding or character references
//! (`api%5Fkey%3D…`, `t\u006fken=…`, `value=&quot;…&quot;`) is found too.
//! A value ends where a character written as plainly as its separator
//! ends it: after a bare `=`, a `%26` is part of the value (a form body's
//! escaped `&`), after a `%3D` it ends it (a query quoted inside a query).
//! Names are judged by [`is_secret_name`], the rule every other path uses.

use super::decode::{Unit, decode, unit_at};
use super::names::is_secret_name;
use super::normalize::is_invisible;

/// The longest run of characters read as a key, in bytes: a longer run is
/// prose or data, not a name.
const MAX_KEY: usize = 256;

/// The most attributes read in one HTML tag.
const MAX_ATTRIBUTES: usize = 64;

/// A character that may stand in a key (read, not as written): letters,
/// digits, `_`, `-`, `.`, the brackets of `user[password]`, and characters
/// a reader does not see.
fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']') || is_invisible(c)
}

/// A character of an auth scheme's credential (`token68`).
fn is_credential_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/')
}

/// A character that ends a bare value.
fn ends_value(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '&' | ',' | ';' | '"' | '\'' | '<' | '>' | '(' | ')' | '[' | ']' | '{' | '}'
        )
}

/// The unit at `i`, or `None` at the end.
fn at(text: &str, i: usize) -> Option<Unit> {
    (i < text.len()).then(|| unit_at(text, i))
}

/// The index after any whitespace at `i`.
fn skip_space(text: &str, mut i: usize) -> usize {
    while let Some(u) = at(text, i) {
        if !u.c.is_whitespace() {
            break;
        }
        i = u.end;
    }
    i
}

/// A run of key characters starting at `i`: its end, the last unit, and
/// the name it reads as (invisible characters left out).
fn key_run(text: &str, i: usize) -> Option<(usize, Unit, String)> {
    let mut name = String::new();
    let mut last = None;
    let mut j = i;
    while let Some(u) = at(text, j) {
        if !is_key_char(u.c) || j - i > MAX_KEY {
            break;
        }
        if !is_invisible(u.c) {
            name.push(u.c);
        }
        last = Some(u);
        j = u.end;
    }
    Some((j, last?, name))
}

/// The quoted text whose opening quote is `open`: the span between the
/// quotes, and the index after the closing one (or the end of the text
/// when it never closes: a value cut short is hidden to the end). The
/// closing quote is written as the opening one is (`"` closes `"`,
/// `&quot;` closes `&quot;`), so an escaped quote inside does not close it.
fn quoted(text: &str, open: Unit) -> ((usize, usize), usize) {
    let written = &text[open.start..open.end];
    let mut j = open.end;
    while let Some(u) = at(text, j) {
        if u.c == open.c && &text[u.start..u.end] == written {
            return ((open.end, u.start), u.end);
        }
        j = u.end;
    }
    ((open.end, text.len()), text.len())
}

/// A bare value starting at `i`: its end. Only a character written as
/// plainly as the separator ends it, when `plain` says the separator was
/// written as itself.
fn bare_value(text: &str, i: usize, plain: bool) -> usize {
    let mut j = i;
    while let Some(u) = at(text, j) {
        if ends_value(u.c) && !(plain && u.encoded()) {
            break;
        }
        j = u.end;
    }
    j
}

/// The parameters an auth challenge may carry after its scheme
/// (`Bearer realm="api", error="invalid_token"`): a `name=` after a
/// scheme is one of them, not a credential.
const AUTH_PARAMETERS: &[&str] = &[
    "realm",
    "scope",
    "error",
    "error_description",
    "error_uri",
    "charset",
    "nonce",
    "opaque",
    "algorithm",
    "qop",
    "domain",
    "stale",
    "userhash",
    "resource_metadata",
];

/// A credential after an auth scheme at `i` (`Bearer <here>`): its span, to
/// the end of the value (padding, and anything a careless writer put in
/// it, included), unless what follows is a challenge's parameter
/// (`Bearer realm="…"`) or a plain word of prose (`Bearer token
/// required`).
fn credential(text: &str, i: usize) -> Option<(usize, usize)> {
    let mut j = i;
    let mut word = String::new();
    while let Some(u) = at(text, j) {
        if !(is_credential_char(u.c) || is_invisible(u.c)) || word.len() > MAX_KEY {
            break;
        }
        if !is_invisible(u.c) {
            word.push(u.c);
        }
        j = u.end;
    }
    let next = at(text, j);
    if next.is_some_and(|u| u.c == '=')
        && AUTH_PARAMETERS.contains(&word.to_ascii_lowercase().as_str())
    {
        return None;
    }
    let end = bare_value(text, i, true);
    if end == i || (end == j && is_prose_word(&word)) {
        return None;
    }
    Some((i, end))
}

/// Whether a word after an auth scheme reads as prose (`token`,
/// `Required`, `REALM`), not as a credential: letters only, fewer than 20,
/// in one case after the first. Base64 of a `user:pass` is letters only too,
/// but mixes cases.
fn is_prose_word(word: &str) -> bool {
    let rest = word.get(1..).unwrap_or_default();
    word.len() < 20
        && word.chars().all(|c| c.is_ascii_alphabetic())
        && (rest.chars().all(|c| c.is_ascii_lowercase())
            || rest.chars().all(|c| c.is_ascii_uppercase()))
}

/// Whether the name is an auth scheme whose next word is a credential.
fn is_scheme(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "bearer" | "basic" | "token"
    )
}

/// The value after a separator ending at `i`: its span, if any.
fn value_after(text: &str, i: usize, plain: bool) -> Option<(usize, usize)> {
    let start = skip_space(text, i);
    let first = at(text, start)?;
    if matches!(first.c, '"' | '\'' | '`') {
        let (span, _) = quoted(text, first);
        return (span.1 > span.0).then_some(span);
    }
    // `Authorization: Bearer <credential>`: the scheme is kept.
    if let Some((end, _, word)) = key_run(text, start) {
        if is_scheme(&word) && at(text, end).is_some_and(|u| u.c == ' ') {
            let next = skip_space(text, end);
            let cred_end = bare_value(text, next, plain);
            if cred_end > next {
                return Some((next, cred_end));
            }
        }
    }
    let end = bare_value(text, start, plain);
    (end > start).then_some((start, end))
}

/// The `key = value` whose key run ends at `end` (quoted by `before`, the
/// unit before the run, when it is a quote): the value's span.
fn pair_at(text: &str, before: Option<Unit>, end: usize) -> Option<(usize, usize)> {
    let mut i = end;
    let mut quoted_key = None;
    if let (Some(open), Some(close)) = (before, at(text, i)) {
        if matches!(open.c, '"' | '\'')
            && close.c == open.c
            && text[open.start..open.end] == text[close.start..close.end]
        {
            quoted_key = Some(open);
            i = close.end;
        }
    }
    let i = skip_space(text, i);
    let sep = at(text, i)?;
    let next = at(text, sep.end);
    let after = match sep.c {
        '=' if next.is_some_and(|n| n.c == '>') => next.map(|n| n.end)?,
        '=' if next.is_some_and(|n| n.c == '=') => return None,
        ':' if next.is_some_and(|n| n.c == ':') => return None,
        '=' | ':' => sep.end,
        _ => return None,
    };
    // `"key": value` written plainly is JSON's, which the field scan reads.
    if quoted_key.is_some_and(|q| q.c == '"' && !q.encoded()) && sep.c == ':' {
        return None;
    }
    value_after(text, after, !sep.encoded())
}

/// One attribute of an HTML tag: its name (lower-cased) and its value's
/// span.
struct Attribute {
    name: String,
    value: Option<(usize, usize)>,
}

/// The attributes of the tag whose name starts at `i` (just after `<`).
fn tag_attributes(text: &str, i: usize) -> Vec<Attribute> {
    let mut attrs = Vec::new();
    let Some((mut j, _, _)) = key_run(text, i) else {
        return attrs;
    };
    while attrs.len() < MAX_ATTRIBUTES {
        j = skip_space(text, j);
        let Some(u) = at(text, j) else { break };
        if matches!(u.c, '>' | '<') {
            break;
        }
        if u.c == '/' {
            j = u.end;
            continue;
        }
        let Some((name_end, _, name)) = key_run(text, j) else {
            break;
        };
        j = skip_space(text, name_end);
        let mut value = None;
        if let Some(eq) = at(text, j).filter(|u| u.c == '=') {
            let start = skip_space(text, eq.end);
            match at(text, start) {
                Some(q) if matches!(q.c, '"' | '\'') => {
                    let (span, after) = quoted(text, q);
                    value = Some(span);
                    j = after;
                }
                Some(_) => {
                    let mut k = start;
                    while let Some(v) = at(text, k) {
                        if v.c.is_whitespace() || matches!(v.c, '>' | '<') {
                            break;
                        }
                        k = v.end;
                    }
                    value = Some((start, k));
                    j = k;
                }
                None => j = start,
            }
        }
        attrs.push(Attribute {
            name: name.to_ascii_lowercase(),
            value,
        });
    }
    attrs
}

/// The spans of the values an HTML tag starting after `<` at `i` holds
/// under a secret's name.
fn tag_secrets(text: &str, i: usize, spans: &mut Vec<(usize, usize)>) {
    if !at(text, i).is_some_and(|u| u.c.is_ascii_alphabetic()) {
        return;
    }
    let attrs = tag_attributes(text, i);
    let named_secret = attrs.iter().any(|a| {
        matches!(
            a.name.as_str(),
            "name" | "id" | "type" | "property" | "itemprop" | "key" | "autocomplete"
        ) && a
            .value
            .is_some_and(|(s, e)| is_secret_name(&decode(&text[s..e])))
    });
    if named_secret {
        spans.extend(
            attrs
                .iter()
                .filter(|a| matches!(a.name.as_str(), "value" | "content"))
                .filter_map(|a| a.value)
                .filter(|(s, e)| e > s),
        );
    }
}

/// Replaces every value named by a secret's name in free text (see the
/// module's documentation) by `replace(raw)`, where `raw` is the value as
/// written; `replace` gives `None` to keep it (a value already hidden).
/// Gives `None` when nothing was replaced.
pub(crate) fn hide_secret_pairs(
    text: &str,
    mut replace: impl FnMut(&str) -> Option<String>,
) -> Option<String> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut before: Option<Unit> = None;
    let mut i = 0;
    while let Some(u) = at(text, i) {
        let starts_word = before.is_none_or(|b| !is_key_char(b.c));
        if starts_word && is_key_char(u.c) && !is_invisible(u.c) {
            if let Some((end, last, name)) = key_run(text, i) {
                let pair = || {
                    is_secret_name(&name)
                        .then(|| pair_at(text, before, end))
                        .flatten()
                };
                // `Bearer <credential>` anywhere.
                let scheme = || {
                    (is_scheme(&name) && !name.eq_ignore_ascii_case("token"))
                        .then(|| at(text, end).filter(|s| s.c == ' '))
                        .flatten()
                        .and_then(|_| credential(text, skip_space(text, end)))
                };
                let found = pair().or_else(scheme);
                if let Some(span) = found {
                    spans.push(span);
                    before = None;
                    i = span.1.max(end);
                    continue;
                }
                before = Some(last);
                i = end;
                continue;
            }
        }
        if u.c == '<' {
            tag_secrets(text, u.end, &mut spans);
        }
        before = Some(u);
        i = u.end;
    }
    if spans.is_empty() {
        return None;
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut kept = 0;
    let mut changed = false;
    for (start, end) in spans {
        if start < kept {
            continue;
        }
        if let Some(shown) = replace(&text[start..end]) {
            out.push_str(&text[kept..start]);
            out.push_str(&shown);
            kept = end;
            changed = true;
        }
    }
    if !changed {
        return None;
    }
    out.push_str(&text[kept..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden(text: &str) -> String {
        hide_secret_pairs(text, |raw| (raw != "#").then(|| "#".to_owned()))
            .unwrap_or_else(|| text.to_owned())
    }

    /// Each text reads as shown once its secret values are `#`.
    fn hides_as_shown(cases: &[(&str, &str)]) {
        for (text, shown) in cases {
            assert_eq!(hidden(text), *shown, "{text}");
        }
    }

    #[test]
    fn key_value_pairs_in_plain_text() {
        hides_as_shown(&[
            ("boom token=abc123", "boom token=#"),
            ("password: hunter2 was refused", "password: # was refused"),
            ("Password : 'hunter 2' refused", "Password : '#' refused"),
            ("secret = \"a b\", next", "secret = \"#\", next"),
            ("api-key=k1;x=2", "api-key=#;x=2"),
            ("X-Api-Key: k1", "X-Api-Key: #"),
            ("{'token': 'abc', 'id': 1}", "{'token': '#', 'id': 1}"),
            (":token => \"abc\"", ":token => \"#\""),
            ("user[password]=pw&x=1", "user[password]=#&x=1"),
            ("to\u{200b}ken=abc", "to\u{200b}ken=#"),
            ("cut password=\"abc", "cut password=\"#"),
        ]);
    }

    #[test]
    fn keys_and_separators_are_read_through_escapes() {
        hides_as_shown(&[
            ("api%5Fkey=abc%2Bdef&n=1", "api%5Fkey=#&n=1"),
            ("a=1&token=abc%26def&b=2", "a=1&token=#&b=2"),
            (
                "next=%2Fx%3Ftoken%3Dabc%26y%3D1",
                "next=%2Fx%3Ftoken%3D#%26y%3D1",
            ),
            (r"t\u006fken=abc", r"t\u006fken=#"),
            (
                r##"{"error":"{\"token\":\"abc\"}"##,
                r##"{"error":"{\"token\":\"#\"}"##,
            ),
            ("token&#61;abc def", "token&#61;# def"),
        ]);
    }

    #[test]
    fn html_fields_named_as_secrets() {
        hides_as_shown(&[
            (
                r##"<input name="token" value="abc">"##,
                r##"<input name="token" value="#">"##,
            ),
            (
                r##"<input value='abc' type=hidden name=authenticity_token>"##,
                r##"<input value='#' type=hidden name=authenticity_token>"##,
            ),
            (
                r##"<input type="password" value=abc/>"##,
                r##"<input type="password" value=#>"##,
            ),
            (
                "<input name=token value=abc<b>bold</b>",
                "<input name=token value=#<b>bold</b>",
            ),
            (
                r##"<meta name="csrf-token" content="abc">"##,
                r##"<meta name="csrf-token" content="#">"##,
            ),
            (
                r##"<div data-api-key="abc">x</div>"##,
                r##"<div data-api-key="#">x</div>"##,
            ),
            (
                "&lt;input name=&quot;token&quot; value=&quot;abc&quot;&gt;",
                "&lt;input name=&quot;token&quot; value=&quot;#&quot;&gt;",
            ),
        ]);
    }

    #[test]
    fn credentials_after_an_auth_scheme() {
        hides_as_shown(&[
            ("sent Bearer abc.def-123 twice", "sent Bearer # twice"),
            ("Authorization: Bearer abc123", "Authorization: Bearer #"),
            ("authorization: Token abc123", "authorization: Token #"),
            ("Basic dXNlcjpwYXNz", "Basic #"),
            ("Basic dXNlcjpwYXM=", "Basic #"),
            ("Bearer abcdefghijklmnopqrstuvwxyz", "Bearer #"),
            ("Bearer ab=cd/ef+gh", "Bearer #"),
            ("Bearer a\u{0}bc123 end", "Bearer # end"),
            (r"Bearer \\u0041bc", "Bearer #"),
        ]);
    }

    #[test]
    fn what_names_no_secret_is_kept() {
        for text in [
            "Incorrect API token",
            "the token expired at 12:30",
            "tokens: 3, token_type=bearer",
            "Bearer token required",
            r##"WWW-Authenticate: Bearer realm="api", error="invalid_token""##,
            "Bearer error=invalid_token",
            "https://example.com/a?b=c",
            r##"{"token":"abc"}"##,
            "<input name=\"email\" value=\"a@b.c\">",
            "a == token",
            "token::parse",
            "token=",
            "",
        ] {
            assert_eq!(hidden(text), text, "{text}");
        }
        // A value already hidden is left as it is.
        assert_eq!(
            hide_secret_pairs("token=#", |raw| (raw != "#").then(String::new)),
            None
        );
    }
}
