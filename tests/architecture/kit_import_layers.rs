//! The files of the testing kit (`src/testing/`) depend on each other one
//! way: drawn from `use` paths and every `crate::`, `super::` and `self::`
//! reference (doc links included, `mod x;` declarations not), no file
//! reaches itself again, and no file refers to the `mod.rs` of a module
//! that holds it (a `mod.rs` declares and re-exports its children; what
//! they share lives in a leaf file).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file below `root`'s folder `testing`, keyed by its module
/// path (`["testing", "unit_fake", "state"]`).
fn kit_files(root: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut found = BTreeMap::new();
    let mut folders = vec![root.join("testing")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(root).unwrap().with_extension("");
            let mut module: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if module.last().is_some_and(|m| m == "mod") {
                module.pop();
            }
            found.insert(module, path);
        }
    }
    found
}

/// Marks each byte as code or comment (`true`) or inside a string or char
/// literal (`false`), and gives the code-only bytes for brace counting.
fn classify(text: &[u8]) -> (Vec<bool>, Vec<bool>) {
    let mut visible = vec![true; text.len()];
    let mut code = vec![true; text.len()];
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if rest.starts_with(b"//") {
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            code[i..i + end].iter_mut().for_each(|c| *c = false);
            i += end;
        } else if rest.starts_with(b"/*") {
            let end = rest
                .windows(2)
                .position(|w| w == b"*/")
                .map_or(rest.len(), |p| p + 2);
            code[i..i + end].iter_mut().for_each(|c| *c = false);
            i += end;
        } else if rest.starts_with(b"r#\"") || rest.starts_with(b"r\"") {
            let hashes = rest[1..].iter().take_while(|&&b| b == b'#').count();
            let mut closing = vec![b'"'];
            closing.extend(std::iter::repeat_n(b'#', hashes));
            let start = 2 + hashes;
            let end = rest[start..]
                .windows(closing.len())
                .position(|w| w == closing.as_slice())
                .map_or(rest.len(), |p| start + p + closing.len());
            visible[i..i + end].iter_mut().for_each(|c| *c = false);
            code[i..i + end].iter_mut().for_each(|c| *c = false);
            i += end;
        } else if rest[0] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(rest.len());
            visible[i..i + end].iter_mut().for_each(|c| *c = false);
            code[i..i + end].iter_mut().for_each(|c| *c = false);
            i += end;
        } else if rest[0] == b'\'' {
            let end = if rest.get(1) == Some(&b'\\') {
                rest[2..]
                    .iter()
                    .position(|&b| b == b'\'')
                    .map_or(1, |p| p + 3)
            } else if rest.get(2) == Some(&b'\'') {
                3
            } else {
                1 // a lifetime
            };
            visible[i..i + end].iter_mut().for_each(|c| *c = false);
            code[i..i + end].iter_mut().for_each(|c| *c = false);
            i += end;
        } else {
            i += 1;
        }
    }
    (visible, code)
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Reads `a::b::{c, d::{e}}` at `at`: every full path it names.
fn paths_at(text: &[u8], mut at: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix;
    loop {
        while at < text.len() && text[at].is_ascii_whitespace() {
            at += 1;
        }
        if text.get(at) == Some(&b'{') {
            at += 1;
            loop {
                while at < text.len() && (text[at].is_ascii_whitespace() || text[at] == b',') {
                    at += 1;
                }
                if at >= text.len() || text[at] == b'}' {
                    return at + 1;
                }
                at = paths_at(text, at, path.clone(), out);
                // Skip `as name` and anything else up to the next item.
                while at < text.len() && text[at] != b',' && text[at] != b'}' {
                    at += 1;
                }
            }
        }
        let start = at;
        while at < text.len() && is_ident(text[at]) {
            at += 1;
        }
        if at == start {
            out.push(path);
            return at;
        }
        path.push(String::from_utf8_lossy(&text[start..at]).into_owned());
        if text[at..].starts_with(b"::") {
            at += 2;
        } else {
            out.push(path);
            return at;
        }
    }
}

/// The modules a file refers to, as absolute module paths.
fn references(file_module: &[String], text: &str) -> Vec<Vec<String>> {
    let bytes = text.as_bytes();
    let (visible, code) = classify(bytes);
    // Inline modules (`mod tests { … }`) by the brace depth they open at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if code[i] && bytes[i] == b'{' {
            depth += 1;
        } else if code[i] && bytes[i] == b'}' {
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
        }
        let boundary = i == 0 || !(is_ident(bytes[i - 1]) || bytes[i - 1] == b':');
        if code[i] && boundary && bytes[i..].starts_with(b"mod ") {
            let mut j = i + 4;
            let start = j;
            while j < bytes.len() && is_ident(bytes[j]) {
                j += 1;
            }
            let name = String::from_utf8_lossy(&bytes[start..j]).into_owned();
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if bytes.get(j) == Some(&b'{') {
                inline.push((name, depth + 1));
            }
        }
        let mut current: Vec<String> = file_module.to_vec();
        current.extend(inline.iter().map(|(n, _)| n.clone()));
        if visible[i] && boundary {
            for (keyword, base) in [
                ("crate::", Vec::new()),
                ("self::", current.clone()),
                (
                    "super::",
                    current[..current.len().saturating_sub(1)].to_vec(),
                ),
            ] {
                if bytes[i..].starts_with(keyword.as_bytes()) {
                    let mut base = base;
                    let mut at = i + keyword.len();
                    while bytes[at..].starts_with(b"super::") {
                        base.pop();
                        at += "super::".len();
                    }
                    paths_at(bytes, at, base, &mut found);
                }
            }
            // `use child::…` in a module file: a path relative to it.
            if code[i] && bytes[i..].starts_with(b"use ") {
                let mut at = i + 4;
                while bytes[at].is_ascii_whitespace() {
                    at += 1;
                }
                let relative = !["crate::", "self::", "super::", "std::", "::"]
                    .iter()
                    .any(|k| bytes[at..].starts_with(k.as_bytes()));
                if relative {
                    paths_at(bytes, at, current.clone(), &mut found);
                }
            }
        }
        i += 1;
    }
    found
}

#[test]
fn the_testing_kit_depends_one_way() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = kit_files(&root);
    assert!(modules.len() > 5, "found {modules:?}");

    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let mut upward = Vec::new();
    for (module, path) in &modules {
        let text = std::fs::read_to_string(path).unwrap();
        let targets = edges.entry(module.clone()).or_default();
        for reference in references(module, &text) {
            // The longest prefix that is a file of the kit.
            let Some(target) = (1..=reference.len())
                .rev()
                .map(|n| reference[..n].to_vec())
                .find(|prefix| modules.contains_key(prefix))
            else {
                continue;
            };
            if target == *module {
                continue;
            }
            if module.starts_with(&target) {
                upward.push(format!(
                    "{} refers to {} ({})",
                    path.display(),
                    modules[&target].display(),
                    reference.join("::")
                ));
            }
            targets.insert(target);
        }
    }
    assert!(
        upward.is_empty(),
        "files that refer to the mod.rs above them:\n{}",
        upward.join("\n")
    );

    // Depth-first search for a cycle.
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        match state.get(node) {
            Some(2) => return None,
            Some(1) => {
                let from = stack.iter().position(|n| n == node).unwrap();
                let mut cycle = stack[from..].to_vec();
                cycle.push(node.clone());
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, state, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        let mut stack = Vec::new();
        if let Some(cycle) = visit(node, &edges, &mut state, &mut stack) {
            let names: Vec<String> = cycle.iter().map(|m| m.join("/")).collect();
            panic!("import cycle in the testing kit: {}", names.join(" -> "));
        }
    }
}

#[test]
fn the_reader_sees_what_it_must() {
    let module: Vec<String> = ["testing", "a"].map(String::from).to_vec();
    let text = "use super::{b, c::{self, D}};\n\
                /// [`E`](crate::testing::e::E)\n\
                fn f() { let s = \"super::x\"; }\n\
                mod tests { use super::*; }\n";
    let found = references(&module, text);
    let joined: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    assert!(joined.contains(&"testing::b".to_owned()), "{joined:?}");
    assert!(
        joined.contains(&"testing::c::self".to_owned()),
        "{joined:?}"
    );
    assert!(joined.contains(&"testing::c::D".to_owned()), "{joined:?}");
    assert!(joined.contains(&"testing::e::E".to_owned()), "{joined:?}");
    assert!(
        joined.contains(&"testing::a::*".to_owned()) || joined.contains(&"testing::a".to_owned()),
        "{joined:?}"
    );
    assert!(!joined.iter().any(|p| p.ends_with("x")), "{joined:?}");
}
