//! The dialects' decoders, reachable from the crate's own fuzz tests
//! (feature `testing`). Each runs exactly the code a call runs on an answer
//! with this status and body; none is part of the API.

use bytes::Bytes;
use reqwest::header::HeaderMap;
use secrecy::SecretString;

use crate::error::{Error, Result, Service};
use crate::transport::Response;
use crate::{mailtrap, unit};

fn response(service: Service, status: u16, headers: HeaderMap, body: &[u8]) -> Response {
    Response::read(service, status, headers, Bytes::copy_from_slice(body))
}

/// A Unit list answer.
pub fn unit_list(body: &[u8]) -> Result<Vec<unit::ApiToken>> {
    unit::wire::decode_list(&response(Service::Unit, 200, HeaderMap::new(), body))
}

/// A Unit create answer.
pub fn unit_created(body: &[u8]) -> Result<unit::NewApiToken> {
    unit::wire::decode_created(&response(Service::Unit, 201, HeaderMap::new(), body))
}

/// A Unit revoke answer.
pub fn unit_revoked(body: &[u8]) -> Result<Option<unit::ApiToken>> {
    unit::wire::decode_revoked(&response(Service::Unit, 200, HeaderMap::new(), body))
}

/// A Mailtrap list answer.
pub fn mailtrap_list(body: &[u8]) -> Result<Vec<mailtrap::ApiToken>> {
    response(Service::Mailtrap, 200, HeaderMap::new(), body).json()
}

/// A Mailtrap get answer.
pub fn mailtrap_token(body: &[u8]) -> Result<mailtrap::ApiToken> {
    response(Service::Mailtrap, 200, HeaderMap::new(), body).json()
}

/// A Mailtrap create or reset answer.
pub fn mailtrap_created(body: &[u8]) -> Result<mailtrap::NewApiToken> {
    mailtrap::wire::decode_created(&response(Service::Mailtrap, 200, HeaderMap::new(), body))
}

/// An error answer of `service` with this status, headers and body, as a
/// client holding `credential` sees it: hidden by the transport, then
/// decoded by the dialect.
pub fn error(
    service: Service,
    credential: &SecretString,
    status: u16,
    headers: HeaderMap,
    body: &[u8],
) -> Error {
    let mut r = response(service, status, headers, body);
    let secrets = crate::scrub::Secrets::of(credential);
    r.body = crate::transport::hide_in_error_answer(&secrets, &mut r.headers, r.body);
    match service {
        Service::Unit => unit::wire::error_from(&r),
        Service::Mailtrap => mailtrap::wire::error_from(&r),
    }
}
