//! [`TokenRef`]: a token as reports name it, and how they write its service.

use serde::{Deserialize, Serialize};

use super::marker::Marker;
use crate::error::Service;

/// A token named in a report: its service, id and description or name.
/// Never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenRef {
    /// The service.
    #[serde(with = "service_serde")]
    pub service: Service,
    /// Its id.
    pub id: String,
    /// Its description (Unit) or name (Mailtrap), when it has one.
    pub name: Option<String>,
}

impl TokenRef {
    /// A token of `service` with this id and name.
    pub fn new(service: Service, id: impl Into<String>, name: Option<String>) -> TokenRef {
        TokenRef {
            service,
            id: id.into(),
            name,
        }
    }

    /// The marker that ends its name, if any.
    pub fn marker(&self) -> Option<Marker> {
        self.name.as_deref().and_then(Marker::find)
    }
}

/// Serializes [`Service`] as `"unit"` or `"mailtrap"`.
pub(crate) mod service_serde {
    use serde::Deserialize;

    use crate::error::Service;

    pub fn serialize<S: serde::Serializer>(
        service: &Service,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(name(*service))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Service, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        match text.as_ref() {
            "unit" => Ok(Service::Unit),
            "mailtrap" => Ok(Service::Mailtrap),
            other => Err(serde::de::Error::unknown_variant(
                other,
                &["unit", "mailtrap"],
            )),
        }
    }

    pub fn name(service: Service) -> &'static str {
        match service {
            Service::Unit => "unit",
            Service::Mailtrap => "mailtrap",
        }
    }
}
