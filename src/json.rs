//! Decoding helpers both dialects share.
//!
//! serde's derived structs accept a JSON array by position as well as an
//! object: `[[]]` would decode as a document whose `data` is an empty list.
//! Every wire struct of the crate is read through [`Object`], [`object`] or
//! [`deserialize_object`], which accept only a JSON object.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

/// A `T` read only from a JSON object.
#[derive(Debug)]
pub(crate) struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        object(d).map(Object)
    }
}

/// Reads a `T` that is written as a JSON object, refusing any other JSON
/// type. For `#[serde(deserialize_with = "crate::json::object")]`.
pub(crate) fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    struct Derived<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for Derived<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_map(Derived(PhantomData))
}

/// A type whose own fields are read from an open map (serde's
/// `remote = "Self"` derive); its `Deserialize` is [`deserialize_object`].
pub(crate) trait FromMap<'de>: Sized {
    /// Reads the fields from an open map.
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

/// `Deserialize::deserialize` of a [`FromMap`] type: only a JSON object.
pub(crate) fn deserialize_object<'de, D: Deserializer<'de>, T: FromMap<'de>>(
    d: D,
) -> Result<T, D::Error> {
    struct Fields<T>(PhantomData<T>);
    impl<'de, T: FromMap<'de>> Visitor<'de> for Fields<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::from_map(map)
        }
    }
    d.deserialize_map(Fields(PhantomData))
}

/// For types whose fields are derived with `#[serde(remote = "Self")]`:
/// `Deserialize` through [`deserialize_object`] (only a JSON object) and
/// `Serialize` through the derived fields.
macro_rules! object_only {
    ($($t:ident),*) => {$(
        impl<'de> $crate::json::FromMap<'de> for $t {
            fn from_map<A: serde::de::MapAccess<'de>>(
                map: A,
            ) -> std::result::Result<Self, A::Error> {
                $t::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(
                d: D,
            ) -> std::result::Result<Self, D::Error> {
                $crate::json::deserialize_object(d)
            }
        }

        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                $t::serialize(self, s)
            }
        }
    )*};
}
pub(crate) use object_only;

/// Reads a member the service writes only with a value (read with
/// `#[serde(default)]`, so that left out it is the default): an explicit
/// `null`, which the contract never allows there, is refused by name
/// rather than read as absent (`expiration: null` is no token that never
/// expires, `resources: null` no token without permissions).
pub(crate) fn not_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
    member: &'static str,
) -> Result<T, D::Error> {
    Option::<T>::deserialize(d)?.ok_or_else(|| {
        serde::de::Error::custom(format_args!(
            "`{member}` is null, which the service never writes there (it leaves the member \
             out when there is no value); a null is not read as absent"
        ))
    })
}

/// Reads a token's secret straight into a `SecretString` (through
/// `secrecy`'s own `Deserialize`), refusing an empty one (a token without
/// a secret is of no use, and a default would hide the fault) and one the
/// crate would refuse as a caller's token: whitespace, control or
/// non-ASCII characters cannot be sent in a header, and would reach a
/// terminal or a file as they are; one that is or holds the caller's own
/// token (which the transport hides in a success's body before it is read,
/// so that the placeholder would be stored as the secret). The message
/// never quotes the secret.
pub(crate) fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<secrecy::SecretString, D::Error> {
    use secrecy::ExposeSecret;
    let secret = secrecy::SecretString::deserialize(d)?;
    if secret.expose_secret().trim().is_empty() {
        return Err(serde::de::Error::custom("the secret is empty"));
    }
    if secret.expose_secret().contains(crate::scrub::REDACTED) {
        // The answer quoted the caller's own token, hidden before it was
        // read: a new token's secret is never the caller's.
        return Err(serde::de::Error::custom(
            "the secret is, or holds, the caller's own token: a new token never has it",
        ));
    }
    if crate::transport::auth::check_token(secret.expose_secret()).is_err() {
        return Err(serde::de::Error::custom(
            "the secret holds whitespace, control or non-ASCII characters, which no token \
             can be sent with",
        ));
    }
    Ok(secret)
}

/// What a token's wire shape does with its secret: [`Skip`] for a listed
/// token, [`Secret`] for a created one.
pub(crate) trait Field: Default {
    fn is_skip(&self) -> bool;
}

/// Not read, not written.
#[derive(Default)]
pub(crate) struct Skip;

impl Field for Skip {
    fn is_skip(&self) -> bool {
        true
    }
}

impl serde::Serialize for Skip {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_none()
    }
}

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Skip)
    }
}

/// The secret, required and not empty when read.
#[derive(Default)]
pub(crate) struct Secret(pub Option<secrecy::SecretString>);

impl Field for Secret {
    fn is_skip(&self) -> bool {
        self.0.is_none()
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match &self.0 {
            Some(secret) => s.serialize_str(secrecy::ExposeSecret::expose_secret(secret)),
            None => s.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        secret(d).map(|s| Secret(Some(s)))
    }
}

/// Reads a JSON string as the format lends it (borrowed, not copied, where
/// it can) and hands it to `read`; a refusal becomes the format's error.
/// `expecting` completes "invalid type: …, expected …".
#[inline]
pub(crate) fn read_str<'de, D, T, F>(d: D, expecting: &'static str, read: F) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(&str) -> Result<T, &'static str>,
{
    struct Text<F> {
        expecting: &'static str,
        read: F,
    }
    impl<T, F: FnOnce(&str) -> Result<T, &'static str>> Visitor<'_> for Text<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }
        #[inline]
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
            (self.read)(v).map_err(E::custom)
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<T, E> {
            match std::str::from_utf8(v) {
                Ok(s) => self.visit_str(s),
                Err(_) => Err(E::invalid_value(serde::de::Unexpected::Bytes(v), &self)),
            }
        }
    }
    d.deserialize_str(Text { expecting, read })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Pair {
        a: u8,
        b: u8,
    }

    #[test]
    fn arrays_are_not_objects() {
        let ok: Object<Pair> = serde_json::from_str(r#"{"a":1,"b":2}"#).unwrap();
        assert_eq!(ok.0, Pair { a: 1, b: 2 });
        // Derived alone, this would be `Pair { a: 1, b: 2 }`.
        assert!(serde_json::from_str::<Pair>("[1,2]").is_ok());
        let err = serde_json::from_str::<Object<Pair>>("[1,2]").unwrap_err();
        assert!(err.to_string().contains("a JSON object"), "{err}");
    }

    #[test]
    fn empty_secrets_are_refused() {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(deserialize_with = "secret")]
            #[allow(dead_code)]
            token: secrecy::SecretString,
        }
        assert!(serde_json::from_str::<T>(r#"{"token":"abc"}"#).is_ok());
        for bad in [
            r#"{"token":""}"#,
            r#"{"token":"  "}"#,
            r#"{"token":null}"#,
            r#"{"token":1}"#,
        ] {
            assert!(serde_json::from_str::<T>(bad).is_err(), "{bad}");
        }
    }
}
