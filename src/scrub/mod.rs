//! Hiding secrets in what an error keeps (its messages, its JSON members,
//! its request id, a refused redirect's target) and in what a recording
//! writes down.
//!
//! Two kinds of secret are hidden:
//! - the values held under names that say "secret" (one rule,
//!   [`names::is_secret_name`], for every place a name appears), whatever
//!   the content type quoting them: in decoded JSON (keys compared once
//!   their escapes are read, free text inside every string searched too),
//!   in JSON-like text that is not valid JSON ([`fields`]), and in free
//!   text of any kind, plain, HTML, form-encoded or a header's value
//!   ([`pairs`]: `key=value`, `key: value`, HTML `value="…"` of a field
//!   named as a secret, the credential after `Bearer`);
//! - known secrets (the caller's token, a secret just minted) wherever they
//!   occur, in every form text can give them: as written, JSON-escaped in
//!   part or in whole (`\/`, `\u002B`, any `\uXXXX`, a surrogate pair, an
//!   escape escaped again), percent-encoded (`%2B`: a URL quoting the
//!   request), as an HTML character reference (`&#43;`: a page quoting
//!   it), and split by characters a reader does not see (NUL, BEL, DEL, C1
//!   controls, zero-width characters), which a summary strips ([`known`]).
//!
//! Text that is not JSON is hidden after the normalization a summary
//! applies ([`normalize`]), so that what is shown is what was searched.
//!
//! One file per job, none importing this one: [`names`] (the rule),
//! [`decode`] (reading escapes), [`normalize`] (what a summary shows),
//! [`known`], [`fields`], [`pairs`] (the three searches), [`hide`] (the
//! walks over text and JSON values every writer shares) and [`secrets`]
//! (what an error hides).

mod decode;
mod fields;
mod hide;
mod known;
mod names;
mod normalize;
mod pairs;
mod secrets;

pub(crate) use hide::REDACTED;
pub(crate) use normalize::{message, summarize};
pub(crate) use secrets::Secrets;

// The recorder of the testing kit hides with the same rules.
#[cfg(feature = "testing")]
pub(crate) use fields::hide_secret_fields;
#[cfg(feature = "testing")]
pub(crate) use hide::{Hider, hide_text, hide_value};
#[cfg(feature = "testing")]
pub(crate) use known::replace_secret;
#[cfg(feature = "testing")]
pub(crate) use names::{is_secret_list_name, is_secret_name};
#[cfg(feature = "testing")]
pub(crate) use normalize::normalize;
