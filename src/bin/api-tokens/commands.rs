//! The commands: each a thin face over the library, returning what to print
//! or why it failed. Dispatch lives here; the lifecycle's workflows
//! (rotate, audit, reconcile) live in [`crate::lifecycle`].

use api_tokens::chrono::Utc;
use api_tokens::lifecycle::{
    MailtrapLifecycle, MailtrapPlan, Minted, SecretMeta, SinkSpec, UnitLifecycle,
};
use api_tokens::{Service, mailtrap, unit};
use serde_json::json;

use crate::args::{
    Command, MailtrapArgs, MailtrapCommand, MailtrapCreate, UnitArgs, UnitCommand, UnitCreate,
};
use crate::context::{Ctx, Done};
use crate::exit::Failure;
use crate::output::{self, Output};
use crate::secret_to::{self, Removal};

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
        Command::Leak(args) => crate::leak::leak(args, ctx).await,
        Command::Detectors(args) => Ok(crate::leak::detectors(args)),
    }
}

async fn unit_command(args: &UnitArgs, ctx: &Ctx<'_>) -> Result<Done, Failure> {
    let (client, user) = ctx.unit(args.token_file.as_deref())?;
    match &args.command {
        UnitCommand::List => {
            let list = client
                .org_api_tokens(user)
                .list()
                .await
                .map_err(|e| Failure::service("Unit list", e))?;
            Ok(Done::new(Output::new(&list, output::unit_tokens(&list))))
        }
        UnitCommand::Create(create) => unit_create(UnitLifecycle::new(client, user), create).await,
        UnitCommand::Revoke { id } => {
            let revoked = client
                .org_api_tokens(user)
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

/// The lines that name the tokens an exactly-once create removed: those
/// minted by creates whose answers were lost.
fn removed_lines<T>(minted: &Minted<T>) -> String {
    let removed = minted.removed.iter().map(|t| {
        format!(
            "removed token {} {:?}, minted by a create whose answer was lost\n",
            t.id,
            output::cell(t.name.as_deref().unwrap_or(""))
        )
    });
    let unconfirmed = minted.unconfirmed.iter().map(output::unconfirmed_line);
    removed.chain(unconfirmed).collect()
}

/// `api-tokens unit create`: exactly once, the description tagged with a
/// marker, so that a lost answer is found and removed.
async fn unit_create(life: UnitLifecycle, create: &UnitCreate) -> Result<Done, Failure> {
    let sink = secret_to::open(&create.secret_to).await?;
    let grant = &create.grant;
    let request = unit::CreateApiToken::new(
        create.description.clone(),
        grant.scopes.iter().cloned(),
        grant.expiry.at(Utc::now())?,
    )
    .source_ips(grant.source_ips.iter().cloned());
    let minted = life
        .mint_stored(&request, &*sink)
        .await
        .map_err(|e| secret_to::mint_failure("Unit create", "revoked", e))?;
    let new = &minted.token;
    let mut text = format!(
        "created Unit token {} {:?}, expires {}; secret written to {}\n",
        new.id,
        output::cell(new.description.as_deref().unwrap_or("")),
        output::expiry(new.expiration),
        sink.describe()
    );
    text.push_str(&removed_lines(&minted));
    Ok(Done::with_secret_on(
        Output::new(new, text),
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
        MailtrapCommand::Create(create) => {
            mailtrap_create(MailtrapLifecycle::new(client), create).await
        }
        MailtrapCommand::Reset {
            id,
            secret_to,
            expires,
        } => mailtrap_reset(&MailtrapLifecycle::new(client), *id, secret_to, *expires).await,
        MailtrapCommand::Rotate {
            id,
            secret_to,
            delete_old,
            recreate,
            keep_name,
            lease,
            expires,
            if_older_than,
        } => {
            if *keep_name {
                let id = id.map_or_else(|| "ID".to_owned(), |id| id.to_string());
                eprintln!(
                    "api-tokens: warning: --keep-name is deprecated and does not keep the name: \
                     it means --recreate, whose new token is named \"<name of token {id}> \
                     [at:… from:{id}]\"; write --recreate"
                );
            }
            let mut plan = MailtrapPlan::new().lease(lease.to_std().unwrap_or_default());
            if let Some(expires) = expires {
                plan = plan.expires(*expires);
            }
            if *delete_old {
                plan = plan.delete_old();
            }
            if *recreate || *keep_name {
                plan = plan.recreate();
            }
            if let Some(age) = if_older_than {
                plan = plan.if_older_than(age.to_std().unwrap_or_default());
            }
            crate::lifecycle::mailtrap_rotate(client, *id, secret_to, plan).await
        }
    }
}

/// The expiry a reset keeps when none is given: the old token's date while
/// it is ahead, never for a token that never expires. An old token already
/// expired has no horizon to keep: the reset is refused before it is sent.
async fn kept_expiry(
    tokens: &mailtrap::ApiTokens,
    id: mailtrap::TokenId,
) -> Result<mailtrap::Expiry, Failure> {
    let old = tokens
        .get(id)
        .await
        .map_err(|e| Failure::service(format!("Mailtrap get of token {id}"), e))?;
    match old.expires_at {
        None => Ok(mailtrap::Expiry::Never),
        Some(at) if at > Utc::now() => Ok(mailtrap::Expiry::At(at)),
        Some(at) => Err(Failure::Usage(format!(
            "Mailtrap token {id} expired at {}: there is no expiry to keep; \
             give --expires never, default or a moment",
            at.to_rfc3339_opts(api_tokens::chrono::SecondsFormat::Secs, true)
        ))),
    }
}

/// `api-tokens mailtrap create`: exactly once, the name tagged with a
/// marker, so that a lost answer is found and removed.
async fn mailtrap_create(
    life: MailtrapLifecycle,
    create: &MailtrapCreate,
) -> Result<Done, Failure> {
    let sink = secret_to::open(&create.secret_to).await?;
    let request = mailtrap::CreateApiToken::new(create.name.clone())
        .permissions_from(create.permissions.iter().cloned())
        .expires(create.expires);
    let minted = life
        .mint_stored(&request, &*sink)
        .await
        .map_err(|e| secret_to::mint_failure("Mailtrap create", "deleted", e))?;
    let new = &minted.token;
    let mut text = format!(
        "created Mailtrap token {} {:?}, expires {}; secret written to {}\n",
        new.id,
        output::cell(&new.name),
        output::expiry(new.expires_at),
        sink.describe()
    );
    text.push_str(&removed_lines(&minted));
    Ok(Done::with_secret_on(
        Output::new(new, text),
        &create.secret_to,
    ))
}

fn mailtrap_meta(new: &mailtrap::NewApiToken) -> SecretMeta {
    SecretMeta::new(Service::Mailtrap, new.id.to_string())
        .with_name(new.name.clone())
        .with_expires_at(new.expires_at)
}

async fn mailtrap_reset(
    life: &MailtrapLifecycle,
    id: mailtrap::TokenId,
    spec: &SinkSpec,
    expires: Option<mailtrap::Expiry>,
) -> Result<Done, Failure> {
    let sink = secret_to::open(spec).await?;
    let expires = match expires {
        Some(expires) => expires,
        None => kept_expiry(life.tokens(), id).await?,
    };
    let new = life
        .tokens()
        .reset(id, expires)
        .await
        .map_err(|e| Failure::service(format!("Mailtrap reset of token {id}"), e))?;
    let then = format!("; the old token {id} keeps working until its grace period ends");
    let removal = Removal {
        verb: "deleted",
        then: &then,
    };
    secret_to::store(
        &*sink,
        &new.token,
        &mailtrap_meta(&new),
        &format!("Mailtrap reset of token {id}"),
        removal,
        || life.retire(&new.id),
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
