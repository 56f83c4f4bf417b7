//! List bodies shaped as each service sends them (the field set, the value
//! shapes and a realistic mix of optional fields), generated from a fixed
//! seed so every run decodes the same bytes.

use std::fmt::Write;

/// A small deterministic generator (splitmix64).
struct Seq(u64);

impl Seq {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }
}

const PURPOSES: &[&str] = &[
    "Production token",
    "Testing token",
    "CI deploy",
    "Nightly reconciliation",
    "Zapier sync",
    "Card issuing service",
    "Back office read-only",
    "Webhook relay",
    "Data warehouse export",
    "Support dashboard",
];

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for a day offset and some seconds.
fn timestamp(out: &mut String, day: u64, secs: u64, millis: u64) {
    // Days from 2021-01-01 on a 28-day month calendar keep every date valid
    // without a calendar library; realism lies in the shape, not the day.
    let year = 2021 + day / (12 * 28);
    let month = 1 + (day / 28) % 12;
    let dom = 1 + day % 28;
    let _ = write!(
        out,
        "{year:04}-{month:02}-{dom:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    );
}

/// A Unit `GET /users/{id}/api-tokens` document with `n` tokens, about a
/// third of them restricted to one to three addresses.
pub fn unit_list(n: usize) -> String {
    unit_document(n, |s| if s.below(3) == 0 { 1 + s.below(3) } else { 0 })
}

/// The same document with two source addresses on three quarters of the
/// tokens: the shape where reading addresses costs the most.
pub fn unit_list_with_addresses(n: usize) -> String {
    unit_document(n, |s| if s.below(4) == 0 { 0 } else { 2 })
}

/// A Unit list of `n` tokens; `addresses` says how many source addresses
/// each token has.
fn unit_document(n: usize, addresses: impl Fn(&mut Seq) -> u64) -> String {
    let mut s = Seq(0x0517_u64);
    let mut out = String::with_capacity(n * 260 + 16);
    out.push_str("{\"data\":[");
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        let id = 21 + i as u64;
        let day = s.below(1200);
        let _ = write!(
            out,
            "{{\"type\":\"apiToken\",\"id\":\"{id}\",\"attributes\":{{\"createdAt\":\""
        );
        timestamp(&mut out, day, s.below(86_400), s.below(1000));
        let _ = write!(
            out,
            "\",\"description\":\"{} {}\",\"expiration\":\"",
            s.pick(PURPOSES),
            1 + s.below(99)
        );
        timestamp(
            &mut out,
            day + 30 + s.below(700),
            s.below(86_400),
            s.below(1000),
        );
        out.push('"');
        let count = addresses(&mut s);
        if count > 0 {
            out.push_str(",\"sourceIp\":\"");
            for k in 0..count {
                if k > 0 {
                    out.push(',');
                }
                let _ = write!(
                    out,
                    "{}.{}.{}.{}",
                    [10, 172, 192, 203][s.below(4) as usize],
                    s.below(256),
                    s.below(256),
                    1 + s.below(254)
                );
            }
            out.push('"');
        }
        out.push_str("}}");
    }
    out.push_str("]}");
    out
}

const CREATORS: &[&str] = &[
    "ops@example.com",
    "jane.doe@example.com",
    "Jane Doe",
    "Provisioning token",
    "billing-bot@example.com",
    "Alex Martin",
];

const RESOURCES: &[(&str, u64)] = &[
    ("account", 0),
    ("project", 1_000),
    ("sandbox", 20_000),
    ("domain", 300_000),
    ("sending_domain", 400_000),
];

/// A Mailtrap `GET /api/accounts/{id}/api_tokens` array with `n` tokens.
pub fn mailtrap_list(account_id: u64, n: usize) -> String {
    let mut s = Seq(0x3229_u64);
    let mut out = String::with_capacity(n * 280 + 16);
    out.push('[');
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        let id = 12_345 + i as u64;
        let last4: String = (0..4)
            .map(|_| {
                let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
                alphabet[s.below(alphabet.len() as u64) as usize] as char
            })
            .collect();
        let _ = write!(
            out,
            "{{\"id\":{id},\"name\":\"{} {}\",\"last_4_digits\":\"{last4}\",\"created_by\":\"{}\",\"expires_at\":",
            s.pick(PURPOSES),
            1 + s.below(99),
            s.pick(CREATORS),
        );
        // Most account tokens never expire.
        if s.below(5) < 3 {
            out.push_str("null");
        } else {
            out.push('"');
            timestamp(&mut out, 900 + s.below(800), s.below(86_400), 0);
            out.push('"');
        }
        out.push_str(",\"resources\":[");
        for k in 0..1 + s.below(3) {
            if k > 0 {
                out.push(',');
            }
            let (kind, base) = if k == 0 {
                RESOURCES[0]
            } else {
                RESOURCES[1 + s.below(RESOURCES.len() as u64 - 1) as usize]
            };
            let resource_id = if base == 0 {
                account_id
            } else {
                base + s.below(10_000)
            };
            let level = if s.below(2) == 0 { 100 } else { 10 };
            let _ = write!(
                out,
                "{{\"resource_type\":\"{kind}\",\"resource_id\":{resource_id},\"access_level\":{level}}}"
            );
        }
        out.push_str("]}");
    }
    out.push(']');
    out
}
