//! Reading and editing dotenv files: variable names, values a reader gets
//! back unchanged, the one assignment to replace.

use zeroize::Zeroizing;

/// Checks a variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub(super) fn check_var(var: &str) -> Result<(), &'static str> {
    let mut bytes = var.bytes();
    match bytes.next() {
        None => Err("it is empty"),
        Some(first) if !(first.is_ascii_alphabetic() || first == b'_') => {
            Err("it must start with an ASCII letter or `_`")
        }
        Some(_) if bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') => Ok(()),
        Some(_) => Err("it may hold only ASCII letters, digits and `_`"),
    }
}

/// Bytes a value may hold unquoted: no dotenv reader or shell gives them a
/// meaning.
fn is_bare(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_-.+/=:@,%".contains(&b)
}

/// The value as it is written after `VAR=`: bare, in single quotes, or in
/// double quotes; or what keeps it from being written.
pub(super) fn dotenv_value(secret: &str) -> Result<Zeroizing<String>, &'static str> {
    if secret.chars().any(char::is_control) {
        return Err("a control character (such as a line break)");
    }
    let quote = if secret.bytes().all(is_bare) {
        None
    } else if !secret.contains(['\'', '\\']) {
        Some('\'')
    } else if !secret.contains(['"', '\\', '$', '`']) {
        Some('"')
    } else {
        return Err(
            "a single quote together with a double quote, `\\`, `$` or a backtick, \
             which no quoting carries unchanged to every dotenv reader",
        );
    };
    let mut value = Zeroizing::new(String::with_capacity(secret.len() + 2));
    value.extend(quote);
    value.push_str(secret);
    value.extend(quote);
    Ok(value)
}

/// One assignment found in a dotenv file.
struct Assignment {
    /// Where its line starts.
    start: usize,
    /// The variable's name.
    name: std::ops::Range<usize>,
    /// The value as written (quotes included), without a trailing comment.
    value: std::ops::Range<usize>,
}

/// The end of the line holding `at`: the index of its `\n`, or the length.
fn line_end(text: &[u8], at: usize) -> usize {
    text[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |i| at + i)
}

/// Skips spaces and tabs.
fn skip_blanks(text: &[u8], mut at: usize) -> usize {
    while matches!(text.get(at), Some(b' ' | b'\t')) {
        at += 1;
    }
    at
}

/// Reads `NAME =` at `at`: the name's range and where the value starts.
fn name_and_equals(text: &[u8], at: usize) -> Option<(std::ops::Range<usize>, usize)> {
    let mut end = at;
    while text
        .get(end)
        .is_some_and(|&b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    {
        end += 1;
    }
    if end == at {
        return None;
    }
    let eq = skip_blanks(text, end);
    (text.get(eq) == Some(&b'=')).then(|| (at..end, skip_blanks(text, eq + 1)))
}

/// Where the value that starts at `start` ends: after its closing quote
/// (which may be lines later), or before ` # comment`, trailing blanks kept
/// in the value, and the line's `\r`.
fn value_end(text: &[u8], start: usize) -> usize {
    let eol = line_end(text, start);
    let content_end = if eol > start && text[eol - 1] == b'\r' {
        eol - 1
    } else {
        eol
    };
    match text.get(start) {
        // `VAR= # comment`: an empty value, then a comment.
        Some(b'#') if start > 0 && matches!(text[start - 1], b' ' | b'\t') => start,
        Some(&quote @ (b'\'' | b'"')) => {
            let mut i = start + 1;
            while i < text.len() {
                match text[i] {
                    b'\\' if quote == b'"' => i += 2,
                    b if b == quote => return i + 1,
                    _ => i += 1,
                }
            }
            // Never closed: the value is the rest of its line.
            content_end
        }
        _ => {
            let line = &text[start..content_end];
            match line
                .windows(2)
                .position(|w| matches!(w[0], b' ' | b'\t') && w[1] == b'#')
            {
                Some(i) => {
                    let mut end = start + i;
                    while end > start && matches!(text[end - 1], b' ' | b'\t') {
                        end -= 1;
                    }
                    end
                }
                None => content_end,
            }
        }
    }
}

/// Every assignment of a dotenv file, in order. A quoted value that spans
/// lines is one assignment, so no line inside it is taken for another.
fn assignments(text: &[u8]) -> Vec<Assignment> {
    let mut found = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let start = at;
        // A byte-order mark, as some editors write, is no part of a name.
        let bom = if start == 0 && text.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let first = skip_blanks(text, start + bom);
        let parsed = text[first..]
            .starts_with(b"export")
            .then(|| {
                let after = first + "export".len();
                let name = skip_blanks(text, after);
                (name > after)
                    .then(|| name_and_equals(text, name))
                    .flatten()
            })
            .flatten()
            .or_else(|| name_and_equals(text, first));
        let next = match parsed {
            Some((name, value_start)) => {
                let end = value_end(text, value_start);
                found.push(Assignment {
                    start,
                    name,
                    value: value_start..end,
                });
                line_end(text, end)
            }
            None => line_end(text, start),
        };
        at = next + 1;
    }
    found
}

/// Where the value of `var`'s one assignment lies in `text` (quotes
/// included, a trailing comment not), or `None` when it is not assigned.
/// Err: the lines (from 1) of the several assignments of `var`.
pub(super) fn find_var(
    text: &[u8],
    var: &str,
) -> Result<Option<std::ops::Range<usize>>, Vec<usize>> {
    let mine: Vec<Assignment> = assignments(text)
        .into_iter()
        .filter(|a| &text[a.name.clone()] == var.as_bytes())
        .collect();
    match mine.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.value.clone())),
        several => Err(lines_of(text, several)),
    }
}

/// The lines (from 1) on which assignments start.
fn lines_of(text: &[u8], found: &[Assignment]) -> Vec<usize> {
    found
        .iter()
        .map(|a| 1 + text[..a.start].iter().filter(|&&b| b == b'\n').count())
        .collect()
}

/// `text` with `var` set to `value` (already quoted): its one assignment's
/// value replaced, or a line appended. Err: the lines (from 1) of the
/// several assignments of `var`.
pub(super) fn set_var(
    text: &[u8],
    var: &str,
    value: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Vec<usize>> {
    let mine: Vec<Assignment> = assignments(text)
        .into_iter()
        .filter(|a| &text[a.name.clone()] == var.as_bytes())
        .collect();
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() + var.len() + value.len() + 4));
    match mine.as_slice() {
        [] => {
            let eol: &[u8] = match text.iter().position(|&b| b == b'\n') {
                Some(i) if i > 0 && text[i - 1] == b'\r' => b"\r\n",
                _ => b"\n",
            };
            out.extend_from_slice(text);
            if !text.is_empty() && !text.ends_with(b"\n") {
                out.extend_from_slice(eol);
            }
            out.extend_from_slice(var.as_bytes());
            out.push(b'=');
            out.extend_from_slice(value);
            out.extend_from_slice(eol);
        }
        [one] => {
            out.extend_from_slice(&text[..one.value.start]);
            out.extend_from_slice(value);
            if one.value.is_empty() && text.get(one.value.end) == Some(&b'#') {
                // Keeps the comment one: `VAR=x # comment`, not `VAR=x# comment`.
                out.push(b' ');
            }
            out.extend_from_slice(&text[one.value.end..]);
        }
        several => return Err(lines_of(text, several)),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, var: &str, value: &str) -> String {
        let value = dotenv_value(value).expect("representable");
        let out = set_var(text.as_bytes(), var, value.as_bytes()).expect("one assignment");
        String::from_utf8(out.to_vec()).expect("utf-8")
    }

    #[test]
    fn replaces_only_the_value() {
        assert_eq!(set("A=1\nB=2\n", "B", "x"), "A=1\nB=x\n");
        assert_eq!(
            set("  export B = 2 # note\n", "B", "x"),
            "  export B = x # note\n"
        );
        assert_eq!(set("B='2' # note\r\n", "B", "x"), "B=x # note\r\n");
        assert_eq!(set("B=2#not-a-comment\n", "B", "x"), "B=x\n");
        assert_eq!(set("B=\nC=3", "B", "x"), "B=x\nC=3");
        assert_eq!(set("export=1\nB=2\n", "export", "x"), "export=x\nB=2\n");
        assert_eq!(set("B= # empty\n", "B", "x"), "B= x # empty\n");
        assert_eq!(set("\u{feff}B=2\r\n", "B", "x"), "\u{feff}B=x\r\n");
    }

    #[test]
    fn a_multi_line_value_is_one_assignment() {
        let text = "A=\"one\nB=inside\n\"\nB=2\n";
        assert_eq!(set(text, "B", "x"), "A=\"one\nB=inside\n\"\nB=x\n");
        assert_eq!(set(text, "A", "x"), "A=x\nB=2\n");
    }

    #[test]
    fn names_match_whole() {
        assert_eq!(
            set("AB=1\nA_=2\n#A=3\n", "A", "x"),
            "AB=1\nA_=2\n#A=3\nA=x\n"
        );
    }

    #[test]
    fn the_one_assignment_is_found_by_its_value() {
        let text = b"A=1\nexport B = 'x y' # note\nAB=2\n";
        let at = find_var(text, "B").expect("one").expect("assigned");
        assert_eq!(&text[at], b"'x y'");
        assert_eq!(find_var(text, "C"), Ok(None));
        assert_eq!(find_var(b"B=1\nB=2\n", "B"), Err(vec![1, 2]));
    }

    #[test]
    fn duplicates_are_reported_by_line() {
        let value = dotenv_value("x").expect("bare");
        let err = set_var(b"B=1\n\nexport B=2\n", "B", value.as_bytes()).err();
        assert_eq!(err, Some(vec![1, 3]));
    }

    #[test]
    fn values_are_quoted_when_needed() {
        assert_eq!(
            *dotenv_value("v2.public.a-b_c+d/e=").expect("bare"),
            "v2.public.a-b_c+d/e="
        );
        assert_eq!(*dotenv_value("a b#$\"`").expect("single"), "'a b#$\"`'");
        assert_eq!(*dotenv_value("it's").expect("double"), "\"it's\"");
        assert!(dotenv_value("it's $HOME").is_err());
        assert!(dotenv_value("a\nb").is_err());
        assert_eq!(*dotenv_value("").expect("empty"), "");
    }

    #[test]
    fn var_names() {
        assert!(check_var("UNIT_API_TOKEN").is_ok());
        assert!(check_var("_x1").is_ok());
        for bad in ["", "1A", "A-B", "A B", "A=B", "É"] {
            assert!(check_var(bad).is_err(), "{bad:?}");
        }
    }
}
