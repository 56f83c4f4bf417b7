//! The crate's files import each other without circles.
//!
//! Every `.rs` file under `src/` is mapped to its module path (from the crate
//! roots `src/lib.rs`, `src/main.rs`, `src/bin/*.rs` and `src/bin/*/main.rs`,
//! following `mod` declarations: `foo.rs`, `foo/mod.rs`, `#[path]`). A file A
//! depends on a file B when A holds a `use` path, or a path in code starting
//! with `crate::`, `super::`, `self::`, a child module's name or a name A
//! imported, whose longest module prefix is a module of B (an inline module
//! counts as part of the file holding it). `pub use child::X` in a `mod.rs` is
//! such a dependency; a bare `mod child;` is not. Comments, doc comments and
//! string, char and raw-string literals are skipped by a small tokenizer, and
//! test-only code (`#[cfg(test)]` items and inline modules, and files declared
//! under `#[cfg(test)]`) is left out.
//!
//! The check then finds the strongly connected components of that graph and
//! fails on every component of more than one file, printing a closed walk
//! through its files and the line that makes each step.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::path::Path;

// ---------------------------------------------------------------- tokenizer

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// An identifier or keyword (`r#` stripped; `$crate` kept whole).
    Ident(String),
    /// `::`
    PathSep,
    /// Any other punctuation character.
    Punct(char),
    /// A string literal's contents (only `#[path = "…"]` reads them).
    Str(String),
    /// A number, char or byte literal, or a lifetime: never part of a path.
    Other,
}

#[derive(Debug, Clone)]
struct Tok {
    kind: Kind,
    line: usize,
}

impl Tok {
    fn new(kind: Kind, line: usize) -> Tok {
        Tok { kind, line }
    }
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Splits Rust source into tokens, dropping comments and whitespace and
/// turning every literal into a single token that no path can be read from.
fn tokenize(src: &str) -> Vec<Tok> {
    let s: Vec<char> = src.chars().collect();
    let n = s.len();
    let at = |i: usize| -> Option<char> { s.get(i).copied() };
    let mut toks = Vec::new();
    let mut i = 0;
    let mut line = 1;
    // Advances over s[from..to], counting newlines; returns `to`.
    let count = |from: usize, to: usize, line: &mut usize| {
        *line += s[from..to.min(n)].iter().filter(|&&c| c == '\n').count();
        to
    };
    while i < n {
        let c = s[i];
        let start_line = line;
        if c.is_whitespace() {
            i = count(i, i + 1, &mut line);
            continue;
        }
        // Comments, doc comments included.
        if c == '/' && at(i + 1) == Some('/') {
            while i < n && s[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && at(i + 1) == Some('*') {
            let mut depth = 0usize;
            let mut j = i;
            while j < n {
                if s[j] == '/' && at(j + 1) == Some('*') {
                    depth += 1;
                    j += 2;
                } else if s[j] == '*' && at(j + 1) == Some('/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            i = count(i, j, &mut line);
            continue;
        }
        // Identifiers, and the literals whose prefix looks like one.
        if is_ident_start(c) {
            let mut j = i;
            while j < n && is_ident_continue(s[j]) {
                j += 1;
            }
            let word: String = s[i..j].iter().collect();
            // Raw strings: r"…", r#"…"#, br…, cr….
            if matches!(word.as_str(), "r" | "br" | "cr") {
                let mut k = j;
                while at(k) == Some('#') {
                    k += 1;
                }
                if at(k) == Some('"') {
                    let hashes = k - j;
                    let body_start = k + 1;
                    let mut m = body_start;
                    let end = loop {
                        if m >= n {
                            break n;
                        }
                        if s[m] == '"' && (0..hashes).all(|h| at(m + 1 + h) == Some('#')) {
                            break m;
                        }
                        m += 1;
                    };
                    let body: String = s[body_start..end].iter().collect();
                    i = count(i, (end + 1 + hashes).min(n), &mut line);
                    toks.push(Tok::new(Kind::Str(body), start_line));
                    continue;
                }
                if word == "r" && at(j) == Some('#') && at(j + 1).is_some_and(is_ident_start) {
                    // Raw identifier r#name.
                    let mut k = j + 1;
                    while k < n && is_ident_continue(s[k]) {
                        k += 1;
                    }
                    let name: String = s[j + 1..k].iter().collect();
                    toks.push(Tok::new(Kind::Ident(name), start_line));
                    i = k;
                    continue;
                }
            }
            // Byte and C strings b"…", c"…"; byte chars b'…'.
            if matches!(word.as_str(), "b" | "c") && at(j) == Some('"') {
                let (end, body) = quoted(&s, j, '"');
                i = count(i, end, &mut line);
                toks.push(Tok::new(Kind::Str(body), start_line));
                continue;
            }
            if word == "b" && at(j) == Some('\'') {
                let (end, _) = quoted(&s, j, '\'');
                i = count(i, end, &mut line);
                toks.push(Tok::new(Kind::Other, start_line));
                continue;
            }
            toks.push(Tok::new(Kind::Ident(word), start_line));
            i = j;
            continue;
        }
        if c == '"' {
            let (end, body) = quoted(&s, i, '"');
            i = count(i, end, &mut line);
            toks.push(Tok::new(Kind::Str(body), start_line));
            continue;
        }
        if c == '\'' {
            // A char literal ('x', '\n', '\u{..}', '\'') or a lifetime ('a).
            let is_char =
                at(i + 1) == Some('\\') || (at(i + 1).is_some() && at(i + 2) == Some('\''));
            if is_char {
                let (end, _) = quoted(&s, i, '\'');
                i = count(i, end, &mut line);
            } else {
                let mut j = i + 1;
                while j < n && is_ident_continue(s[j]) {
                    j += 1;
                }
                i = j;
            }
            toks.push(Tok::new(Kind::Other, start_line));
            continue;
        }
        if c.is_ascii_digit() {
            let mut j = i;
            while j < n
                && (is_ident_continue(s[j])
                    || (s[j] == '.' && at(j + 1).is_some_and(|d| d.is_ascii_digit())))
            {
                j += 1;
            }
            i = j;
            toks.push(Tok::new(Kind::Other, start_line));
            continue;
        }
        if c == ':' && at(i + 1) == Some(':') {
            toks.push(Tok::new(Kind::PathSep, start_line));
            i += 2;
            continue;
        }
        if c == '$' && s[i + 1..].starts_with(&['c', 'r', 'a', 't', 'e']) {
            let after = at(i + 6);
            if !after.is_some_and(is_ident_continue) {
                toks.push(Tok::new(Kind::Ident("crate".to_owned()), start_line));
                i += 6;
                continue;
            }
        }
        toks.push(Tok::new(Kind::Punct(c), start_line));
        i += 1;
    }
    toks
}

/// Reads a quoted literal starting at `s[open]` (the quote), honouring
/// backslash escapes; returns the index after the closing quote and the body.
fn quoted(s: &[char], open: usize, quote: char) -> (usize, String) {
    let mut j = open + 1;
    let mut body = String::new();
    while j < s.len() {
        match s[j] {
            '\\' => {
                body.push(s[j]);
                if let Some(&next) = s.get(j + 1) {
                    body.push(next);
                }
                j += 2;
            }
            c if c == quote => return (j + 1, body),
            c => {
                body.push(c);
                j += 1;
            }
        }
    }
    (s.len(), body)
}

// ------------------------------------------------------------------- parser

/// A `mod name;` declaration found in a file.
#[derive(Debug, Clone)]
struct ModDecl {
    /// Inline modules the declaration sits in, within its file.
    inline: Vec<String>,
    name: String,
    path_attr: Option<String>,
    test_only: bool,
}

/// A path that may name a module of the crate.
#[derive(Debug, Clone)]
struct PathRef {
    /// Inline modules the path sits in, within its file.
    inline: Vec<String>,
    segments: Vec<String>,
    line: usize,
    /// From a `use` item; its last segment (or `as` name) becomes an alias.
    alias: Option<String>,
}

#[derive(Debug, Default)]
struct Parsed {
    mods: Vec<ModDecl>,
    /// Inline (non-test) modules, as paths within the file.
    inline_mods: Vec<Vec<String>>,
    paths: Vec<PathRef>,
    /// `#![cfg(test)]` at the top of the file.
    test_only: bool,
}

const ITEM_KEYWORDS: &[&str] = &[
    "fn",
    "mod",
    "struct",
    "enum",
    "union",
    "impl",
    "use",
    "const",
    "static",
    "type",
    "trait",
    "async",
    "unsafe",
    "extern",
    "macro_rules",
];

fn ident(t: Option<&Tok>) -> Option<&str> {
    match t.map(|t| &t.kind) {
        Some(Kind::Ident(s)) => Some(s),
        _ => None,
    }
}

fn punct(t: Option<&Tok>, c: char) -> bool {
    matches!(t.map(|t| &t.kind), Some(Kind::Punct(p)) if *p == c)
}

fn pathsep(t: Option<&Tok>) -> bool {
    matches!(t.map(|t| &t.kind), Some(Kind::PathSep))
}

/// Index just past the bracket group opening at `toks[open]`.
fn skip_group(toks: &[Tok], open: usize) -> usize {
    let mut depth = 0i64;
    let mut i = open;
    while i < toks.len() {
        match toks[i].kind {
            Kind::Punct('(' | '[' | '{') => depth += 1,
            Kind::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    toks.len()
}

/// Index just past the item starting at `toks[start]`: its `;` or its
/// brace block at nesting depth zero; stops before a `}` that closes the
/// enclosing block.
fn skip_item(toks: &[Tok], start: usize) -> usize {
    let mut i = start;
    while i < toks.len() {
        match toks[i].kind {
            Kind::Punct(';') => return i + 1,
            Kind::Punct('{') => return skip_group(toks, i),
            Kind::Punct('(' | '[') => i = skip_group(toks, i),
            Kind::Punct(')' | ']' | '}') => return i,
            _ => i += 1,
        }
    }
    toks.len()
}

/// Whether a `cfg(...)` predicate holds only under `cfg(test)`.
fn cfg_test_only(toks: &[Tok]) -> bool {
    // toks is the predicate: `test`, `all(...)`, `any(...)`, `not(...)`, ...
    fn split_args(toks: &[Tok]) -> Vec<&[Tok]> {
        // toks = `( a , b , c )`
        let inner = &toks[1..toks.len().saturating_sub(1)];
        let mut out = Vec::new();
        let mut depth = 0;
        let mut from = 0;
        for (k, t) in inner.iter().enumerate() {
            match t.kind {
                Kind::Punct('(' | '[') => depth += 1,
                Kind::Punct(')' | ']') => depth -= 1,
                Kind::Punct(',') if depth == 0 => {
                    out.push(&inner[from..k]);
                    from = k + 1;
                }
                _ => {}
            }
        }
        if from < inner.len() {
            out.push(&inner[from..]);
        }
        out
    }
    match ident(toks.first()) {
        Some("test") => toks.len() == 1,
        Some("all") => split_args(&toks[1..]).iter().any(|a| cfg_test_only(a)),
        Some("any") => {
            let args = split_args(&toks[1..]);
            !args.is_empty() && args.iter().all(|a| cfg_test_only(a))
        }
        _ => false,
    }
}

/// Reads the attribute `#[...]` or `#![...]` starting at `toks[i]`.
/// Returns (index after it, is inner, is test-only cfg, path attribute).
fn read_attr(toks: &[Tok], i: usize) -> Option<(usize, bool, bool, Option<String>)> {
    let inner = punct(toks.get(i + 1), '!');
    let open = if inner { i + 2 } else { i + 1 };
    if !punct(toks.get(open), '[') {
        return None;
    }
    let end = skip_group(toks, open);
    let body = &toks[open + 1..end.saturating_sub(1)];
    let mut test = false;
    let mut path = None;
    match ident(body.first()) {
        Some("cfg") if punct(body.get(1), '(') => test = cfg_test_only(&body[2..body.len() - 1]),
        Some("path") if punct(body.get(1), '=') => {
            if let Some(Kind::Str(p)) = body.get(2).map(|t| &t.kind) {
                path = Some(p.clone());
            }
        }
        _ => {}
    }
    Some((end, inner, test, path))
}

/// Index after a visibility (`pub`, `pub(crate)`, ...) starting at `i`.
fn skip_vis(toks: &[Tok], i: usize) -> usize {
    if ident(toks.get(i)) == Some("pub") {
        if punct(toks.get(i + 1), '(') {
            return skip_group(toks, i + 1);
        }
        return i + 1;
    }
    i
}

/// Expands the use tree starting at `toks[i]` with `prefix` already read;
/// returns the index after the tree.
fn read_use_tree(
    toks: &[Tok],
    mut i: usize,
    mut prefix: Vec<String>,
    inline: &[String],
    out: &mut Vec<PathRef>,
) -> usize {
    let line = toks.get(i).map_or(0, |t| t.line);
    let path = |segments: Vec<String>, alias: Option<String>| PathRef {
        inline: inline.to_vec(),
        segments,
        line,
        alias,
    };
    loop {
        match toks.get(i).map(|t| &t.kind) {
            Some(Kind::Ident(s)) if s == "self" && !prefix.is_empty() => {
                // `a::{self}` names `a`.
                let alias = prefix.last().cloned();
                i += 1;
                let alias = read_as(toks, &mut i).or(alias);
                out.push(path(prefix, alias));
                return i;
            }
            Some(Kind::Ident(s)) => {
                prefix.push(s.clone());
                i += 1;
                if pathsep(toks.get(i)) {
                    i += 1;
                    continue;
                }
                let alias = read_as(toks, &mut i).or_else(|| prefix.last().cloned());
                out.push(path(prefix, alias));
                return i;
            }
            Some(Kind::PathSep) if prefix.is_empty() => {
                // `::name`: an external crate.
                prefix.push("::".to_owned());
                i += 1;
            }
            Some(Kind::Punct('*')) => {
                out.push(path(prefix, None));
                return i + 1;
            }
            Some(Kind::Punct('{')) => {
                i += 1;
                loop {
                    if punct(toks.get(i), '}') {
                        return i + 1;
                    }
                    if i >= toks.len() {
                        return i;
                    }
                    i = read_use_tree(toks, i, prefix.clone(), inline, out);
                    if punct(toks.get(i), ',') {
                        i += 1;
                    }
                }
            }
            _ => return i + 1,
        }
    }
}

/// Reads `as name` at `toks[*i]`, if present.
fn read_as(toks: &[Tok], i: &mut usize) -> Option<String> {
    if ident(toks.get(*i)) == Some("as") {
        let name = ident(toks.get(*i + 1)).map(str::to_owned);
        *i += 2;
        return name.filter(|n| n != "_");
    }
    None
}

fn parse(src: &str) -> Parsed {
    let toks = tokenize(src);
    let mut out = Parsed::default();
    // One entry per open brace: the inline module it opens, if any.
    let mut braces: Vec<Option<String>> = Vec::new();
    let inline_of =
        |braces: &[Option<String>]| -> Vec<String> { braces.iter().flatten().cloned().collect() };
    let mut attrs_test = false;
    let mut attrs_path: Option<String> = None;
    let mut i = 0;
    while i < toks.len() {
        if punct(toks.get(i), '#') {
            if let Some((end, inner, test, path)) = read_attr(&toks, i) {
                if inner {
                    if test && braces.is_empty() {
                        out.test_only = true;
                    }
                } else {
                    attrs_test |= test;
                    if path.is_some() {
                        attrs_path = path;
                    }
                }
                i = end;
                continue;
            }
        }
        let test = std::mem::take(&mut attrs_test);
        let path_attr = attrs_path.take();
        // Items: modules, and test-only items to leave out.
        let kw = skip_vis(&toks, i);
        if ident(toks.get(kw)) == Some("mod") {
            if let Some(name) = ident(toks.get(kw + 1)) {
                let name = name.to_owned();
                if punct(toks.get(kw + 2), ';') {
                    out.mods.push(ModDecl {
                        inline: inline_of(&braces),
                        name,
                        path_attr,
                        test_only: test,
                    });
                    i = kw + 3;
                    continue;
                }
                if punct(toks.get(kw + 2), '{') {
                    if test {
                        i = skip_group(&toks, kw + 2);
                    } else {
                        braces.push(Some(name));
                        out.inline_mods.push(inline_of(&braces));
                        i = kw + 3;
                    }
                    continue;
                }
            }
        }
        if test && ident(toks.get(kw)).is_some_and(|k| ITEM_KEYWORDS.contains(&k)) {
            i = skip_item(&toks, i);
            continue;
        }
        match &toks[i].kind {
            Kind::Punct('{') => {
                braces.push(None);
                i += 1;
            }
            Kind::Punct('}') => {
                braces.pop();
                i += 1;
            }
            Kind::Ident(k) if k == "use" && !punct(toks.get(i + 1), '<') => {
                let inline = inline_of(&braces);
                i = read_use_tree(&toks, i + 1, Vec::new(), &inline, &mut out.paths);
            }
            Kind::Ident(first)
                if pathsep(toks.get(i + 1))
                    && !pathsep(toks.get(i.wrapping_sub(1)))
                    && !punct(toks.get(i.wrapping_sub(1)), '.') =>
            {
                let mut segments = vec![first.clone()];
                let line = toks[i].line;
                let mut j = i + 1;
                while pathsep(toks.get(j)) {
                    match ident(toks.get(j + 1)) {
                        Some(s) => segments.push(s.to_owned()),
                        None => break,
                    }
                    j += 2;
                }
                out.paths.push(PathRef {
                    inline: inline_of(&braces),
                    segments,
                    line,
                    alias: None,
                });
                i = j;
            }
            _ => i += 1,
        }
    }
    out
}

// -------------------------------------------------------------------- graph

/// One file of the graph.
#[derive(Debug)]
struct FileNode {
    crate_root: String,
    module: Vec<String>,
    parsed: Parsed,
}

/// What made an edge: the first line and path that drew it.
#[derive(Debug, Clone)]
struct Evidence {
    line: usize,
    path: String,
}

#[derive(Debug, Default)]
struct Graph {
    /// Files in the graph (test-only files left out).
    files: BTreeMap<String, FileNode>,
    edges: BTreeMap<String, BTreeMap<String, Evidence>>,
    /// Files under `src/` no crate root reaches.
    unreached: Vec<String>,
}

fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

fn join(dir: &str, rest: &str) -> String {
    if dir.is_empty() {
        rest.to_owned()
    } else {
        format!("{dir}/{rest}")
    }
}

/// Whether a file owns its directory for child modules (`lib.rs`, `main.rs`,
/// `mod.rs`, or a crate root).
fn is_mod_rs(path: &str, is_root: bool) -> bool {
    is_root || path.ends_with("/mod.rs")
}

/// The crate roots among `files` (paths relative to the package root).
fn crate_roots(files: &BTreeMap<String, String>) -> Vec<String> {
    files
        .keys()
        .filter(|p| {
            let p = p.as_str();
            p == "src/lib.rs"
                || p == "src/main.rs"
                || (p.starts_with("src/bin/") && p.matches('/').count() == 2)
                || (p.starts_with("src/bin/")
                    && p.matches('/').count() == 3
                    && p.ends_with("/main.rs"))
        })
        .cloned()
        .collect()
}

/// Builds the import graph of `files` (path relative to the package root to
/// source text).
fn build_graph(files: &BTreeMap<String, String>) -> Graph {
    let mut graph = Graph::default();
    // (crate root, module path) -> file holding it.
    let mut modules: BTreeMap<(String, Vec<String>), String> = BTreeMap::new();
    let mut queue: VecDeque<(String, String, Vec<String>)> = VecDeque::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for root in crate_roots(files) {
        queue.push_back((root.clone(), root, Vec::new()));
    }
    while let Some((file, root, module)) = queue.pop_front() {
        if !seen.insert(file.clone()) {
            continue;
        }
        let Some(src) = files.get(&file) else {
            continue;
        };
        let parsed = parse(src);
        if parsed.test_only {
            continue;
        }
        let is_root = file == root;
        modules.insert((root.clone(), module.clone()), file.clone());
        for inline in &parsed.inline_mods {
            let mut m = module.clone();
            m.extend(inline.iter().cloned());
            modules.insert((root.clone(), m), file.clone());
        }
        for decl in &parsed.mods {
            if decl.test_only {
                // Test-only files, and the files they declare, are left out.
                seen.insert(child_file(&file, is_root, decl, files).unwrap_or_default());
                continue;
            }
            let Some(child) = child_file(&file, is_root, decl, files) else {
                continue;
            };
            let mut m = module.clone();
            m.extend(decl.inline.iter().cloned());
            m.push(decl.name.clone());
            queue.push_back((child, root.clone(), m));
        }
        graph.files.insert(
            file,
            FileNode {
                crate_root: root,
                module,
                parsed,
            },
        );
    }
    graph.unreached = files
        .keys()
        .filter(|f| !seen.contains(*f))
        .cloned()
        .collect();

    for (file, node) in &graph.files {
        let mut aliases: BTreeMap<(Vec<String>, String), Vec<String>> = BTreeMap::new();
        // `use` items first, so that code paths can go through their aliases.
        let mut refs: Vec<&PathRef> = node
            .parsed
            .paths
            .iter()
            .filter(|p| p.alias.is_some())
            .collect();
        refs.extend(node.parsed.paths.iter().filter(|p| p.alias.is_none()));
        for r in refs {
            let mut scope = node.module.clone();
            scope.extend(r.inline.iter().cloned());
            let Some(abs) = resolve(&node.crate_root, &scope, &r.segments, &modules, &aliases)
            else {
                continue;
            };
            if let Some(alias) = &r.alias {
                aliases.insert((scope.clone(), alias.clone()), abs.clone());
            }
            let target = (0..=abs.len())
                .rev()
                .find_map(|k| modules.get(&(node.crate_root.clone(), abs[..k].to_vec())));
            if let Some(target) = target {
                if target != file && graph.files.contains_key(target) {
                    graph
                        .edges
                        .entry(file.clone())
                        .or_default()
                        .entry(target.clone())
                        .or_insert_with(|| Evidence {
                            line: r.line,
                            path: r.segments.join("::"),
                        });
                }
            }
        }
    }
    graph
}

/// The file a `mod` declaration loads, if it exists.
fn child_file(
    parent: &str,
    parent_is_root: bool,
    decl: &ModDecl,
    files: &BTreeMap<String, String>,
) -> Option<String> {
    let base = if is_mod_rs(parent, parent_is_root) {
        dir_of(parent).to_owned()
    } else {
        parent.trim_end_matches(".rs").to_owned()
    };
    if let Some(p) = &decl.path_attr {
        let dir = if decl.inline.is_empty() {
            dir_of(parent).to_owned()
        } else {
            join(&base, &decl.inline.join("/"))
        };
        return Some(normalize(&join(&dir, p)));
    }
    let mut dir = base;
    for m in &decl.inline {
        dir = join(&dir, m);
    }
    let flat = join(&dir, &format!("{}.rs", decl.name));
    let nested = join(&dir, &format!("{}/mod.rs", decl.name));
    if files.contains_key(&flat) {
        Some(flat)
    } else if files.contains_key(&nested) {
        Some(nested)
    } else {
        None
    }
}

/// Folds `.` and `..` components.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// The absolute module path (within its crate) that `segments`, written in
/// module `scope`, names; `None` for paths outside the crate.
fn resolve(
    root: &str,
    scope: &[String],
    segments: &[String],
    modules: &BTreeMap<(String, Vec<String>), String>,
    aliases: &BTreeMap<(Vec<String>, String), Vec<String>>,
) -> Option<Vec<String>> {
    let first = segments.first()?;
    let mut rest = &segments[1..];
    let mut base: Vec<String> = match first.as_str() {
        "crate" => Vec::new(),
        "self" => scope.to_vec(),
        "super" => {
            let mut b = scope.to_vec();
            b.pop()?;
            b
        }
        "::" => return None,
        name => {
            let mut child = scope.to_vec();
            child.push(name.to_owned());
            if modules.contains_key(&(root.to_owned(), child)) {
                rest = segments;
                scope.to_vec()
            } else if let Some(target) = aliases.get(&(scope.to_vec(), name.to_owned())) {
                target.clone()
            } else {
                return None;
            }
        }
    };
    while rest.first().is_some_and(|s| s == "super") {
        base.pop()?;
        rest = &rest[1..];
    }
    base.extend(rest.iter().filter(|s| *s != "self").cloned());
    Some(base)
}

/// Strongly connected components of more than one file (Tarjan).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(st: &mut State<'g>, v: &'g str) {
        st.index.insert(v, st.next);
        st.low.insert(v, st.next);
        st.next += 1;
        st.stack.push(v);
        st.on_stack.insert(v);
        let graph = st.graph;
        for w in graph.edges.get(v).into_iter().flat_map(|e| e.keys()) {
            let w = w.as_str();
            if !st.index.contains_key(w) {
                visit(st, w);
                let lw = st.low[w];
                let lv = st.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if st.on_stack.contains(w) {
                let iw = st.index[w];
                let lv = st.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if st.low[v] == st.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = st.stack.pop() {
                st.on_stack.remove(w);
                comp.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                st.out.push(comp);
            }
        }
    }
    let mut st = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in graph.files.keys() {
        if !st.index.contains_key(v.as_str()) {
            visit(&mut st, v);
        }
    }
    st.out.sort();
    st.out
}

/// A closed walk through every file of a component, each step a real edge:
/// from the first file, the shortest path to the nearest file not yet
/// visited, and at the end back to the first.
fn walk(graph: &Graph, comp: &[String]) -> Vec<String> {
    let members: BTreeSet<&str> = comp.iter().map(String::as_str).collect();
    let shortest = |from: &str, done: &dyn Fn(&str) -> bool| -> Vec<String> {
        let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([from]);
        let mut visited = BTreeSet::from([from]);
        while let Some(v) = queue.pop_front() {
            for w in graph.edges.get(v).into_iter().flat_map(|e| e.keys()) {
                let w = w.as_str();
                if !members.contains(w) {
                    continue;
                }
                if done(w) {
                    let mut path = vec![w.to_owned()];
                    let mut cur = v;
                    while cur != from {
                        path.push(cur.to_owned());
                        cur = prev[cur];
                    }
                    path.reverse();
                    return path;
                }
                if visited.insert(w) {
                    prev.insert(w, v);
                    queue.push_back(w);
                }
            }
        }
        Vec::new()
    };
    let start = comp[0].clone();
    let mut order = vec![start.clone()];
    let mut visited: BTreeSet<String> = BTreeSet::from([start.clone()]);
    while visited.len() < comp.len() {
        let here = order.last().cloned().unwrap_or_default();
        let step = shortest(&here, &|w| !visited.contains(w));
        if step.is_empty() {
            break;
        }
        for f in step {
            visited.insert(f.clone());
            order.push(f);
        }
    }
    let here = order.last().cloned().unwrap_or_default();
    order.extend(shortest(&here, &|w| w == start));
    order
}

/// The report of every circle, or `None` when there is none.
fn report(graph: &Graph) -> Option<String> {
    let found = cycles(graph);
    if found.is_empty() {
        return None;
    }
    let mut out = format!("{} import circle(s) between files:\n", found.len());
    for (n, comp) in found.iter().enumerate() {
        let order = walk(graph, comp);
        let _ = writeln!(
            out,
            "\ncircle {} ({} files: {})\n  walk: {}",
            n + 1,
            comp.len(),
            comp.join(", "),
            order.join(" -> ")
        );
        let _ = writeln!(out, "  every import inside it:");
        for from in comp {
            for (to, ev) in graph.edges.get(from).into_iter().flatten() {
                if comp.contains(to) {
                    let _ = writeln!(out, "    {from}:{} `{}` -> {to}", ev.line, ev.path);
                }
            }
        }
    }
    Some(out)
}

/// Every `.rs` file under `src/`, keyed by its path relative to the crate
/// (`src/lib.rs`).
fn source_files() -> BTreeMap<String, String> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = BTreeMap::new();
    let mut dirs = vec![base.join("src")];
    while let Some(dir) = dirs.pop() {
        let entries =
            std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(base).expect("under the crate");
            let rel: Vec<_> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect();
            let src = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            files.insert(rel.join("/"), src);
        }
    }
    files
}

#[test]
fn no_import_circles_between_source_files() {
    let graph = build_graph(&source_files());
    assert!(
        graph.files.contains_key("src/lib.rs"),
        "the library's root was not read"
    );
    if !graph.unreached.is_empty() {
        eprintln!("files no crate root declares: {:?}", graph.unreached);
    }
    if let Some(report) = report(&graph) {
        panic!("{report}");
    }
}

/// The rule of a folder's `mod.rs`, on the same graph: it declares and
/// re-exports its children, and what they share lives in a leaf file, so
/// no file refers to the `mod.rs` of a folder that holds it (a child that
/// did would depend on its own parent). Checked for the testing kit, whose
/// files depend on each other one way.
fn upward_edges(graph: &Graph, under: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (from, targets) in &graph.edges {
        if !from.starts_with(under) {
            continue;
        }
        for (to, evidence) in targets {
            let Some(folder) = to.strip_suffix("mod.rs") else {
                continue;
            };
            if to != from && from.starts_with(folder) {
                found.push(format!(
                    "{from}:{} refers to {to} (`{}`), the mod.rs above it",
                    evidence.line, evidence.path
                ));
            }
        }
    }
    found
}

#[test]
fn the_testing_kit_never_refers_to_a_mod_rs_above_it() {
    let graph = build_graph(&source_files());
    assert!(
        graph
            .files
            .keys()
            .filter(|f| f.starts_with("src/testing/"))
            .count()
            > 5,
        "the testing kit was not read"
    );
    let upward = upward_edges(&graph, "src/testing/");
    assert!(upward.is_empty(), "{}", upward.join("\n"));
}

#[test]
fn a_child_referring_to_its_mod_rs_is_found() {
    let graph = graph_of(
        "== src/lib.rs
         pub mod testing;
         == src/testing/mod.rs
         mod a;
         mod b;
         pub use a::A;
         pub struct Shared;
         == src/testing/a.rs
         use super::Shared;
         pub struct A;
         == src/testing/b.rs
         use super::a::A;",
    );
    let upward = upward_edges(&graph, "src/testing/");
    assert_eq!(upward.len(), 1, "{upward:?}");
    assert!(
        upward[0].starts_with("src/testing/a.rs:1 refers to src/testing/mod.rs"),
        "{upward:?}"
    );
}

/// Prints the circles found in the current code (with `--nocapture`) without
/// failing; the graph must at least have been built from the real tree.
#[test]
fn the_real_tree_is_read_and_mapped() {
    let graph = build_graph(&source_files());
    for expected in [
        "src/lib.rs",
        "src/scrub/mod.rs",
        "src/unit/mod.rs",
        "src/bin/api-tokens/main.rs",
    ] {
        assert!(
            graph.files.contains_key(expected),
            "{expected} missing from the graph"
        );
    }
    // A file declared under #[cfg(test)] is test code.
    assert!(!graph.files.contains_key("src/transport/tests.rs"));
    assert_eq!(
        graph.files["src/bin/api-tokens/main.rs"].crate_root,
        "src/bin/api-tokens/main.rs"
    );
    assert!(graph.edges.values().map(BTreeMap::len).sum::<usize>() > graph.files.len() / 2);
    if let Some(report) = report(&graph) {
        println!("{report}");
    }
}

/// The scrubber's files hold one job each and import no file of the
/// folder in a circle (`mod.rs` only declares and re-exports).
#[test]
fn the_scrubber_files_are_in_no_circle() {
    let graph = build_graph(&source_files());
    let files: Vec<&String> = graph
        .files
        .keys()
        .filter(|f| f.starts_with("src/scrub/"))
        .collect();
    assert!(files.len() > 1, "{files:?}");
    for circle in cycles(&graph) {
        assert!(
            !circle.iter().any(|f| f.starts_with("src/scrub/")),
            "{circle:?}"
        );
    }
}

// ------------------------------------------------------- checker's own tests

/// The graph of a made-up crate: `files` holds each file as a line
/// `== PATH` followed by its source, each line read without its
/// indentation. Without a `src/lib.rs` of its own, the crate gets one
/// that declares each top-level file as a private module.
fn graph_of(files: &str) -> Graph {
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    let mut path = None;
    for line in files.lines().map(str::trim_start) {
        if let Some(next) = line.strip_prefix("== ") {
            sources.insert(next.to_owned(), String::new());
            path = Some(next);
        } else if let Some(path) = path {
            let source = sources.get_mut(path).expect("inserted with its path");
            source.push_str(line);
            source.push('\n');
        }
    }
    if !sources.contains_key("src/lib.rs") {
        let root: String = sources
            .keys()
            .filter_map(|path| path.strip_prefix("src/")?.strip_suffix(".rs"))
            .filter(|name| !name.contains('/'))
            .map(|name| format!("mod {name};\n"))
            .collect();
        sources.insert("src/lib.rs".to_owned(), root);
    }
    build_graph(&sources)
}

fn edge(graph: &Graph, from: &str, to: &str) -> bool {
    graph.edges.get(from).is_some_and(|e| e.contains_key(to))
}

#[test]
fn a_planted_circle_is_found_and_listed() {
    const CRATE: &str = r#"
        == src/a.rs
        use crate::b::Thing;
        pub struct Other;
        == src/b.rs
        pub struct Thing(crate::c::Third);
        == src/c.rs
        pub struct Third;
        fn f() -> super::a::Other { todo!() }
    "#;
    let graph = graph_of(CRATE);
    assert_eq!(
        cycles(&graph),
        vec![vec![
            "src/a.rs".to_owned(),
            "src/b.rs".to_owned(),
            "src/c.rs".to_owned()
        ]]
    );
    let report = report(&graph).expect("a circle is reported");
    assert!(
        report.contains("(3 files: src/a.rs, src/b.rs, src/c.rs)"),
        "{report}"
    );
    assert!(
        report.contains("src/a.rs -> src/b.rs -> src/c.rs -> src/a.rs"),
        "{report}"
    );
    assert!(
        report.contains("src/a.rs:1 `crate::b::Thing` -> src/b.rs"),
        "{report}"
    );
    assert!(
        report.contains("src/c.rs:2 `super::a::Other` -> src/a.rs"),
        "{report}"
    );
}

#[test]
fn a_graph_without_circles_passes() {
    const CRATE: &str = r#"
        == src/lib.rs
        mod a;
        mod b;
        pub use a::X;
        == src/a.rs
        use crate::b::Y;
        pub struct X(Y);
        == src/b.rs
        pub struct Y;
    "#;
    let graph = graph_of(CRATE);
    assert!(edge(&graph, "src/lib.rs", "src/a.rs"));
    assert!(edge(&graph, "src/a.rs", "src/b.rs"));
    assert!(report(&graph).is_none());
}

#[test]
fn comments_strings_and_chars_draw_no_edge() {
    const CRATE: &str = r##"
        == src/a.rs
        //! See [`crate::b::Y`].
        /// crate::b::Y
        // use crate::b::Y;
        /* crate::b::Y /* nested */ crate::b::Y */
        const S: &str = "crate::b::Y";
        const R: &str = r#"use crate::b::Y; "# ;
        const C: char = '"'; const L: &'static str = "x"; const Q: char = '\'';
        #[doc = "crate::b::Y"]
        pub struct X;
        == src/b.rs
        pub struct Y;
    "##;
    let graph = graph_of(CRATE);
    assert!(!edge(&graph, "src/a.rs", "src/b.rs"), "{:?}", graph.edges);
}

#[test]
fn a_mod_declaration_is_no_edge_but_a_reexport_and_super_are() {
    const CRATE: &str = r#"
        == src/lib.rs
        pub mod unit;
        == src/unit/mod.rs
        mod model;
        mod wire;
        pub use model::Model;
        == src/unit/model.rs
        pub struct Model;
        == src/unit/wire.rs
        pub fn f() -> super::Model { todo!() }
    "#;
    let graph = graph_of(CRATE);
    assert!(!edge(&graph, "src/lib.rs", "src/unit/mod.rs"));
    assert!(edge(&graph, "src/unit/mod.rs", "src/unit/model.rs"));
    assert!(!edge(&graph, "src/unit/mod.rs", "src/unit/wire.rs"));
    assert!(edge(&graph, "src/unit/wire.rs", "src/unit/mod.rs"));
    assert!(report(&graph).is_none());
}

#[test]
fn test_code_is_left_out() {
    const CRATE: &str = r#"
        == src/lib.rs
        mod a;
        mod b;
        #[cfg(test)]
        #[path = "a_tests.rs"]
        mod a_tests;
        == src/a.rs
        use crate::b::Y;
        #[cfg(test)]
        mod tests {
            use super::*;
            fn t() { crate::a::X; }
        }
        #[cfg(test)]
        fn helper() -> crate::b::Y { todo!() }
        pub struct X;
        == src/b.rs
        pub struct Y;
        #[cfg(test)]
        mod tests {
            use crate::a::X;
        }
        #[cfg(all(test, unix))]
        use crate::a::X as Z;
        #[cfg(any(test, feature = "f"))]
        pub fn keep() {}
        == src/a_tests.rs
        use crate::a::X;
        use crate::b::Y;
    "#;
    let graph = graph_of(CRATE);
    assert!(!graph.files.contains_key("src/a_tests.rs"));
    assert!(!edge(&graph, "src/b.rs", "src/a.rs"), "{:?}", graph.edges);
    assert!(report(&graph).is_none());
}

#[test]
fn use_trees_aliases_and_inline_modules_resolve() {
    const CRATE: &str = r#"
        == src/a.rs
        use crate::{b::{self as bee, Y}, c};
        fn f() { c::g(); }
        == src/b.rs
        pub struct Y;
        pub(crate) mod inner { pub fn h() { super::super::d::k(); } }
        == src/c.rs
        pub fn g() {}
        use self::sub::Z;
        mod sub { pub struct Z; }
        == src/d.rs
        pub fn k() {}
        use ::std::fmt;
        use std::io;
        fn x(v: Vec<u8>) -> io::Result<()> { v.len(); Ok(()) }
    "#;
    let graph = graph_of(CRATE);
    assert!(edge(&graph, "src/a.rs", "src/b.rs"));
    assert!(edge(&graph, "src/a.rs", "src/c.rs"));
    assert!(edge(&graph, "src/b.rs", "src/d.rs"));
    assert!(!edge(&graph, "src/c.rs", "src/c.rs"));
    assert!(!graph.edges.contains_key("src/d.rs"), "{:?}", graph.edges);
    assert!(report(&graph).is_none());
}

#[test]
fn a_binary_is_its_own_crate() {
    const CRATE: &str = r#"
        == src/lib.rs
        pub mod commands;
        pub mod lifecycle;
        == src/commands.rs
        pub fn run() {}
        == src/lifecycle.rs
        pub fn go() {}
        == src/bin/tool/main.rs
        mod commands;
        mod lifecycle;
        fn main() {}
        == src/bin/tool/commands.rs
        use api::lifecycle::go;
        pub fn run() { crate::lifecycle::go(); }
        == src/bin/tool/lifecycle.rs
        use crate::commands::run;
        pub fn go() {}
    "#;
    let graph = graph_of(CRATE);
    assert!(edge(
        &graph,
        "src/bin/tool/commands.rs",
        "src/bin/tool/lifecycle.rs"
    ));
    assert!(!edge(
        &graph,
        "src/bin/tool/commands.rs",
        "src/lifecycle.rs"
    ));
    assert_eq!(
        cycles(&graph),
        vec![vec![
            "src/bin/tool/commands.rs".to_owned(),
            "src/bin/tool/lifecycle.rs".to_owned()
        ]]
    );
}

#[test]
fn the_tokenizer_keeps_lifetimes_numbers_and_raw_identifiers_apart() {
    let toks = tokenize("fn f<'a>(x: &'a r#mod) -> u8 { 1.5e3 as u8 + b'x' + 0x1F } $crate::y");
    let idents: Vec<&str> = toks.iter().filter_map(|t| ident(Some(t))).collect();
    assert_eq!(
        idents,
        ["fn", "f", "x", "mod", "u8", "as", "u8", "crate", "y"]
    );
}
