//! Embeds every `fixtures/**/*.json` file into the library (used by the
//! `testing` feature), so that a new fixture file is picked up without any
//! code change. The generated list is sorted, so builds are reproducible.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=fixtures");
    println!("cargo:rerun-if-changed=build.rs");

    let manifest =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.join("fixtures");
    let mut files = Vec::new();
    if root.is_dir() {
        collect(&root, &mut files);
    }
    files.sort();

    let mut out = String::from(
        "/// Every `fixtures/**/*.json` file: its path below `fixtures/` and its text.\n\
         pub(crate) static EMBEDDED: &[(&str, &str)] = &[\n",
    );
    for file in &files {
        let relative = file
            .strip_prefix(&root)
            .expect("collected below the root")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        if file.to_str().is_none() {
            panic!("fixture path {} is not UTF-8; rename it", file.display());
        }
        // Resolved against the crate's directory when the library compiles,
        // so the generated list holds no absolute path: it stays right for a
        // checkout that moved, or another checkout on a shared target.
        out.push_str(&format!(
            "    ({relative:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/fixtures/\", {relative:?}))),\n"
        ));
    }
    out.push_str("];\n");

    let target =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("fixtures.rs");
    fs::write(&target, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", target.display()));
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("cannot read an entry of {}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "json") {
            files.push(path);
        }
    }
}
