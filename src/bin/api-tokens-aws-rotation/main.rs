//! `api-tokens-aws-rotation`: an AWS Secrets Manager rotation function for
//! secrets that hold an `api-tokens` record (a Unit or Mailtrap token), on
//! the Lambda runtime.
//!
//! Secrets Manager calls it with `{"SecretId", "ClientRequestToken",
//! "Step"}`; each step is run by
//! `RotationFunction` of `api_tokens::aws::rotation_function` (see
//! that module for what each step does).
//!
//! The services' credentials come from the environment, as for the command
//! line:
//!
//! - Unit: `UNIT_API_TOKEN`, or `UNIT_API_TOKEN_SECRET_ARN` (a secret of
//!   Secrets Manager holding the token, alone or as a record's `token`);
//!   `UNIT_API_URL`; `UNIT_USER_ID` for records that name no user.
//! - Mailtrap: `MAILTRAP_API_TOKEN` or `MAILTRAP_API_TOKEN_SECRET_ARN`;
//!   `MAILTRAP_ACCOUNT_ID`, `MAILTRAP_API_URL`; `MAILTRAP_ROTATION=reset`
//!   to reset the old token and let its grace period run instead of
//!   creating a new token and deleting the old one.
//!
//! Secrets Manager itself is reached the standard way (region, the
//! function's role, `AWS_ENDPOINT_URL`).
//!
//! A failed step's `errorType` is the stable name of its kind
//! (`FailureKind` of the library: `Superseded`, `InvalidRecord`, …). A
//! configuration that cannot be used (a variable that does not parse, a URL
//! refused, a credential's secret that cannot be read) does not stop the
//! process before the runtime loop, where Lambda would only see
//! `Runtime.ExitError`: each invocation fails with `errorType`
//! `ConfigurationError` saying what is wrong, and the configuration is read
//! again at the next invocation (a credential's secret that could not be
//! read for a moment is read once it can). An event that is not a rotation
//! event fails with `InvalidEvent`.

use api_tokens::aws::SecretsManagerError;
use api_tokens::aws::rotation_function::{
    EventError, MailtrapMethod, RotationEvent, RotationFunction, RotationFunctionError,
};
use api_tokens::lifecycle::sink::SecretRecord;
use api_tokens::{mailtrap, unit};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use secrecy::SecretString;
use tokio::sync::OnceCell;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A variable that is set and not blank.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A service's credential: `{PREFIX}_API_TOKEN`, or the secret that
/// `{PREFIX}_API_TOKEN_SECRET_ARN` names; `None` when neither is set. The
/// error names the variable and never holds the secret.
async fn credential(
    store: &aws_sdk_secretsmanager::Client,
    prefix: &str,
) -> Result<Option<SecretString>, String> {
    if let Some(token) = var(&format!("{prefix}_API_TOKEN")) {
        return Ok(Some(SecretString::from(token.trim().to_owned())));
    }
    let name = format!("{prefix}_API_TOKEN_SECRET_ARN");
    let Some(arn) = var(&name) else {
        return Ok(None);
    };
    let arn = arn.trim();
    let shown = arn.escape_debug();
    let out = store
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            format!(
                "{name}: the credential cannot be read: {}",
                SecretsManagerError::from_sdk("GetSecretValue", arn, &e)
            )
        })?;
    let text = out
        .secret_string()
        .ok_or_else(|| format!("{name}: {shown} holds binary data, not a token"))?;
    // A record's `token`, or the token alone; JSON that is not a record
    // (its token blank, a field missing) is refused, never sent as a token.
    if text.trim_start().starts_with('{') {
        return SecretRecord::from_json(text)
            .map(|record| Some(record.token))
            .map_err(|e| format!("{name}: {shown} holds JSON that is not a token record: {e}"));
    }
    Ok(Some(SecretString::from(text.trim().to_owned())))
}

/// The function, configured from the environment; the error says which
/// variable is wrong, and never holds a secret.
async fn function() -> Result<RotationFunction, String> {
    let config = aws_config::load_from_env().await;
    let store = aws_sdk_secretsmanager::Client::new(&config);
    let mut function = RotationFunction::new(store.clone());
    let method = match var("MAILTRAP_ROTATION").as_deref().map(str::trim) {
        None | Some("create") => MailtrapMethod::CreateAndDelete,
        Some("reset") => MailtrapMethod::ResetForGrace,
        Some(_) => return Err("MAILTRAP_ROTATION is neither `create` nor `reset`".to_owned()),
    };
    if let Some(token) = credential(&store, "UNIT").await? {
        let mut builder = unit::Client::builder().token(token);
        if let Some(url) = var("UNIT_API_URL") {
            builder = builder.base_url(url.trim());
        }
        let user = match var("UNIT_USER_ID") {
            Some(id) => Some(
                id.trim()
                    .parse::<unit::UserId>()
                    .map_err(|e| format!("UNIT_USER_ID: {e}"))?,
            ),
            None => None,
        };
        let client = builder
            .build()
            .map_err(|e| format!("the Unit client (UNIT_API_TOKEN, UNIT_API_URL): {e}"))?;
        function = function.unit(client, user);
    }
    if let Some(token) = credential(&store, "MAILTRAP").await? {
        let mut builder = mailtrap::Client::builder().token(token);
        if let Some(account) = var("MAILTRAP_ACCOUNT_ID") {
            let id = account
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or("MAILTRAP_ACCOUNT_ID is not a positive integer")?;
            builder = builder.account_id(id);
        }
        if let Some(url) = var("MAILTRAP_API_URL") {
            builder = builder.base_url(url.trim());
        }
        let client = builder.build().map_err(|e| {
            format!(
                "the Mailtrap client (MAILTRAP_API_TOKEN, MAILTRAP_ACCOUNT_ID, MAILTRAP_API_URL): {e}"
            )
        })?;
        function = function.mailtrap(client);
    }
    Ok(function.mailtrap_method(method))
}

/// The function once it could be configured: until then, each invocation
/// tries again, and fails as a `ConfigurationError` while it cannot.
#[derive(Default)]
struct Setup(OnceCell<RotationFunction>);

impl Setup {
    async fn get(&self) -> Result<&RotationFunction, String> {
        let result = self.0.get_or_try_init(function).await;
        if let Err(e) = &result {
            tracing::error!(
                kind = "ConfigurationError",
                "the function is misconfigured: {e}"
            );
        }
        result
    }
}

/// The failure as the runtime reports it: its `errorType` is the stable
/// name of its kind (`Superseded`, `InvalidRecord`, `MissingVersion`,
/// `ServiceError`, `TestFailed`, `StoreError`, `ConfigurationError`,
/// `InvalidEvent`), by which alarms select failures; its `errorMessage`
/// says what failed.
fn diagnostic(error: RotationFunctionError) -> Diagnostic {
    tracing::warn!(step = %error.step(), kind = %error.kind(), "{error}");
    Diagnostic {
        error_type: error.kind().as_str().to_owned(),
        error_message: error.to_string(),
    }
}

/// An event that is not a rotation event, as the runtime reports it:
/// `errorType` `InvalidEvent`, not the runtime's own deserializer error.
fn invalid_event(error: EventError) -> Diagnostic {
    tracing::warn!(kind = %error.kind(), "{error}");
    Diagnostic {
        error_type: error.kind().as_str().to_owned(),
        error_message: error.to_string(),
    }
}

/// Runs one invocation: reads the event itself (so that a malformed one
/// fails as `InvalidEvent`), then runs its step.
async fn invocation(
    setup: &Setup,
    payload: serde_json::Value,
) -> Result<serde_json::Value, Diagnostic> {
    let event = RotationEvent::from_value(payload).map_err(invalid_event)?;
    let function = setup
        .get()
        .await
        .map_err(|e| diagnostic(RotationFunctionError::configuration(&event, e)))?;
    let said = function.handle(&event).await.map_err(diagnostic)?;
    tracing::info!(step = %event.step, "{said}");
    Ok(serde_json::json!({ "step": event.step, "done": said }))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // Only this crate's events, on standard error (CloudWatch keeps them);
    // none carries a secret.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .init();
    let setup = Setup::default();
    // Read at start, as before, so that a misconfiguration is logged at
    // once; a failure is reported by each invocation instead of ending the
    // process before the runtime loop.
    let _ = setup.get().await;
    let setup = &setup;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            invocation(setup, event.payload).await
        },
    ))
    .await
}
