//! A store of the user's own, plugged in by its scheme: parsed wherever a
//! sink spec is read (the library, a tokens file's `secret_to`).

use std::path::Path;

use api_tokens::ensure::TokensFile;
use api_tokens::lifecycle::sink::{FileSink, SecretSink, SinkError, SinkSpec, register_scheme};

fn tokens_file(secret_to: &str) -> String {
    format!(
        "[[unit]]\ndescription = \"ci\"\nscopes = [\"customers\"]\nlifetime = \"90d\"\n\
         secret_to = \"{secret_to}\"\n"
    )
}

#[test]
fn a_registered_scheme_is_a_sink_spec_in_the_library_and_in_a_tokens_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    // Unknown until registered, in both places.
    assert!("team-kv:ci/unit".parse::<SinkSpec>().is_err());
    let err = TokensFile::parse(Path::new("tokens.toml"), &tokens_file("team-kv:ci/unit"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("team-kv"), "{err}");

    register_scheme("team-kv", move |location| {
        if location.is_empty() || location.contains("..") {
            return Err(SinkError::InvalidSpec {
                reason: "`team-kv:` needs a key without `..`".to_owned(),
            });
        }
        Ok(Box::new(FileSink::new(root.join(location.replace('/', "_")))) as Box<dyn SecretSink>)
    })
    .unwrap();

    // Once registered, the forms every refusal lists name it.
    for bad in ["token.txt", "s3:bucket/key", "file:"] {
        let err = bad.parse::<SinkSpec>().unwrap_err().to_string();
        assert!(err.contains("`team-kv:…`"), "{bad}: {err}");
        assert!(!err.contains("unknown kind of sink `team-kv`"), "{err}");
    }

    let spec: SinkSpec = "team-kv:ci/unit".parse().unwrap();
    assert_eq!(
        spec,
        SinkSpec::Registered {
            scheme: "team-kv".to_owned(),
            location: "ci/unit".to_owned()
        }
    );
    assert_eq!(spec.to_string(), "team-kv:ci/unit");
    let sink = spec.into_sink().unwrap();
    assert!(sink.describe().ends_with("ci_unit"), "{}", sink.describe());
    // The opener refuses a bad location when the spec is parsed.
    let err = "team-kv:../x".parse::<SinkSpec>().unwrap_err().to_string();
    assert!(err.contains("without `..`"), "{err}");

    let file = TokensFile::parse(Path::new("tokens.toml"), &tokens_file("team-kv:ci/unit"))
        .expect("a registered scheme in secret_to");
    assert_eq!(file.unit()[0].secret_to.to_string(), "team-kv:ci/unit");

    // The crate's own schemes, and malformed ones, cannot be registered.
    for scheme in ["file", "vault", "Team", "", "a:b"] {
        let refused = register_scheme(scheme, |_| Err(SinkError::other("x", "never")));
        assert!(refused.is_err(), "{scheme}");
    }
}
