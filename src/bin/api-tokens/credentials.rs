//! Clients from the environment, or from a token file: the same variables as
//! the library's `from_env`, and never a token from an argument.

use std::path::Path;

use api_tokens::secrecy::SecretString;
use api_tokens::{RetryPolicy, mailtrap, unit};
use zeroize::Zeroizing;

use crate::exit::Failure;

/// Reads a variable; unset, blank or not Unicode all count as unset.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process's environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A token read from a file: the whole file, one trailing newline (`\n` or
/// `\r\n`) stripped.
///
/// # Errors
///
/// A usage failure naming the file when it cannot be read, is empty, or
/// holds more than one line.
pub fn read_token_file(path: &Path) -> Result<SecretString, Failure> {
    let shown = path.display();
    let bytes = Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| Failure::usage(format!("cannot read the token file {shown}: {e}")))?,
    );
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Err(Failure::usage(format!(
            "the token file {shown} is not UTF-8 text"
        )));
    };
    let token = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    if token.trim().is_empty() {
        return Err(Failure::usage(format!("the token file {shown} is empty")));
    }
    if token.contains(['\n', '\r']) {
        return Err(Failure::usage(format!(
            "the token file {shown} holds more than one line; it must hold the token alone"
        )));
    }
    Ok(SecretString::from(token.to_owned()))
}

/// The token of a service: from the file if one is named, else from the
/// variable.
fn token(file: Option<&Path>, var: &str, env: Lookup<'_>) -> Result<SecretString, Failure> {
    match file {
        Some(path) => read_token_file(path),
        None => env(var).map(SecretString::from).ok_or_else(|| {
            Failure::usage(format!(
                "{var} is not set; set it, give a token file (--token-file PATH; for audit, \
                 reconcile, plan, apply and leak --unit-token-file or --mailtrap-token-file), \
                 or try --fake"
            ))
        }),
    }
}

/// Whether a service is configured: its token variable is set or a token
/// file is named.
pub fn configured(file: Option<&Path>, var: &str, env: Lookup<'_>) -> bool {
    file.is_some() || env(var).is_some()
}

/// A Unit client and the user whose tokens it manages: `UNIT_API_TOKEN` (or
/// the file), `UNIT_API_URL` (default: the sandbox), `UNIT_USER_ID`.
///
/// # Errors
///
/// A usage failure naming the variable or setting at fault.
pub fn unit(
    file: Option<&Path>,
    env: Lookup<'_>,
    retry: RetryPolicy,
) -> Result<(unit::Client, unit::UserId), Failure> {
    let token = token(file, "UNIT_API_TOKEN", env)?;
    let user = env("UNIT_USER_ID").ok_or_else(|| {
        Failure::usage(
            "UNIT_USER_ID is not set; set it to the id of the user whose tokens to manage",
        )
    })?;
    let user = user
        .trim()
        .parse::<unit::UserId>()
        .map_err(|e| Failure::usage(format!("UNIT_USER_ID: {e}")))?;
    let client = unit::Client::builder()
        .token(token)
        .retry(retry)
        .env_settings(env)
        .build()
        .map_err(|e| Failure::usage(format!("Unit settings: {e}")))?;
    Ok((client, user))
}

/// A Mailtrap client: `MAILTRAP_API_TOKEN` (or the file),
/// `MAILTRAP_API_URL` (default: `https://mailtrap.io`), and
/// `MAILTRAP_ACCOUNT_ID` when set (without it, the token's own account).
///
/// # Errors
///
/// A usage failure naming the variable or setting at fault.
pub fn mailtrap(
    file: Option<&Path>,
    env: Lookup<'_>,
    retry: RetryPolicy,
) -> Result<mailtrap::Client, Failure> {
    let token = token(file, "MAILTRAP_API_TOKEN", env)?;
    mailtrap::Client::builder()
        .token(token)
        .retry(retry)
        .env_settings(env)
        .build()
        .map_err(|e| Failure::usage(format!("Mailtrap settings: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_tokens::secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn a_token_file_loses_one_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        for (content, expected) in [
            ("abc\n", Some("abc")),
            ("abc\r\n", Some("abc")),
            ("abc", Some("abc")),
            ("abc\n\n", None),
            ("a\nb\n", None),
            ("\n", None),
            ("", None),
        ] {
            let path = dir.path().join("token");
            std::fs::write(&path, content).unwrap();
            let read = read_token_file(&path);
            assert_eq!(
                read.as_ref()
                    .ok()
                    .map(|s| s.expose_secret().to_owned())
                    .as_deref(),
                expected,
                "{content:?}"
            );
            if let Err(e) = read {
                assert_eq!(e.code(), 2);
            }
        }
        assert!(read_token_file(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn the_environment_names_what_is_missing() {
        let env = lookup(&[("UNIT_API_TOKEN", "v2.public.FAKE.sig")]);
        let err = unit(None, &env, RetryPolicy::disabled()).unwrap_err();
        assert!(err.to_string().contains("UNIT_USER_ID"), "{err}");

        let env = lookup(&[("UNIT_USER_ID", "7")]);
        let err = unit(None, &env, RetryPolicy::disabled()).unwrap_err();
        assert!(err.to_string().contains("UNIT_API_TOKEN"), "{err}");

        let env = lookup(&[
            ("UNIT_API_TOKEN", "v2.public.FAKE.sig"),
            ("UNIT_USER_ID", "7"),
        ]);
        let (client, user) = unit(None, &env, RetryPolicy::disabled()).unwrap();
        assert_eq!(user.as_str(), "7");
        assert_eq!(client.base_url(), "https://api.s.unit.sh/");

        let env = lookup(&[
            ("MAILTRAP_API_TOKEN", "FAKE0key"),
            ("MAILTRAP_ACCOUNT_ID", "x"),
        ]);
        let err = mailtrap(None, &env, RetryPolicy::disabled()).unwrap_err();
        assert!(err.to_string().contains("MAILTRAP_ACCOUNT_ID"), "{err}");

        let env = lookup(&[("MAILTRAP_API_TOKEN", "FAKE0key")]);
        let client = mailtrap(None, &env, RetryPolicy::disabled()).unwrap();
        assert_eq!(client.account_id(), None);
        assert!(configured(None, "MAILTRAP_API_TOKEN", &env));
        assert!(!configured(None, "UNIT_API_TOKEN", &env));
    }
}
