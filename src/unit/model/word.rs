//! The traits of a type Unit writes as one word, kept when unknown: `Scope`
//! and `ResourceType`.

/// Implements, for `$ty` with `as_str`, `from_wire` (any word, unknown
/// ones kept) and `validate` (refuses what could not be sent):
/// `Display` and `Serialize` as its word, `FromStr` checked (documented
/// by the doc comments after `parse:`) and `Deserialize` unchecked, as the
/// service's answers are read (documented after `deserialize:`).
macro_rules! word_traits {
    (
        $ty:ident,
        parse: $(#[doc = $parse_doc:expr])*
        deserialize: $(#[doc = $deserialize_doc:expr])*
    ) => {
        $crate::display::display_as_str!($ty);

        impl std::str::FromStr for $ty {
            type Err = $crate::error::Error;

            $(#[doc = $parse_doc])*
            fn from_str(s: &str) -> $crate::error::Result<Self> {
                let word = $ty::from_wire(s);
                word.validate()?;
                Ok(word)
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            $(#[doc = $deserialize_doc])*
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok($ty::from_wire(&s))
            }
        }
    };
}
pub(super) use word_traits;
