//! The `Condition` block of a bucket policy statement, the subset people
//! use: `Bool` on `aws:SecureTransport` (refuse plain HTTP), `IpAddress` /
//! `NotIpAddress` on `aws:SourceIp` (CIDR blocks, IPv4 or IPv6), and
//! `StringEquals` / `StringNotEquals` / `StringLike` / `StringNotLike` on
//! `s3:prefix` (what a listing may ask for). Every operator and key of a
//! block must hold; within one, any of a list of values matching is
//! enough. A key the request does not carry (no `prefix` on a GET, say)
//! makes a positive test false and a negated one true, as AWS evaluates
//! them. Anything else — other keys, other operators, `...IfExists` — is
//! refused as not implemented when the policy is put.
//!
//! `RequestContext` is what a request brings to be tested; the gateway
//! fills it from the connection (`ClientConnection`) and the query.

use crate::policy_error::PolicyError;
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};

/// The connection a request came on, put into every request's extensions
/// by the listener that accepted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConnection {
    pub peer: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
}

/// What a request brings for conditions to test.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// Whether it came over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
    /// The client's address (`aws:SourceIp`), when known.
    pub source_ip: Option<IpAddr>,
    /// A listing's `prefix` parameter (`s3:prefix`), when it has one.
    pub prefix: Option<String>,
}

/// An address block: `addr/bits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Cidr {
    fn parse(s: &str) -> Result<Cidr, PolicyError> {
        let bad = || PolicyError::Malformed(format!("{s} is not an IP address or CIDR block"));
        let (addr, bits) = match s.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => max,
            Some(b) => b
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|b| *b <= max)
                .ok_or_else(bad)?,
        };
        Ok(Cidr { addr, bits })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 client on an IPv6 socket is seen as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let (net, ip, width) = match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                (u128::from(n.to_bits()), u128::from(i.to_bits()), 32)
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => (n.to_bits(), i.to_bits(), 128),
            _ => return false,
        };
        let host_bits = width - u32::from(self.bits);
        if host_bits >= 128 {
            return true;
        }
        (net >> host_bits) == (ip >> host_bits)
    }
}

/// One test of a condition block.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Test {
    /// `Bool` on `aws:SecureTransport`: any of these values.
    SecureTransport(Vec<bool>),
    /// `IpAddress` (or `NotIpAddress` when negated) on `aws:SourceIp`.
    SourceIp { blocks: Vec<Cidr>, negated: bool },
    /// `String(Not)Equals` / `String(Not)Like` on `s3:prefix`.
    Prefix {
        values: Vec<String>,
        like: bool,
        negated: bool,
    },
}

/// A statement's condition block: every test must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions(Vec<Test>);

fn not_implemented(s: String) -> PolicyError {
    PolicyError::NotImplemented(s)
}

/// One string, a bool, or a list of them, as strings.
fn values(v: &Value, what: &str) -> Result<Vec<String>, PolicyError> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(PolicyError::Malformed(format!(
            "the values of {what} must be strings"
        ))),
    };
    match v {
        Value::Array(items) if !items.is_empty() => items.iter().map(one).collect(),
        Value::Array(_) => Err(PolicyError::Malformed(format!("{what} has no value"))),
        other => Ok(vec![one(other)?]),
    }
}

impl Conditions {
    /// Parses a statement's `Condition` object.
    pub fn parse(v: &Value) -> Result<Conditions, PolicyError> {
        let ops = v
            .as_object()
            .ok_or_else(|| PolicyError::Malformed("Condition must be an object".into()))?;
        let mut tests = Vec::new();
        for (op, keys) in ops {
            let keys = keys.as_object().filter(|k| !k.is_empty()).ok_or_else(|| {
                PolicyError::Malformed(format!("the condition {op} must name keys"))
            })?;
            for (key, value) in keys {
                let what = format!("{op} {key}");
                let vals = values(value, &what)?;
                let test = match (op.as_str(), key.to_ascii_lowercase().as_str()) {
                    ("Bool", "aws:securetransport") => Test::SecureTransport(
                        vals.iter()
                            .map(|s| match s.to_ascii_lowercase().as_str() {
                                "true" => Ok(true),
                                "false" => Ok(false),
                                _ => Err(PolicyError::Malformed(format!(
                                    "{what}: {s} is not true or false"
                                ))),
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    (op @ ("IpAddress" | "NotIpAddress"), "aws:sourceip") => Test::SourceIp {
                        blocks: vals
                            .iter()
                            .map(|s| Cidr::parse(s))
                            .collect::<Result<_, _>>()?,
                        negated: op == "NotIpAddress",
                    },
                    (
                        op @ ("StringEquals" | "StringNotEquals" | "StringLike" | "StringNotLike"),
                        "s3:prefix",
                    ) => Test::Prefix {
                        values: vals,
                        like: op.ends_with("Like"),
                        negated: op.contains("Not"),
                    },
                    (
                        "Bool" | "IpAddress" | "NotIpAddress" | "StringEquals" | "StringNotEquals"
                        | "StringLike" | "StringNotLike",
                        _,
                    ) => {
                        return Err(not_implemented(format!(
                            "the condition key {key} is not supported with {op} \
                             (Bool: aws:SecureTransport; IpAddress, NotIpAddress: aws:SourceIp; \
                             StringEquals, StringNotEquals, StringLike, StringNotLike: s3:prefix)"
                        )));
                    }
                    _ => {
                        return Err(not_implemented(format!(
                            "the condition operator {op} is not supported (Bool, IpAddress, \
                             NotIpAddress, StringEquals, StringNotEquals, StringLike, StringNotLike)"
                        )));
                    }
                };
                tests.push(test);
            }
        }
        Ok(Conditions(tests))
    }

    /// Whether every test holds for the request `cx`.
    pub fn hold(&self, cx: &RequestContext) -> bool {
        self.0.iter().all(|t| match t {
            Test::SecureTransport(any) => any.contains(&cx.secure_transport),
            Test::SourceIp { blocks, negated } => match cx.source_ip {
                Some(ip) => blocks.iter().any(|b| b.contains(ip)) != *negated,
                None => *negated,
            },
            Test::Prefix {
                values,
                like,
                negated,
            } => match &cx.prefix {
                Some(p) => {
                    values.iter().any(|v| {
                        if *like {
                            glob(v.as_bytes(), p.as_bytes())
                        } else {
                            v == p
                        }
                    }) != *negated
                }
                None => *negated,
            },
        })
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of bytes
/// and `?` any one byte (iterative, with one backtrack point: linear in
/// practice, never exponential).
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cx(secure: bool, ip: &str, prefix: Option<&str>) -> RequestContext {
        RequestContext {
            secure_transport: secure,
            source_ip: ip.parse().ok(),
            prefix: prefix.map(str::to_string),
        }
    }

    #[test]
    fn secure_transport_is_tested_as_a_bool() {
        let c = Conditions::parse(&json!({"Bool": {"aws:SecureTransport": "false"}})).expect("ok");
        assert!(c.hold(&cx(false, "", None)));
        assert!(!c.hold(&cx(true, "", None)));
        let c = Conditions::parse(&json!({"Bool": {"aws:SecureTransport": true}})).expect("ok");
        assert!(c.hold(&cx(true, "", None)));
    }

    #[test]
    fn source_ip_blocks_match_v4_v6_and_mapped_addresses() {
        let c = Conditions::parse(
            &json!({"IpAddress": {"aws:SourceIp": ["10.1.0.0/16", "2001:db8::/32"]}}),
        )
        .expect("ok");
        assert!(c.hold(&cx(false, "10.1.200.3", None)));
        assert!(!c.hold(&cx(false, "10.2.0.1", None)));
        assert!(c.hold(&cx(false, "2001:db8::1", None)));
        assert!(c.hold(&cx(false, "::ffff:10.1.0.9", None)));
        assert!(
            !c.hold(&cx(false, "", None)),
            "no address: a positive test fails"
        );
        let not =
            Conditions::parse(&json!({"NotIpAddress": {"aws:SourceIp": "127.0.0.1"}})).expect("ok");
        assert!(!not.hold(&cx(false, "127.0.0.1", None)));
        assert!(not.hold(&cx(false, "127.0.0.2", None)));
        let all =
            Conditions::parse(&json!({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}})).expect("ok");
        assert!(all.hold(&cx(false, "192.0.2.1", None)));
        for bad in ["10.0.0.0/33", "nonsense", "10.0.0.0/x"] {
            let r = Conditions::parse(&json!({"IpAddress": {"aws:SourceIp": bad}}));
            assert!(matches!(r, Err(PolicyError::Malformed(_))), "{bad}: {r:?}");
        }
    }

    #[test]
    fn prefix_tests_equal_like_and_their_negations() {
        let eq =
            Conditions::parse(&json!({"StringEquals": {"s3:prefix": ["", "home/"]}})).expect("ok");
        assert!(eq.hold(&cx(false, "", Some("home/"))));
        assert!(!eq.hold(&cx(false, "", Some("home/x"))));
        assert!(
            !eq.hold(&cx(false, "", None)),
            "no prefix: a positive test fails"
        );
        let like =
            Conditions::parse(&json!({"StringLike": {"s3:prefix": "home/*/docs?"}})).expect("ok");
        assert!(like.hold(&cx(false, "", Some("home/ann/docs/"))));
        assert!(!like.hold(&cx(false, "", Some("home/ann/pics/"))));
        let not =
            Conditions::parse(&json!({"StringNotLike": {"s3:prefix": "secret*"}})).expect("ok");
        assert!(not.hold(&cx(false, "", Some("public/"))));
        assert!(!not.hold(&cx(false, "", Some("secret/a"))));
        assert!(
            not.hold(&cx(false, "", None)),
            "no prefix: a negated test holds"
        );
    }

    #[test]
    fn every_test_of_a_block_must_hold() {
        let c = Conditions::parse(&json!({
            "Bool": {"aws:SecureTransport": "true"},
            "IpAddress": {"aws:SourceIp": "127.0.0.0/8"}
        }))
        .expect("ok");
        assert!(c.hold(&cx(true, "127.0.0.1", None)));
        assert!(!c.hold(&cx(false, "127.0.0.1", None)));
        assert!(!c.hold(&cx(true, "10.0.0.1", None)));
    }

    #[test]
    fn what_is_outside_the_subset_is_not_implemented() {
        for doc in [
            json!({"StringEquals": {"aws:UserAgent": "curl"}}),
            json!({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}),
            json!({"StringEqualsIfExists": {"s3:prefix": "a"}}),
            json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
        ] {
            let r = Conditions::parse(&doc);
            assert!(
                matches!(r, Err(PolicyError::NotImplemented(_))),
                "{doc}: {r:?}"
            );
        }
    }

    #[test]
    fn glob_matches_stars_and_question_marks() {
        assert!(glob(b"*", b""));
        assert!(glob(b"a*c", b"abbbc"));
        assert!(!glob(b"a*c", b"abbbd"));
        assert!(glob(b"a?c", b"abc"));
        assert!(glob(b"*.txt", b"dir/x.txt"));
        assert!(!glob(b"", b"x"));
        assert!(glob(&[b'*'; 50], &[b'a'; 200]));
    }
}
