//! The commands: each a thin face over the library, returning what to print
//! or why it failed.

use std::path::Path;

use api_tokens::chrono::Utc;
use api_tokens::lifecycle::{MailtrapPlan, SecretMeta, SecretSink, SinkSpec};
use api_tokens::{RetryPolicy, Service, mailtrap, unit};
use serde_json::json;

use crate::args::{
    Command, MailtrapArgs, MailtrapCommand, MailtrapCreate, UnitArgs, UnitCommand, UnitCreate,
};
use crate::credentials::{self, Lookup};
use crate::exit::Failure;
use crate::fake::Fakes;
use crate::output::{self, Output};

/// Where the commands find their services.
pub struct Ctx<'a> {
    /// The environment.
    pub env: Lookup<'a>,
    /// The fakes, with `--fake`.
    pub fakes: Option<&'a Fakes>,
    /// The retry policy of every client.
    pub retry: RetryPolicy,
}

/// What a command leaves to print.
#[derive(Debug)]
pub struct Done {
    /// The result, in both forms.
    pub output: Output,
    /// Whether a secret went to standard output (`--secret-to -`): the
    /// result then goes to standard error.
    pub stdout_taken: bool,
    /// A failure to report once the result is printed (the audit's
    /// findings named by `--fail-on`).
    pub then: Option<Failure>,
}

impl Done {
    /// A result for standard output.
    pub fn new(output: Output) -> Done {
        Done {
            output,
            stdout_taken: false,
            then: None,
        }
    }

    /// A result after a secret went to `spec`: on standard error when the
    /// secret took standard output.
    pub fn with_secret_on(output: Output, spec: &SinkSpec) -> Done {
        Done {
            output,
            stdout_taken: matches!(spec, SinkSpec::Stdout),
            then: None,
        }
    }
}

impl Ctx<'_> {
    /// The Unit client and user: the fake's, or the environment's.
    pub fn unit(&self, token_file: Option<&Path>) -> Result<(unit::Client, unit::UserId), Failure> {
        match self.fakes {
            Some(fakes) => fakes.unit(self.retry.clone()),
            None => credentials::unit(token_file, self.env, self.retry.clone()),
        }
    }

    /// The Mailtrap client: the fake's, or the environment's.
    pub fn mailtrap(&self, token_file: Option<&Path>) -> Result<mailtrap::Client, Failure> {
        match self.fakes {
            Some(fakes) => fakes.mailtrap(self.retry.clone()),
            None => credentials::mailtrap(token_file, self.env, self.retry.clone()),
        }
    }
}

/// Runs a command.
///
/// # Errors
///
/// Whatever failed, as the [`Failure`] that sets the exit code.
pub async fn run(command: &Command, ctx: &Ctx<'_>) -> Result<Done, Failure> {
    match command {
        Command::Unit(args) => unit_command(args, ctx).await,
        Command::Mailtrap(args) => mailtrap_command(args, ctx).await,
        Command::Audit(args) => crate::lifecycle::audit(args, ctx).await,
        Command::Reconcile(args) => crate::lifecycle::reconcile(args, ctx).await,
        Command::Plan(args) => crate::ensure::plan(args, ctx).await,
        Command::Apply(args) => crate::ensure::apply(args, ctx).await,
    }
}

async fn unit_command(args: &UnitArgs, ctx: &Ctx<'_>) -> Result<Done, Failure> {
    let (client, user) = ctx.unit(args.token_file.as_deref())?;
    let tokens = client.org_api_tokens(user.clone());
    match &args.command {
        UnitCommand::List => {
            let list = tokens
                .list()
                .await
                .map_err(|e| Failure::service("Unit list", e))?;
            Ok(Done::new(Output::new(&list, output::unit_tokens(&list))))
        }
        UnitCommand::Create(create) => unit_create(&tokens, create).await,
        UnitCommand::Revoke { id } => {
            let revoked = tokens
                .revoke(id)
                .await
                .map_err(|e| Failure::service(format!("Unit revoke of token {id}"), e))?;
            let text = format!("revoked Unit token {id}");
            Ok(Done::new(match revoked {
                Some(token) => Output::new(&token, text),
                None => Output::new(json!({ "id": id }), text),
            }))
        }
        UnitCommand::Rotate(rotate) => crate::lifecycle::unit_rotate(client, user, rotate).await,
    }
}

/// The sink a spec names.
pub fn sink(spec: &SinkSpec) -> Result<Box<dyn SecretSink>, Failure> {
    spec.clone()
        .into_sink()
        .map_err(|e| Failure::usage(format!("--secret-to: {e}")))
}

async fn unit_create(tokens: &unit::OrgApiTokens, create: &UnitCreate) -> Result<Done, Failure> {
    let sink = sink(&create.secret_to)?;
    let grant = &create.grant;
    let request = unit::CreateApiToken::new(
        create.description.clone(),
        grant.scopes.iter().cloned(),
        grant.expiry.at(Utc::now()),
    )
    .source_ips(grant.source_ips.iter().cloned());
    let new = tokens
        .create(&request)
        .await
        .map_err(|e| Failure::service("Unit create", e))?;
    let meta = SecretMeta::new(Service::Unit, new.id.as_str())
        .with_name(new.description.clone().unwrap_or_default())
        .with_expires_at(new.expiration);
    if let Err(error) = sink.store(&new.token, &meta).await {
        let advice = match tokens.revoke(&new.id).await {
            Ok(_) => format!(
                "token {} was revoked, since nobody holds its secret",
                new.id
            ),
            Err(e) => format!(
                "token {} could not be revoked ({e}); nobody holds its secret: revoke it",
                new.id
            ),
        };
        return Err(Failure::Sink {
            what: "Unit create".to_owned(),
            error,
            advice,
        });
    }
    let text = format!(
        "created Unit token {} {:?}, expires {}; secret written to {}",
        new.id,
        output::cell(new.description.as_deref().unwrap_or("")),
        output::expiry(new.expiration),
        sink.describe()
    );
    Ok(Done::with_secret_on(
        Output::new(new.without_secret(), text),
        &create.secret_to,
    ))
}

async fn mailtrap_command(args: &MailtrapArgs, ctx: &Ctx<'_>) -> Result<Done, Failure> {
    let client = ctx.mailtrap(args.token_file.as_deref())?;
    let tokens = client.api_tokens();
    match &args.command {
        MailtrapCommand::List => {
            let list = tokens
                .list()
                .await
                .map_err(|e| Failure::service("Mailtrap list", e))?;
            Ok(Done::new(Output::new(
                &list,
                output::mailtrap_tokens(&list),
            )))
        }
        MailtrapCommand::Get { id } => {
            let token = tokens
                .get(*id)
                .await
                .map_err(|e| Failure::service(format!("Mailtrap get of token {id}"), e))?;
            let text = output::mailtrap_tokens(std::slice::from_ref(&token));
            Ok(Done::new(Output::new(&token, text)))
        }
        MailtrapCommand::Delete { id } => {
            tokens
                .delete(*id)
                .await
                .map_err(|e| Failure::service(format!("Mailtrap delete of token {id}"), e))?;
            Ok(Done::new(Output::new(
                json!({ "id": id }),
                format!("deleted Mailtrap token {id}"),
            )))
        }
        MailtrapCommand::Create(create) => mailtrap_create(&tokens, create).await,
        MailtrapCommand::Reset {
            id,
            secret_to,
            expires,
        } => mailtrap_reset(&tokens, *id, secret_to, *expires).await,
        MailtrapCommand::Rotate {
            id,
            secret_to,
            delete_old,
            keep_name,
            expires,
        } => {
            let mut plan = MailtrapPlan::new().expires(*expires);
            if *delete_old {
                plan = plan.delete_old();
            }
            if *keep_name {
                plan = plan.keep_name();
            }
            crate::lifecycle::mailtrap_rotate(client, *id, secret_to, plan).await
        }
    }
}

/// Stores a new Mailtrap secret; on failure deletes the token, whose secret
/// nobody holds, and says what is left.
async fn store_mailtrap(
    tokens: &mailtrap::ApiTokens,
    sink: &dyn SecretSink,
    new: &mailtrap::NewApiToken,
    what: &str,
    then: &str,
) -> Result<(), Failure> {
    let meta = SecretMeta::new(Service::Mailtrap, new.id.to_string())
        .with_name(new.name.clone())
        .with_expires_at(new.expires_at);
    let Err(error) = sink.store(&new.token, &meta).await else {
        return Ok(());
    };
    let advice = match tokens.delete(new.id).await {
        Ok(()) => format!(
            "token {} was deleted, since nobody holds its secret{then}",
            new.id
        ),
        Err(e) => format!(
            "token {} could not be deleted ({e}); nobody holds its secret: delete it{then}",
            new.id
        ),
    };
    Err(Failure::Sink {
        what: what.to_owned(),
        error,
        advice,
    })
}

async fn mailtrap_create(
    tokens: &mailtrap::ApiTokens,
    create: &MailtrapCreate,
) -> Result<Done, Failure> {
    let sink = sink(&create.secret_to)?;
    let request = mailtrap::CreateApiToken::new(create.name.clone())
        .permissions_from(create.permissions.iter().cloned())
        .expires(create.expires);
    let new = tokens
        .create(&request)
        .await
        .map_err(|e| Failure::service("Mailtrap create", e))?;
    store_mailtrap(tokens, &*sink, &new, "Mailtrap create", "").await?;
    let text = format!(
        "created Mailtrap token {} {:?}, expires {}; secret written to {}",
        new.id,
        output::cell(&new.name),
        output::expiry(new.expires_at),
        sink.describe()
    );
    Ok(Done::with_secret_on(
        Output::new(new.without_secret(), text),
        &create.secret_to,
    ))
}

async fn mailtrap_reset(
    tokens: &mailtrap::ApiTokens,
    id: mailtrap::TokenId,
    spec: &SinkSpec,
    expires: mailtrap::Expiry,
) -> Result<Done, Failure> {
    let sink = sink(spec)?;
    let new = tokens
        .reset(id, expires)
        .await
        .map_err(|e| Failure::service(format!("Mailtrap reset of token {id}"), e))?;
    let then = format!("; the old token {id} keeps working until its grace period ends");
    store_mailtrap(
        tokens,
        &*sink,
        &new,
        &format!("Mailtrap reset of token {id}"),
        &then,
    )
    .await?;
    let text = format!(
        "reset Mailtrap token {id}: new token {} {:?}, expires {}; secret written to {}; \
         the old secret keeps working for its grace period",
        new.id,
        output::cell(&new.name),
        output::expiry(new.expires_at),
        sink.describe()
    );
    Ok(Done::with_secret_on(
        Output::new(new.without_secret(), text),
        spec,
    ))
}
