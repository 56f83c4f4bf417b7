//! The command line's files depend on each other one way only: no file of
//! `src/bin/api-tokens/` imports another that imports it back, directly or
//! through others. The graph is drawn from `crate::` and `super::` paths
//! (`use` declarations and paths in code alike), and, in `main.rs`, from
//! the paths that start with a module's name; a path to an item of
//! `main.rs` (`crate::ITEM` that names no module) is an edge to `main`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The source without comments: lines that start with `//` are dropped,
/// and a `//` outside a string literal ends the line.
fn code_of(source: &str) -> String {
    let mut code = String::new();
    for line in source.lines() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let mut in_string = false;
        let mut escaped = false;
        let mut end = line.len();
        let bytes = line.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                _ if escaped => escaped = false,
                b'\\' if in_string => escaped = true,
                b'"' => in_string = !in_string,
                b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        code.push_str(&line[..end]);
        code.push('\n');
    }
    code
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The first names of every path that follows `prefix` (`crate::`): `x` in
/// `crate::x::y`, `a` and `b` in `crate::{a::c, b}`.
fn names_after(code: &str, prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(is_ident) {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group: those after `{` or a `,` at
            // depth 0.
            let mut depth = 0;
            let mut expect_name = true;
            let mut name = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => expect_name = true,
                    c if expect_name && is_ident(c) => name.push(c),
                    _ if expect_name && !name.is_empty() => {
                        names.push(std::mem::take(&mut name));
                        expect_name = false;
                    }
                    _ => {}
                }
            }
            if !name.is_empty() {
                names.push(name);
            }
        } else {
            let name: String = rest.chars().take_while(|&c| is_ident(c)).collect();
            if !name.is_empty() {
                names.push(name);
            }
        }
    }
    names
}

/// The files' dependencies: file stem → stems it refers to.
fn graph(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut sources = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("the binary's sources") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let stem = path
                .file_stem()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            let source = std::fs::read_to_string(&path).expect("a source file");
            sources.insert(stem, code_of(&source));
        }
    }
    let modules: BTreeSet<String> = sources.keys().filter(|s| *s != "main").cloned().collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, code) in &sources {
        let mut found = names_after(code, "crate::");
        if file == "main" {
            // In the crate root, `MODULE::item` is a path into a module.
            for module in &modules {
                found.extend(
                    names_after(code, &format!("{module}::"))
                        .into_iter()
                        .map(|_| module.clone()),
                );
            }
        } else {
            // In a module's own file, `super::` is the crate root; a
            // test module's `use super::*` is the file itself.
            found.extend(names_after(code, "super::"));
        }
        let targets = edges.entry(file.clone()).or_default();
        for name in found {
            let target = if modules.contains(&name) {
                name
            } else {
                "main".to_owned()
            };
            if &target != file {
                targets.insert(target);
            }
        }
    }
    edges
}

/// A cycle of the graph, as the files along it, if there is one.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, edges, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

#[test]
fn the_paths_are_read_as_dependencies() {
    let code = code_of(
        "use crate::{args::{A, B}, exit::Failure};\n\
         // use crate::commented;\n\
         let x = crate::output::cell(\"//\"); // crate::trailing\n\
         use super::*;\n",
    );
    assert_eq!(names_after(&code, "crate::"), ["args", "exit", "output"]);
    assert!(names_after(&code, "super::").is_empty());

    let mut edges = BTreeMap::new();
    edges.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    edges.insert("b".to_owned(), BTreeSet::from(["c".to_owned()]));
    edges.insert("c".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(
        cycle(&edges),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    edges.insert("c".to_owned(), BTreeSet::new());
    assert_eq!(cycle(&edges), None);
}

#[test]
fn no_file_of_the_command_line_imports_one_that_imports_it() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin/api-tokens");
    let edges = graph(&dir);
    // The graph was read: main uses the dispatch, which uses the workflows.
    assert!(edges["main"].contains("commands"), "{edges:?}");
    assert!(edges["commands"].contains("lifecycle"), "{edges:?}");
    if let Some(found) = cycle(&edges) {
        panic!(
            "the files import each other: {}\n{edges:#?}",
            found.join(" -> ")
        );
    }
}
