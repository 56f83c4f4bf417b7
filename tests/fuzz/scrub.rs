//! Fuzzing the hiding of secrets: in error bodies, decoded JSON values,
//! kept headers, summaries, and recorded interactions.
//!
//! Each generator places a secret the way a hostile or careless service
//! may: JSON-escaped in part or whole (`\/`, `\u002B`, any `\uXXXX`), split
//! by characters a reader does not see (NUL, BEL, DEL, C1, zero-width), in
//! a header, as an object key, under a key written with escapes, and
//! escaped in a body kept as text, and under its name in free text of every
//! content type (`key=value`, `key: value`, a form body, an HTML field, a
//! `Bearer` credential, free text inside a JSON string, a header). Every
//! output is then searched for the
//! secret as written, decoded as JSON (every string and key), and read
//! through escapes and invisible characters, by a reader written here,
//! independently of the crate's.
//!
//! A bounded number of cases by default; set `API_TOKENS_FUZZ_CASES` (for
//! example to 100000) for a longer run.

use crate::fuzz_support;

use api_tokens::testing::__fuzz;
use fuzz_support::runner;
use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// Cases per property unless `API_TOKENS_FUZZ_CASES` says otherwise.
const CASES: u32 = 1000;

/// Characters a reader does not see.
fn is_invisible(c: char) -> bool {
    (c.is_control() && !c.is_whitespace())
        || matches!(
            c,
            '\u{ad}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}'
        )
}

/// `text` with its JSON escapes, percent-encoded ASCII and HTML
/// character references read (an invalid one is kept as written), then its
/// invisible characters removed.
fn readable(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && i + 1 < chars.len() {
            let short = match chars[i + 1] {
                '/' => Some('/'),
                '"' => Some('"'),
                '\\' => Some('\\'),
                'b' => Some('\u{8}'),
                'f' => Some('\u{c}'),
                'n' => Some('\n'),
                'r' => Some('\r'),
                't' => Some('\t'),
                _ => None,
            };
            if let Some(c) = short {
                out.push(c);
                i += 2;
                continue;
            }
            if chars[i + 1] == 'u' && i + 6 <= chars.len() {
                let hex: String = chars[i + 2..i + 6].iter().collect();
                if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(c);
                    i += 6;
                    continue;
                }
            }
        }
        if chars[i] == '%' && i + 3 <= chars.len() {
            let hex: String = chars[i + 1..i + 3].iter().collect();
            if let Some(c) = u8::from_str_radix(&hex, 16)
                .ok()
                .filter(u8::is_ascii)
                .map(char::from)
            {
                out.push(c);
                i += 3;
                continue;
            }
        }
        if chars[i] == '&' {
            let rest = &chars[i + 1..chars.len().min(i + 12)];
            if let Some(end) = rest.iter().position(|&c| c == ';') {
                let name: String = rest[..end].iter().collect();
                let name = name.as_str();
                let code = match name.strip_prefix('#') {
                    Some(hex) if hex.starts_with('x') => u32::from_str_radix(&hex[1..], 16).ok(),
                    Some(decimal) => decimal.parse().ok(),
                    None if name == "amp" => Some(u32::from('&')),
                    None => None,
                };
                if let Some(c) = code.and_then(char::from_u32) {
                    out.push(c);
                    i += end + 2;
                    continue;
                }
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out.chars().filter(|&c| !is_invisible(c)).collect()
}

/// Every string and key in `value`, however deep, pushed onto `out`.
fn strings_of(value: &Value, out: &mut Vec<String>) {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => {
                out.extend(map.keys().cloned());
                pending.extend(map.values());
            }
            Value::Number(_) | Value::Bool(_) | Value::Null => {}
        }
    }
}

/// Whether `secret` can be read in `text` in any form: as written, in any
/// string or key of it read as JSON, once or twice unescaped, with the
/// invisible characters removed.
fn reveals(text: &str, secret: &str) -> bool {
    let mut forms = vec![text.to_owned()];
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        strings_of(&value, &mut forms);
    }
    forms.iter().any(|form| {
        let once = readable(form);
        form.contains(secret) || once.contains(secret) || readable(&once).contains(secret)
    })
}

/// A secret as the crate's users hold them: visible ASCII, no spaces, with
/// the characters JSON may escape (`/`, `+`, `=`).
fn secret() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9/+=._~-]{11,40}"
}

/// The invisible characters inserted: NUL, BEL, DEL, C1 controls (not
/// NEL, which is whitespace), zero-width ones.
const INVISIBLES: [char; 8] = [
    '\u{0}', '\u{7}', '\u{7f}', '\u{80}', '\u{9b}', '\u{9f}', '\u{200b}', '\u{feff}',
];

/// How one character of a secret is written.
#[derive(Debug, Clone, Copy)]
enum Form {
    AsIs,
    /// `\uXXXX`, upper or lower case hex.
    Unicode {
        upper: bool,
    },
    /// `\/` for a slash, else as is.
    Short,
    /// `\\uXXXX`: escaped, in JSON quoted in JSON.
    Nested,
    /// `%2B`: percent-encoded, upper or lower case hex.
    Percent {
        upper: bool,
    },
    /// `&#43;` or `&#x2b;`: an HTML character reference.
    Entity {
        hex: bool,
    },
}

/// How a secret is written: a form for each character and, before some
/// (never the first), an invisible character. Drawn from one seed, so a
/// case costs little to make.
#[derive(Debug, Clone)]
struct Writing {
    forms: Vec<Form>,
    splits: Vec<Option<char>>,
}

impl Writing {
    fn from_seed(mut seed: u64, split: bool) -> Writing {
        // splitmix64
        let mut next = move || {
            seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let mut forms = Vec::with_capacity(48);
        let mut splits = Vec::with_capacity(48);
        for _ in 0..48 {
            let r = next();
            forms.push(match r % 12 {
                0..=3 => Form::AsIs,
                4 => Form::Unicode { upper: true },
                5 => Form::Unicode { upper: false },
                6 => Form::Short,
                7 => Form::Nested,
                8 => Form::Percent { upper: true },
                9 => Form::Percent { upper: false },
                10 => Form::Entity { hex: true },
                _ => Form::Entity { hex: false },
            });
            let pick = (r >> 8) % 16;
            splits.push((split && pick < 4).then(|| INVISIBLES[((r >> 16) % 8) as usize]));
        }
        Writing { forms, splits }
    }
}

/// A writing; `split` says whether invisible characters are inserted.
fn writing(split: bool) -> impl Strategy<Value = Writing> {
    any::<u64>().prop_map(move |seed| Writing::from_seed(seed, split))
}

/// How an invisible character is inserted.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Invisibles {
    /// As the character itself (text bodies, decoded strings).
    Raw,
    /// As a `\uXXXX` escape (inside a JSON string).
    Escaped,
}

fn unicode_escape(c: char, upper: bool) -> String {
    let mut units = [0u16; 2];
    c.encode_utf16(&mut units)
        .iter()
        .map(|u| {
            if upper {
                format!("\\u{u:04X}")
            } else {
                format!("\\u{u:04x}")
            }
        })
        .collect()
}

/// `secret` written with `how`. Without `extra`, only escapes are used
/// that stand for the character in JSON, so the text decodes back to the
/// secret (with the invisible characters, if any); with it, also an escape
/// escaped again, percent-encoding and HTML references, which a URL or a
/// page quoting the secret may use.
fn write(secret: &str, how: &Writing, invisibles: Invisibles, extra: bool) -> String {
    let mut out = String::new();
    for (i, c) in secret.chars().enumerate() {
        if i > 0 {
            if let Some(split) = how.splits[i % how.splits.len()] {
                match invisibles {
                    Invisibles::Raw => out.push(split),
                    Invisibles::Escaped => out.push_str(&unicode_escape(split, false)),
                }
            }
        }
        match how.forms[i % how.forms.len()] {
            Form::AsIs => out.push(c),
            Form::Unicode { upper } => out.push_str(&unicode_escape(c, upper)),
            Form::Short if c == '/' => out.push_str("\\/"),
            Form::Short => out.push(c),
            Form::Nested if extra => {
                out.push('\\');
                out.push_str(&unicode_escape(c, false));
            }
            Form::Percent { upper } if extra => {
                let mut utf8 = [0u8; 4];
                for byte in c.encode_utf8(&mut utf8).bytes() {
                    out.push_str(&if upper {
                        format!("%{byte:02X}")
                    } else {
                        format!("%{byte:02x}")
                    });
                }
            }
            Form::Entity { hex } if extra => out.push_str(&if hex {
                format!("&#x{:x};", u32::from(c))
            } else {
                format!("&#{};", u32::from(c))
            }),
            Form::Nested | Form::Percent { .. } | Form::Entity { .. } => out.push(c),
        }
    }
    out
}

/// Filler text: words and punctuation that never spell a secret.
fn filler() -> impl Strategy<Value = String> {
    "[a-z <>:,.!()]{0,24}"
}

fn body_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The error summary a user would read for this hidden body.
fn summary_of(hidden: &[u8]) -> String {
    __fuzz::summarize(&body_text(hidden)).unwrap_or_default()
}

/// Class 1: the caller's token, JSON-escaped in an error body.
#[test]
fn a_token_escaped_in_a_json_error_body_never_survives() {
    let strategy = (secret(), writing(true), filler(), filler(), any::<bool>());
    runner(CASES)
        .run(&strategy, |(secret, how, before, after, cut)| {
            let written = write(&secret, &how, Invisibles::Escaped, false);
            let mut body = format!(
                r#"{{"error":"{before}{written}{after}","errors":["{written}"],"meta":{{"echo":{{"x":"{written}"}}}}}}"#
            );
            if cut {
                // A body cut short is not JSON: the text path.
                body.truncate(body.len() - 3);
            }
            let known = [SecretString::from(secret.as_str())];
            let hidden = __fuzz::hide_in_body(&known, body.as_bytes());
            let text = body_text(&hidden);
            prop_assert!(!reveals(&text, &secret), "{body:?} -> {text:?}");
            prop_assert!(!reveals(&summary_of(&hidden), &secret));
            prop_assert!(text.contains("[REDACTED]"), "{body:?} -> {text:?}");
            Ok(())
        })
        .unwrap();
}

/// Class 2: the caller's token split by invisible characters in an HTML
/// or text error body.
#[test]
fn a_token_split_in_a_text_error_body_never_survives() {
    let strategy = (secret(), writing(true), filler(), filler(), 0..3u8);
    runner(CASES)
        .run(&strategy, |(secret, how, before, after, shape)| {
            let written = write(&secret, &how, Invisibles::Raw, true);
            let body = match shape {
                0 => format!("<html><head><title>{before}{written}{after}</title></head></html>"),
                1 => format!("{before}\n{written}\r\n{after}"),
                _ => format!("<pre>{{\"note\": \"{written}\"</pre>{after}"),
            };
            let known = [SecretString::from(secret.as_str())];
            let hidden = __fuzz::hide_in_body(&known, body.as_bytes());
            prop_assert!(!reveals(&body_text(&hidden), &secret), "{body:?}");
            let summary = summary_of(&hidden);
            prop_assert!(!reveals(&summary, &secret), "{body:?} -> {summary:?}");
            prop_assert!(!__fuzz::normalize(&summary).contains(&secret));
            Ok(())
        })
        .unwrap();
}

/// Class 3: the caller's token in a header an error keeps.
#[test]
fn a_token_in_a_kept_header_never_survives() {
    let strategy = (
        secret(),
        writing(false),
        "[a-z0-9./:?=&-]{0,20}",
        "[a-z0-9./:?=&-]{0,20}",
    );
    runner(CASES)
        .run(&strategy, |(secret, how, before, after)| {
            let written = write(&secret, &how, Invisibles::Escaped, true);
            let value = format!("{before}{written}{after}");
            let known = [SecretString::from(secret.as_str())];
            let kept = __fuzz::hide_in_header(&known, value.as_bytes());
            prop_assert!(kept.is_some(), "{value:?}");
            let kept = kept.unwrap_or_default();
            prop_assert!(!reveals(&kept, &secret), "{value:?} -> {kept:?}");
            prop_assert!(kept.contains("[REDACTED]"));
            Ok(())
        })
        .unwrap();
}

/// A secret-looking name, written with escapes.
fn secret_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("token"),
        Just("api_token"),
        Just("accessToken"),
        Just("secret"),
        Just("client_secret"),
        Just("password"),
        Just("api_key"),
    ]
    .prop_map(str::to_owned)
}

/// Class 4: a secret the caller does not know yet, under a key written
/// with escapes, in an error body (JSON or not) and in a decoded value.
#[test]
fn a_minted_secret_under_an_escaped_key_never_survives() {
    let strategy = (
        secret(),
        secret_name(),
        writing(false),
        writing(false),
        0..3u8,
    );
    runner(CASES)
        .run(&strategy, |(minted, name, key_how, value_how, shape)| {
            let key = write(&name, &key_how, Invisibles::Escaped, false);
            let value = write(&minted, &value_how, Invisibles::Escaped, false);
            let body = match shape {
                0 => format!(r#"{{"errors":[{{"title":"t","meta":{{"{key}":"{value}"}}}}]}}"#),
                1 => format!(r#"{{"data":{{"attributes":{{"{key}":"{value}","n":1}}}}}}"#),
                _ => format!(r#"<pre>{{"{key}": "{value}", "id": 7</pre>"#),
            };
            let hidden = __fuzz::hide_in_body(&[], body.as_bytes());
            let text = body_text(&hidden);
            prop_assert!(!reveals(&text, &minted), "{body:?} -> {text:?}");
            prop_assert!(!reveals(&summary_of(&hidden), &minted));
            // In a value already decoded, the key is compared decoded.
            if let Ok(mut decoded) = serde_json::from_str::<Value>(&body) {
                prop_assert!(__fuzz::hide_in_value(&[], &mut decoded));
                prop_assert!(!reveals(&decoded.to_string(), &minted));
            }
            Ok(())
        })
        .unwrap();
}

/// Class 5, in errors and in recordings: a known secret used as an
/// object key.
#[test]
fn a_secret_used_as_a_key_never_survives() {
    let strategy = (secret(), writing(true), filler());
    runner(CASES)
        .run(&strategy, |(secret, how, note)| {
            let key = write(&secret, &how, Invisibles::Escaped, false);
            let body =
                format!(r#"{{"sessions":{{"{key}":{{"note":"{note}"}}}},"list":[{{"{key}":1}}]}}"#);
            let known = [SecretString::from(secret.as_str())];
            let hidden = __fuzz::hide_in_body(&known, body.as_bytes());
            prop_assert!(!reveals(&body_text(&hidden), &secret), "{body:?}");

            let recorded = __fuzz::record(
                "GET",
                "/api/accounts/1/api_tokens",
                &[("api-token", secret.as_str())],
                b"",
                200,
                &[("content-type", "application/json")],
                body.as_bytes(),
            );
            prop_assert!(recorded.is_some());
            let recorded = recorded.unwrap_or_default();
            prop_assert!(!reveals(&recorded, &secret), "{body:?} -> {recorded}");
            let placeholder = api_tokens::testing::placeholder(&known[0]);
            prop_assert!(recorded.contains(&placeholder));
            Ok(())
        })
        .unwrap();
}

/// Class 6: a known secret escaped or split in a body the recorder keeps
/// as text, and in the headers and paths it writes.
#[test]
fn a_secret_escaped_in_a_recorded_text_body_never_survives() {
    let strategy = (secret(), writing(true), filler(), 0..3u8, any::<bool>());
    runner(CASES)
        .run(&strategy, |(secret, how, around, shape, bearer)| {
            let escaped = write(&secret, &how, Invisibles::Escaped, true);
            let raw = write(&secret, &how, Invisibles::Raw, true);
            let body = match shape {
                0 => format!(
                    "<html><title>{around}</title><pre>{{\"seen\":\"{escaped}\"}}</pre></html>"
                ),
                1 => format!("{{\"seen\":\"{escaped}\",\"cut"),
                _ => format!("{around} {raw} {around}"),
            };
            let auth = if bearer {
                ("authorization", format!("Bearer {secret}"))
            } else {
                ("api-token", secret.clone())
            };
            let recorded = __fuzz::record(
                "POST",
                "/users/2/api-tokens",
                &[
                    (auth.0, auth.1.as_str()),
                    ("content-type", "application/json"),
                ],
                br#"{"data":{"type":"apiToken"}}"#,
                502,
                &[
                    ("content-type", "text/html"),
                    ("x-request-id", secret.as_str()),
                ],
                body.as_bytes(),
            );
            prop_assert!(recorded.is_some());
            let recorded = recorded.unwrap_or_default();
            prop_assert!(!reveals(&recorded, &secret), "{body:?} -> {recorded}");
            Ok(())
        })
        .unwrap();
}

/// Free text (a message) is hidden like a body: every form, every split.
#[test]
fn a_secret_in_a_message_never_survives() {
    let strategy = (secret(), secret(), writing(true), filler());
    runner(CASES)
        .run(&strategy, |(one, two, how, around)| {
            let text = format!(
                "{around}{}{around}{}",
                write(&one, &how, Invisibles::Raw, true),
                write(&two, &how, Invisibles::Escaped, true)
            );
            let known = [
                SecretString::from(one.as_str()),
                SecretString::from(two.as_str()),
            ];
            let hidden = __fuzz::hide_in_text(&known, &text);
            for secret in &known {
                prop_assert!(
                    !reveals(&hidden, secret.expose_secret()),
                    "{text:?} -> {hidden:?}"
                );
            }
            Ok(())
        })
        .unwrap();
}

/// What holds no secret is kept: hiding never changes a body it has
/// nothing to hide in.
#[test]
fn a_body_without_secrets_is_kept_byte_for_byte() {
    let strategy = (secret(), "[a-z0-9 <>{}\":,\\[\\]]{0,80}");
    runner(CASES)
        .run(&strategy, |(secret, body)| {
            // Nothing in it named as a secret either (`key: value`), a
            // name read on its letters and digits as the rule reads it
            // (`p[wd: …` names `pwd`, as `user[password]` names a password).
            let letters: String = body.chars().filter(char::is_ascii_alphanumeric).collect();
            prop_assume!(
                !reveals(&body, &secret) && !SECRET_WORDS.iter().any(|word| letters.contains(word))
            );
            let known = [SecretString::from(secret.as_str())];
            let hidden = __fuzz::hide_in_body(&known, body.as_bytes());
            prop_assert_eq!(hidden, body.into_bytes());
            Ok(())
        })
        .unwrap();
}

/// Words that make a text name a secret (`password: …`), for the property
/// above: a body holding one is not a body without secrets.
const SECRET_WORDS: [&str; 12] = [
    "token",
    "secret",
    "passw",
    "pwd",
    "pass",
    "auth",
    "bearer",
    "basic",
    "apikey",
    "cookie",
    "credential",
    "sessionid",
];

/// A secret's name as services write it in text: any case, `_` or `-`,
/// a header's name, a form's nested field.
fn key_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("token"),
        Just("access_token"),
        Just("Api-Token"),
        Just("authenticity_token"),
        Just("secret"),
        Just("client_secret"),
        Just("PASSWORD"),
        Just("password"),
        Just("passwd"),
        Just("api_key"),
        Just("x-api-key"),
        Just("apiKey"),
        Just("session_id"),
        Just("user[password]"),
    ]
    .prop_map(str::to_owned)
}

/// `name` written in free text, each character as itself, as a `\uXXXX`
/// escape, percent-encoded (`%5F`) or as an HTML reference (`&#95;`),
/// drawn from `seed`; `percent_only` keeps to the forms a form body uses.
fn write_key(name: &str, mut seed: u64, percent_only: bool) -> String {
    let mut out = String::new();
    for c in name.chars() {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let pick = (seed >> 33) % 8;
        match pick {
            0 if !percent_only => out.push_str(&unicode_escape(c, false)),
            1 => out.push_str(&format!("%{:02X}", u32::from(c))),
            2 if !percent_only => out.push_str(&format!("&#{};", u32::from(c))),
            _ => out.push(c),
        }
    }
    out
}

/// `secret` as a form body writes it: every character that is not a
/// letter or a digit percent-encoded.
fn form_encoded(secret: &str) -> String {
    secret
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_string()
            } else {
                format!("%{:02X}", u32::from(c))
            }
        })
        .collect()
}

/// Class 9: a secret the caller does not know, under its name in free
/// text of every content type: plain text (`key=value`, `key: value`,
/// `key => value`, quoted or not), a form body, HTML fields and attributes
/// (as written and shown escaped), a `Bearer` credential, free text inside
/// a JSON string (whole or cut short), and a kept header.
#[test]
fn a_secret_named_in_free_text_never_survives() {
    let strategy = (
        (secret(), key_name(), any::<u64>()),
        (writing(true), filler(), filler()),
        (0..13u8, 0..5u8),
    );
    runner(CASES)
        .run(
            &strategy,
            |((secret, name, key_seed), (how, before, after), (shape, sep))| {
                let sep = [": ", "=", " = ", " => ", ":"][usize::from(sep)];
                let key = write_key(&name, key_seed, false);
                let raw = write(&secret, &how, Invisibles::Raw, true);
                let escaped = write(&secret, &how, Invisibles::Escaped, false);
                let body = match shape {
                    0 => format!("{before} {key}{sep}{raw} {after}"),
                    1 => format!("{before}\n{key}{sep}\"{raw}\" {after}"),
                    2 => format!("{before} '{key}'{sep}'{raw}', {after}"),
                    3 => format!(
                        "a=1&{}={}&b=2",
                        write_key(&name, key_seed, true),
                        form_encoded(&secret)
                    ),
                    4 => format!(
                        "<p>{before}</p><input type=\"text\" name=\"{key}\" value=\"{raw}\">{after}"
                    ),
                    5 => format!("<input value='{raw}' type=hidden name={key}>{after}"),
                    6 => format!("<meta property=\"{key}\" content=\"{raw}\"><p>{after}</p>"),
                    7 => format!(
                        "<pre>&lt;input name=&quot;{key}&quot; value=&quot;{raw}&quot;&gt;</pre>"
                    ),
                    8 => format!("{before} Authorization: Bearer {raw} {after}"),
                    9 => format!("{before} sent Bearer {raw} {after}"),
                    10 => format!(r#"{{"error":"{before} {key}{sep}{escaped} {after}"}}"#),
                    11 => format!(r#"{{"error":"{before} {key}{sep}{escaped} {after}"#),
                    _ => format!(
                        r#"{{"errors":[{{"detail":"<input name=\"{key}\" value=\"{escaped}\">"}}]}}"#
                    ),
                };
                let hidden = __fuzz::hide_in_body(&[], body.as_bytes());
                let text = body_text(&hidden);
                prop_assert!(!reveals(&text, &secret), "{body:?} -> {text:?}");
                prop_assert!(!reveals(&summary_of(&hidden), &secret), "{body:?}");
                prop_assert!(text.contains("[REDACTED]"), "{body:?} -> {text:?}");

                // The same pair in a header an error keeps.
                let plain = write(&secret, &how, Invisibles::Escaped, true);
                let header = format!("{before} {key}{sep}{plain} {after}");
                let kept = __fuzz::hide_in_header(&[], header.trim().as_bytes());
                let kept = kept.unwrap_or_default();
                prop_assert!(!reveals(&kept, &secret), "{header:?} -> {kept:?}");
                prop_assert!(kept.contains("[REDACTED]"), "{header:?} -> {kept:?}");
                Ok(())
            },
        )
        .unwrap();
}

/// Free text that names no secret keeps its words: the words around a
/// hidden value, and the pairs whose names say nothing of a secret.
#[test]
fn the_words_around_a_hidden_value_are_kept() {
    let strategy = (secret(), key_name(), "[a-z]{1,12}", "[a-z]{1,12}");
    runner(CASES)
        .run(&strategy, |(secret, name, word, other)| {
            prop_assume!(
                !SECRET_WORDS
                    .iter()
                    .any(|w| word.contains(w) || other.contains(w))
            );
            let text = format!("{word} failed: {name}={secret} {other}=kept");
            let hidden = __fuzz::hide_in_text(&[], &text);
            prop_assert_eq!(
                hidden,
                format!("{word} failed: {name}=[REDACTED] {other}=kept")
            );
            Ok(())
        })
        .unwrap();
}
