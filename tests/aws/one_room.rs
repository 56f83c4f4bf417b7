//! AWS in one room: the crate's AWS code lives in `src/aws/` (and the
//! rotation function's binary), and one function of the sink's code moves
//! Secrets Manager's labels, for the sink and the rotation function alike.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/`, with its path relative to the crate and
/// its lines that are not comments.
fn sources() -> Vec<(String, Vec<String>)> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut dirs: Vec<PathBuf> = vec![base.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("a source folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("a source file");
                let code = text
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .map(str::to_owned)
                    .collect();
                let rel = path.strip_prefix(base).expect("under the crate");
                files.push((rel.to_string_lossy().replace('\\', "/"), code));
            }
        }
    }
    files.sort();
    files
}

/// The files whose code holds `needle`, with how many times.
fn holding(needle: &str) -> Vec<(String, usize)> {
    sources()
        .into_iter()
        .filter_map(|(path, code)| {
            let n: usize = code.iter().map(|l| l.matches(needle).count()).sum();
            (n > 0).then_some((path, n))
        })
        .collect()
}

/// `UpdateSecretVersionStage` is sent from one place: the sink's code,
/// which the rotation function's `finishSecret` uses too.
#[test]
fn labels_are_moved_in_one_place() {
    assert_eq!(
        holding(".update_secret_version_stage()"),
        vec![("src/aws/secrets_manager.rs".to_owned(), 1)],
    );
}

/// Every file that speaks to AWS is in `src/aws/` or is the rotation
/// function's binary.
#[test]
fn aws_code_lives_in_src_aws() {
    let outside: Vec<String> = [holding("aws_sdk_secretsmanager"), holding("aws_config")]
        .concat()
        .into_iter()
        .map(|(path, _)| path)
        .filter(|path| {
            !path.starts_with("src/aws/") && !path.starts_with("src/bin/api-tokens-aws-rotation/")
        })
        .collect();
    assert!(outside.is_empty(), "AWS code outside src/aws/: {outside:?}");
}

/// The rotation function reads, puts and moves versions through the sink's
/// calls, and retires tokens through the lifecycle's shared operations: it
/// sends no Secrets Manager request and no revoke or delete of its own.
#[test]
fn the_rotation_function_has_no_calls_of_its_own() {
    let (_, code) = sources()
        .into_iter()
        .find(|(path, _)| path == "src/aws/rotation_function.rs")
        .expect("the rotation function's file");
    for call in [
        ".describe_secret()",
        ".get_secret_value()",
        ".put_secret_value()",
        ".update_secret_version_stage()",
        ".revoke(",
        ".delete(",
    ] {
        assert!(
            !code.iter().any(|l| l.contains(call)),
            "the rotation function calls {call} itself"
        );
    }
}
