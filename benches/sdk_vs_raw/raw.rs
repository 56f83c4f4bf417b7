//! The baseline: what a careful hand-written client does with `reqwest` and
//! `serde_json`: plain structs with `String` fields, the same headers the
//! crate sends, the status checked, the body read once and decoded.
#![allow(
    dead_code,
    reason = "the structs are decoded to be measured; their fields are never read"
)]

use std::fmt;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, USER_AGENT};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// The `reqwest::Client` every variant gets, crate and raw alike: the
/// settings the crate's own builder uses (no redirects, 60 s idle pool,
/// 10 s connect timeout) plus a 30 s request timeout, which the crate sets
/// per request by default; either way reqwest arms one timer per request.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client")
}

// ---------------------------------------------------------------- Unit ----

#[derive(Debug, Deserialize)]
pub struct UnitList {
    pub data: Vec<UnitToken>,
}

#[derive(Debug, Deserialize)]
pub struct UnitToken {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub attributes: UnitAttributes,
}

#[derive(Debug, Deserialize)]
pub struct UnitAttributes {
    #[serde(rename = "createdAt")]
    pub created_at: String,
    pub description: Option<String>,
    pub expiration: Option<String>,
    #[serde(rename = "sourceIp")]
    pub source_ip: Option<String>,
}

/// The same document with the two dates typed as `D`, to show what parsing
/// them costs against copying them into `String`s.
#[derive(Debug, Deserialize)]
pub struct UnitListDated<D> {
    pub data: Vec<UnitTokenDated<D>>,
}

#[derive(Debug, Deserialize)]
pub struct UnitTokenDated<D> {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub attributes: UnitAttributesDated<D>,
}

#[derive(Debug, Deserialize)]
pub struct UnitAttributesDated<D> {
    #[serde(rename = "createdAt")]
    pub created_at: D,
    pub description: Option<String>,
    pub expiration: Option<D>,
    #[serde(rename = "sourceIp")]
    pub source_ip: Option<String>,
}

// ------------------------------------------------------------ Mailtrap ----

#[derive(Debug, Deserialize)]
pub struct MailtrapToken {
    pub id: u64,
    pub name: String,
    pub last_4_digits: Option<String>,
    pub created_by: Option<String>,
    pub expires_at: Option<String>,
    #[serde(default)]
    pub resources: Vec<MailtrapResource>,
}

#[derive(Debug, Deserialize)]
pub struct MailtrapResource {
    pub resource_type: String,
    pub resource_id: ResourceId,
    pub access_level: u16,
}

/// `resource_id` is an integer or a string in the contract; a direct
/// visitor takes both without buffering (as `#[serde(untagged)]` would).
#[derive(Debug)]
pub enum ResourceId {
    Int(u64),
    Str(String),
}

impl<'de> Deserialize<'de> for ResourceId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ResourceId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a string")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ResourceId, E> {
                Ok(ResourceId::Int(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ResourceId, E> {
                u64::try_from(v)
                    .map(ResourceId::Int)
                    .map_err(|_| E::custom("negative id"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ResourceId, E> {
                Ok(ResourceId::Str(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

// -------------------------------------------------------------- calls ----

/// The raw side of one benchmark: a client, the server's base URL and the
/// headers the crate would send.
pub struct Raw {
    http: reqwest::Client,
    base: String,
    user_agent: HeaderValue,
    bearer: HeaderValue,
    api_token: HeaderValue,
}

impl Raw {
    pub fn new(http: reqwest::Client, base: &str, token: &str) -> Raw {
        let mut bearer = HeaderValue::try_from(format!("Bearer {token}")).expect("token");
        bearer.set_sensitive(true);
        let mut api_token = HeaderValue::try_from(token).expect("token");
        api_token.set_sensitive(true);
        Raw {
            http,
            base: base.trim_end_matches('/').to_owned(),
            user_agent: HeaderValue::from_static("raw-reqwest/1"),
            bearer,
            api_token,
        }
    }

    async fn get(
        &self,
        path: &str,
        accept: &'static str,
        auth: (&'static str, &HeaderValue),
    ) -> bytes::Bytes {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header(USER_AGENT, self.user_agent.clone())
            .header(ACCEPT, accept)
            .header(auth.0, auth.1.clone())
            .send()
            .await
            .expect("raw request");
        assert!(res.status().is_success(), "raw call: {}", res.status());
        res.bytes().await.expect("raw body")
    }

    /// `GET /users/{user}/api-tokens`, decoded.
    pub async fn unit_list(&self, user: u64) -> Vec<UnitToken> {
        let body = self.unit_bytes(user).await;
        serde_json::from_slice::<UnitList>(&body)
            .expect("raw unit decode")
            .data
    }

    /// `GET /users/{user}/api-tokens`, the body only.
    pub async fn unit_bytes(&self, user: u64) -> bytes::Bytes {
        let path = format!("/users/{user}/api-tokens");
        self.get(
            &path,
            "application/vnd.api+json",
            (AUTHORIZATION.as_str(), &self.bearer),
        )
        .await
    }

    /// `GET /api/accounts/{account}/api_tokens`, decoded.
    pub async fn mailtrap_list(&self, account: u64) -> Vec<MailtrapToken> {
        let body = self.mailtrap_bytes(account).await;
        serde_json::from_slice::<Vec<MailtrapToken>>(&body).expect("raw mailtrap decode")
    }

    /// `GET /api/accounts/{account}/api_tokens`, the body only.
    pub async fn mailtrap_bytes(&self, account: u64) -> bytes::Bytes {
        let path = format!("/api/accounts/{account}/api_tokens");
        self.get(&path, "application/json", ("api-token", &self.api_token))
            .await
    }
}
