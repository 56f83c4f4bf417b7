//! The addresses and ranges allowed to use a token (`sourceIp`): one
//! entry, and the comma-separated list Unit writes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use ipnet::IpNet;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, Result};

/// One entry of a token's `sourceIp` list: an address, a CIDR range, or
/// (read from the service only) something else, kept as written.
///
/// A range read from a list can be sent back: rotating a token restricted
/// to `10.0.0.0/8` keeps the restriction.
///
/// ```
/// use api_tokens::unit::SourceIp;
///
/// let ips = SourceIp::parse_list("192.168.1.1, 10.0.0.0/8");
/// assert_eq!(ips[0], "192.168.1.1".parse::<SourceIp>()?);
/// assert_eq!(ips[1].to_string(), "10.0.0.0/8");
/// assert!(matches!(ips[1], SourceIp::Net(_)));
/// assert!("not an address".parse::<SourceIp>().is_err());
/// # Ok::<(), api_tokens::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceIp {
    /// An IPv4 or IPv6 address.
    Addr(IpAddr),
    /// A CIDR range (`10.0.0.0/8`, `2001:db8::/32`).
    Net(IpNet),
    /// A value that is neither, as the service wrote it. It is kept rather
    /// than failing the whole answer, but cannot be sent back.
    Unparsed(String),
}

impl SourceIp {
    /// The address, when it is one.
    pub fn addr(&self) -> Option<IpAddr> {
        match self {
            SourceIp::Addr(ip) => Some(*ip),
            _ => None,
        }
    }

    /// Reads one entry as the service wrote it: never fails.
    #[inline]
    fn from_wire(s: &str) -> SourceIp {
        if let Some(ip) = parse_ipv4(s.as_bytes()) {
            SourceIp::Addr(IpAddr::V4(ip))
        } else if let Ok(ip) = s.parse::<IpAddr>() {
            SourceIp::Addr(ip)
        } else if let Ok(net) = s.parse::<IpNet>() {
            SourceIp::Net(net)
        } else {
            SourceIp::Unparsed(s.to_owned())
        }
    }

    /// Splits a comma-separated list (Unit's `sourceIp`); blank items are
    /// skipped, spaces around items ignored.
    #[inline]
    pub fn parse_list(list: &str) -> Vec<SourceIp> {
        let bytes = list.as_bytes();
        let mut out = Vec::with_capacity(bytes.iter().filter(|b| **b == b',').count() + 1);
        // One pass: an IPv4 address that runs right up to the next comma
        // (the usual entry) is read where it stands; any other entry is cut
        // at its comma, trimmed and read by `from_wire`.
        let mut start = 0;
        while start <= bytes.len() {
            let rest = &bytes[start..];
            if let Some((ip, len)) = parse_ipv4_prefix(rest) {
                if len == rest.len() || rest[len] == b',' {
                    out.push(SourceIp::Addr(IpAddr::V4(ip)));
                    start += len + 1;
                    continue;
                }
            }
            let end = rest
                .iter()
                .position(|b| *b == b',')
                .map_or(bytes.len(), |at| start + at);
            // `start` and `end` sit next to commas or at the ends: char
            // boundaries.
            let item = list[start..end].trim();
            if !item.is_empty() {
                out.push(SourceIp::from_wire(item));
            }
            start = end + 1;
        }
        out
    }

    pub(super) fn validate(&self) -> Result<()> {
        match self {
            SourceIp::Unparsed(s) => Err(Error::invalid(
                "source_ip",
                format!(
                    "`{}` is neither an IP address nor a CIDR range",
                    s.escape_debug()
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// Reads `a.b.c.d` at the start of `s` exactly as `Ipv4Addr`'s `FromStr`
/// reads a whole string (four decimal octets up to 255, without leading
/// zeros), in one pass over the bytes; gives the address and how many bytes
/// it took. `None` when `s` does not start with one; whether anything may
/// follow is the caller's to say.
#[inline]
fn parse_ipv4_prefix(s: &[u8]) -> Option<(Ipv4Addr, usize)> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (k, octet) in octets.iter_mut().enumerate() {
        if k > 0 {
            if s.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut value = 0u32;
        while i - start < 3 {
            match s.get(i) {
                Some(c) if c.is_ascii_digit() => {
                    value = value * 10 + u32::from(c - b'0');
                    i += 1;
                }
                _ => break,
            }
        }
        let digits = i - start;
        if digits == 0 || (digits > 1 && s[start] == b'0') {
            return None;
        }
        *octet = u8::try_from(value).ok()?;
    }
    Some((Ipv4Addr::from(octets), i))
}

/// `s` read whole as an IPv4 address, as `Ipv4Addr`'s `FromStr` reads it;
/// `None` for anything else, which goes to the general parsers.
#[inline]
fn parse_ipv4(s: &[u8]) -> Option<Ipv4Addr> {
    parse_ipv4_prefix(s).and_then(|(ip, len)| (len == s.len()).then_some(ip))
}

impl From<IpAddr> for SourceIp {
    fn from(ip: IpAddr) -> Self {
        SourceIp::Addr(ip)
    }
}

impl From<IpNet> for SourceIp {
    fn from(net: IpNet) -> Self {
        SourceIp::Net(net)
    }
}

impl FromStr for SourceIp {
    type Err = Error;

    /// An IP address or a CIDR range; anything else is refused.
    fn from_str(s: &str) -> Result<Self> {
        let ip = SourceIp::from_wire(s.trim());
        ip.validate()?;
        Ok(ip)
    }
}

impl fmt::Display for SourceIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceIp::Addr(ip) => ip.fmt(f),
            SourceIp::Net(net) => net.fmt(f),
            SourceIp::Unparsed(s) => f.write_str(s),
        }
    }
}

impl Serialize for SourceIp {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SourceIp {
    /// One entry, read from the borrowed text when the format lends it
    /// (serde's `Cow<str>` would always copy it).
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        crate::json::read_str(d, "an IP address or a CIDR range", |v| {
            Ok(SourceIp::from_wire(v.trim()))
        })
    }
}

/// Addresses and ranges as `sourceIp` holds them: one comma-separated
/// string; `None` for none.
pub(crate) fn join_source_ips<'a>(ips: impl IntoIterator<Item = &'a SourceIp>) -> Option<String> {
    let words: Vec<String> = ips.into_iter().map(SourceIp::to_string).collect();
    (!words.is_empty()).then(|| words.join(","))
}

/// `sourceIp` as one comma-separated string, both ways; read without a
/// `String` per token when the body needs no unescaping. Left out, it is
/// no restriction (with `#[serde(default)]`); an explicit `null`, which
/// Unit never writes, is refused by name rather than read as "any
/// address".
pub(crate) mod source_ip_list {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        ips: &[SourceIp],
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match join_source_ips(ips) {
            Some(joined) => s.serialize_str(&joined),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Vec<SourceIp>, D::Error> {
        crate::json::not_null::<D, List>(d, "sourceIp").map(|list| list.0)
    }

    /// The comma-separated string, read as a list.
    struct List(Vec<SourceIp>);

    impl<'de> Deserialize<'de> for List {
        fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<List, D::Error> {
            struct ListVisitor;
            impl Visitor<'_> for ListVisitor {
                type Value = List;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("`sourceIp`: a comma-separated list of addresses")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<List, E> {
                    Ok(List(SourceIp::parse_list(v)))
                }
            }
            d.deserialize_str(ListVisitor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_fast_path_agrees_with_std() {
        let agree = |s: &str| {
            assert_eq!(
                parse_ipv4(s.as_bytes()),
                s.parse::<Ipv4Addr>().ok(),
                "{s:?}"
            );
        };
        for s in [
            "0.0.0.0",
            "255.255.255.255",
            "192.168.1.1",
            "10.0.0.1",
            "1.2.3.4",
            "256.1.1.1",
            "1.2.3.256",
            "01.2.3.4",
            "1.2.3.04",
            "1.2.3.00",
            "1.2.3",
            "1.2.3.4.",
            ".1.2.3.4",
            "1..2.3",
            "1.2.3.4.5",
            "1234.1.1.1",
            "1.2.3.1234",
            " 1.2.3.4",
            "1.2.3.4 ",
            "+1.2.3.4",
            "1.2.3.4/8",
            "::1",
            "::ffff:1.2.3.4",
            "",
            "1.2.3.-4",
            "١.2.3.4",
        ] {
            agree(s);
        }
        proptest::proptest!(|(s in "[0-9.]{0,17}", t in "[0-9./: a-f]{0,12}")| {
            agree(&s);
            agree(&t);
        });
        proptest::proptest!(|(a: u8, b: u8, c: u8, d: u8)| {
            let ip = Ipv4Addr::new(a, b, c, d);
            proptest::prop_assert_eq!(parse_ipv4(ip.to_string().as_bytes()), Some(ip));
        });
    }

    #[test]
    fn list_reader_agrees_with_split_and_trim() {
        let naive = |list: &str| -> Vec<SourceIp> {
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(SourceIp::from_wire)
                .collect()
        };
        for list in [
            "",
            ",",
            " , ,",
            "192.168.1.1",
            "192.168.1.1,10.0.0.1",
            "192.168.1.1, 10.0.0.0/8 ,::1,",
            "1.2.3.4,1.2.3.45,1.2.3.456,1.2.3.04",
            "1.2.3.4 ,office, 2001:db8::/32",
            "1.2.3.4/8,1.2.3.4\u{a0},\u{a0}1.2.3.4",
        ] {
            assert_eq!(SourceIp::parse_list(list), naive(list), "{list:?}");
        }
        proptest::proptest!(|(list in "[0-9., /a:\u{a0}]{0,40}")| {
            proptest::prop_assert_eq!(SourceIp::parse_list(&list), naive(&list));
        });
    }
}
