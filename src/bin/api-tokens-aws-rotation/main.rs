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
//! (`FailureKind` of the library: `Superseded`, `InvalidRecord`, …).

use api_tokens::aws::SecretsManagerError;
use api_tokens::aws::rotation_function::{
    MailtrapMethod, RotationEvent, RotationFunction, RotationFunctionError,
};
use api_tokens::lifecycle::sink::SecretRecord;
use api_tokens::{mailtrap, unit};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use secrecy::SecretString;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A variable that is set and not blank.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A service's credential: `{PREFIX}_API_TOKEN`, or the secret that
/// `{PREFIX}_API_TOKEN_SECRET_ARN` names; `None` when neither is set.
async fn credential(
    store: &aws_sdk_secretsmanager::Client,
    prefix: &str,
) -> Result<Option<SecretString>, BoxError> {
    if let Some(token) = var(&format!("{prefix}_API_TOKEN")) {
        return Ok(Some(SecretString::from(token.trim().to_owned())));
    }
    let Some(arn) = var(&format!("{prefix}_API_TOKEN_SECRET_ARN")) else {
        return Ok(None);
    };
    let out = store
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .map_err(|e| SecretsManagerError::from_sdk("GetSecretValue", &arn, &e))?;
    let text = out.secret_string().ok_or_else(|| {
        format!("{prefix}_API_TOKEN_SECRET_ARN: {arn} holds binary data, not a token")
    })?;
    // A record's `token`, or the token alone.
    Ok(Some(match SecretRecord::from_json(text) {
        Ok(record) => record.token,
        Err(_) => SecretString::from(text.trim().to_owned()),
    }))
}

/// The function, configured from the environment.
async fn function() -> Result<RotationFunction, BoxError> {
    let config = aws_config::load_from_env().await;
    let store = aws_sdk_secretsmanager::Client::new(&config);
    let mut function = RotationFunction::new(store.clone());
    if let Some(token) = credential(&store, "UNIT").await? {
        let mut builder = unit::Client::builder().token(token);
        if let Some(url) = var("UNIT_API_URL") {
            builder = builder.base_url(url);
        }
        let user = match var("UNIT_USER_ID") {
            Some(id) => Some(
                id.trim()
                    .parse::<unit::UserId>()
                    .map_err(|e| format!("UNIT_USER_ID: {e}"))?,
            ),
            None => None,
        };
        function = function.unit(builder.build()?, user);
    }
    if let Some(token) = credential(&store, "MAILTRAP").await? {
        let mut builder = mailtrap::Client::builder().token(token);
        if let Some(account) = var("MAILTRAP_ACCOUNT_ID") {
            let id = account
                .trim()
                .parse::<u64>()
                .map_err(|_| "MAILTRAP_ACCOUNT_ID is not a positive integer")?;
            builder = builder.account_id(id);
        }
        if let Some(url) = var("MAILTRAP_API_URL") {
            builder = builder.base_url(url);
        }
        function = function.mailtrap(builder.build()?);
    }
    function = function.mailtrap_method(match var("MAILTRAP_ROTATION").as_deref() {
        None | Some("create") => MailtrapMethod::CreateAndDelete,
        Some("reset") => MailtrapMethod::ResetForGrace,
        Some(_) => return Err("MAILTRAP_ROTATION is neither `create` nor `reset`".into()),
    });
    Ok(function)
}

/// The failure as the runtime reports it: its `errorType` is the stable
/// name of its kind (`Superseded`, `InvalidRecord`, `MissingVersion`,
/// `ServiceError`, `TestFailed`, `StoreError`, `ConfigurationError`), by
/// which alarms select failures; its `errorMessage` says what failed.
fn diagnostic(error: RotationFunctionError) -> Diagnostic {
    tracing::warn!(step = %error.step(), kind = %error.kind(), "{error}");
    Diagnostic {
        error_type: error.kind().as_str().to_owned(),
        error_message: error.to_string(),
    }
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
    let function = function().await?;
    let function = &function;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<RotationEvent>| async move {
            let said = function.handle(&event.payload).await.map_err(diagnostic)?;
            tracing::info!(step = %event.payload.step, "{said}");
            Ok::<_, Diagnostic>(serde_json::json!({ "step": event.payload.step, "done": said }))
        },
    ))
    .await
}
