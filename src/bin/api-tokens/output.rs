//! What a command prints: a table for people, or one JSON document made of
//! the models' serde shapes. Neither ever holds a secret: the models leave
//! it out when serialized, and tables show only ids, names and dates.

use std::io::Write;

use api_tokens::chrono::{DateTime, SecondsFormat, Utc};
use api_tokens::{mailtrap, unit};
use serde::Serialize;
use serde_json::Value;

use crate::args::Format;

/// A command's result, in both forms; printed once, in the one asked for.
#[derive(Debug)]
pub struct Output {
    /// The JSON document, or why the result could not be made one.
    pub json: Result<Value, String>,
    /// The table or the sentence.
    pub text: String,
}

impl Output {
    /// A result from its JSON shape and its text.
    pub fn new(json: impl Serialize, text: impl Into<String>) -> Output {
        Output {
            json: serde_json::to_value(json).map_err(|e| e.to_string()),
            text: text.into(),
        }
    }

    /// Prints it on standard output, or on standard error when standard
    /// output carries a secret (`--secret-to -`), so that the secret's line
    /// stays alone there.
    ///
    /// # Errors
    ///
    /// Writing failed (a closed pipe), or the result could not be made
    /// JSON.
    pub fn print(&self, format: Format, stdout_taken: bool) -> std::io::Result<()> {
        let mut text = match (format, &self.json) {
            (Format::Json, Ok(json)) => {
                serde_json::to_string_pretty(json).map_err(std::io::Error::other)?
            }
            (Format::Json, Err(e)) => {
                return Err(std::io::Error::other(format!(
                    "the result is not JSON: {e}"
                )));
            }
            (Format::Table, _) => self.text.clone(),
        };
        if !text.ends_with('\n') {
            text.push('\n');
        }
        if stdout_taken {
            let mut err = std::io::stderr().lock();
            err.write_all(text.as_bytes())?;
            err.flush()
        } else {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()
        }
    }
}

/// Aligned columns under a header; an empty table says so. Every cell is
/// [`cell`]ed here, whatever its caller did: service text (a description,
/// an address Unit lists that is no address) never acts on the terminal.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return "(no tokens)\n".to_owned();
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|c| cell(c)).collect())
        .collect();
    let rows = rows.as_slice();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(cell);
            if i + 1 < widths.len() {
                out.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
            }
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    };
    let mut out = line(&mut headers.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// The line for a create whose answer was lost and whose token was not
/// listed: the marker such a token would carry, and the command that
/// removes it.
pub fn unconfirmed_line(marker: &impl std::fmt::Display) -> String {
    format!(
        "a create whose answer was lost made no token that could be listed; if one appears \
         later it carries the marker {marker}: `api-tokens reconcile --marker '{marker}'` \
         removes it\n"
    )
}

/// A moment as tables show it: RFC 3339 to the second, in UTC.
pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An optional expiry as tables show it.
pub fn expiry(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "never".to_owned(), time)
}

/// Cleans a name or description for one cell: what acts on a terminal (a
/// hostile name could move the cursor or reorder the line) becomes `?`.
pub fn cell(text: &str) -> String {
    text.chars()
        .map(|c| {
            if crate::terminal::acts_on_terminal(c) {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// Unit tokens as a table.
pub fn unit_tokens(tokens: &[unit::ApiToken]) -> String {
    let rows: Vec<Vec<String>> = tokens.iter().map(unit_row).collect();
    table(
        &["ID", "DESCRIPTION", "CREATED", "EXPIRES", "SOURCE IPS"],
        &rows,
    )
}

fn unit_row(t: &unit::ApiToken) -> Vec<String> {
    vec![
        t.id.to_string(),
        cell(t.description.as_deref().unwrap_or("")),
        time(t.created_at),
        expiry(t.expiration),
        if t.source_ips.is_empty() {
            "any".to_owned()
        } else {
            t.source_ips
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        },
    ]
}

/// Mailtrap tokens as a table.
pub fn mailtrap_tokens(tokens: &[mailtrap::ApiToken]) -> String {
    let rows: Vec<Vec<String>> = tokens.iter().map(mailtrap_row).collect();
    table(&["ID", "NAME", "LAST 4", "EXPIRES", "PERMISSIONS"], &rows)
}

fn mailtrap_row(t: &mailtrap::ApiToken) -> Vec<String> {
    vec![
        t.id.to_string(),
        cell(&t.name),
        cell(t.last_four.as_deref().unwrap_or("")),
        expiry(t.expires_at),
        t.permissions
            .iter()
            .map(|p| {
                cell(&format!(
                    "{}:{}:{}",
                    p.resource_type, p.resource_id, p.access_level
                ))
            })
            .collect::<Vec<_>>()
            .join(","),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_lines_carry_no_trailing_space() {
        let rows = vec![
            vec!["1".to_owned(), "a long name".to_owned(), "x".to_owned()],
            vec!["22".to_owned(), "b".to_owned(), String::new()],
        ];
        assert_eq!(
            table(&["ID", "NAME", "LAST"], &rows),
            "ID  NAME         LAST\n1   a long name  x\n22  b\n"
        );
        assert_eq!(table(&["ID"], &[]), "(no tokens)\n");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(cell("ok\u{1b}[2Jname\n"), "ok?[2Jname?");
    }

    /// A cell its caller did not clean (Unit's unparsed source addresses
    /// were joined raw) is cleaned by the table.
    #[test]
    fn a_table_cleans_every_cell() {
        let rows = vec![vec!["1".to_owned(), "1.2.3.4,\u{1b}[31mred".to_owned()]];
        let text = table(&["ID", "SOURCE IPS"], &rows);
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert!(text.contains("1.2.3.4,?[31mred"), "{text:?}");
    }
}
