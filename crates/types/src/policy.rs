//! Bucket policies, the subset people use: public read of a bucket or a
//! prefix (anonymous GET and HEAD, and listing when granted), and allow or
//! deny of object actions for given access keys (a write-only upload key,
//! a key that may not delete). A document is parsed once when it is put
//! (`parse`); anything outside the subset is refused as not implemented
//! rather than silently ignored, and anything malformed as malformed.
//!
//! The subset: `Version` (optional), `Id` (ignored), `Statement` (one or a
//! list) with `Sid` (ignored), `Effect` (`Allow`/`Deny`), `Principal` (`*`,
//! `{"AWS": "*"}`, or access key ids, bare or as `arn:aws:iam:::user/ID`),
//! `Action` (`s3:GetObject`, `s3:PutObject`, `s3:DeleteObject`,
//! `s3:ListBucket`, `s3:*`) and `Resource` (`arn:aws:s3:::BUCKET` for
//! listing, `arn:aws:s3:::BUCKET/PREFIX*` or `.../KEY` for objects; a `*`
//! only at the end), and `Condition` (`policy_condition`: TLS only, source
//! addresses, listing prefixes). A statement applies to a request when its
//! principal, action and resource cover it and its conditions hold for the
//! request (`RequestContext`).

use crate::policy_condition::{Conditions, RequestContext};
pub use crate::policy_error::PolicyError;
use serde_json::Value;

/// The object actions a policy speaks of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    GetObject,
    PutObject,
    DeleteObject,
    ListBucket,
}

impl Action {
    fn parse(s: &str) -> Result<Vec<Action>, PolicyError> {
        Ok(match s {
            "s3:GetObject" => vec![Action::GetObject],
            "s3:PutObject" => vec![Action::PutObject],
            "s3:DeleteObject" => vec![Action::DeleteObject],
            "s3:ListBucket" => vec![Action::ListBucket],
            "s3:*" => vec![
                Action::GetObject,
                Action::PutObject,
                Action::DeleteObject,
                Action::ListBucket,
            ],
            other => {
                return Err(PolicyError::NotImplemented(format!(
                    "the action {other} is not supported in bucket policies \
                     (s3:GetObject, s3:PutObject, s3:DeleteObject, s3:ListBucket, s3:*)"
                )));
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Principal {
    Anyone,
    Keys(Vec<String>),
}

/// What a resource names: the bucket itself, or objects by key pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Resource {
    Bucket,
    /// A key, or a prefix when it ended in `*`.
    Objects {
        pattern: String,
        prefix: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    effect: Effect,
    principal: Principal,
    actions: Vec<Action>,
    resources: Vec<Resource>,
    conditions: Conditions,
}

/// A parsed bucket policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketPolicy {
    statements: Vec<Statement>,
}

/// What a policy says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
    /// Nothing: the key's grants decide.
    Silent,
}

fn malformed(s: impl Into<String>) -> PolicyError {
    PolicyError::Malformed(s.into())
}

/// One string or a list of strings.
fn strings(v: &Value, what: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| malformed(format!("{what} must be strings")))
            })
            .collect(),
        _ => Err(malformed(format!(
            "{what} must be a string or a list of strings"
        ))),
    }
}

fn principal(v: &Value) -> Result<Principal, PolicyError> {
    let ids = match v {
        Value::String(s) if s == "*" => return Ok(Principal::Anyone),
        Value::Object(m) => {
            if let Some(other) = m.keys().find(|k| k.as_str() != "AWS") {
                return Err(PolicyError::NotImplemented(format!(
                    "principals of kind {other} are not supported (only AWS)"
                )));
            }
            let aws = m
                .get("AWS")
                .ok_or_else(|| malformed("Principal needs AWS"))?;
            strings(aws, "Principal.AWS")?
        }
        _ => return Err(malformed("Principal must be \"*\" or {\"AWS\": ...}")),
    };
    if ids.iter().any(|i| i == "*") {
        return Ok(Principal::Anyone);
    }
    let keys = ids
        .into_iter()
        .map(|id| {
            let key = id.strip_prefix("arn:aws:iam:::user/").unwrap_or(&id);
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(PolicyError::NotImplemented(format!(
                    "principal {id}: name access keys by id (or arn:aws:iam:::user/ID)"
                )));
            }
            Ok(key.to_string())
        })
        .collect::<Result<_, _>>()?;
    Ok(Principal::Keys(keys))
}

fn resource(s: &str, bucket: &str) -> Result<Resource, PolicyError> {
    let rest = s
        .strip_prefix("arn:aws:s3:::")
        .ok_or_else(|| malformed(format!("resource {s} is not an arn:aws:s3::: ARN")))?;
    let (b, key) = match rest.split_once('/') {
        Some((b, k)) => (b, Some(k)),
        None => (rest, None),
    };
    if b != bucket {
        return Err(malformed(format!("resource {s} is not in bucket {bucket}")));
    }
    let Some(key) = key else {
        return Ok(Resource::Bucket);
    };
    let (pattern, prefix) = match key.strip_suffix('*') {
        Some(p) => (p, true),
        None => (key, false),
    };
    if pattern.contains('*') || pattern.contains('?') {
        return Err(PolicyError::NotImplemented(format!(
            "resource {s}: a wildcard is supported only at the end"
        )));
    }
    Ok(Resource::Objects {
        pattern: pattern.to_string(),
        prefix,
    })
}

fn statement(v: &Value, bucket: &str) -> Result<Statement, PolicyError> {
    let m = v
        .as_object()
        .ok_or_else(|| malformed("a Statement must be an object"))?;
    for k in m.keys() {
        match k.as_str() {
            "Sid" | "Effect" | "Principal" | "Action" | "Resource" | "Condition" => {}
            "NotAction" | "NotPrincipal" | "NotResource" => {
                return Err(PolicyError::NotImplemented(format!(
                    "{k} is not supported in bucket policies"
                )));
            }
            other => return Err(malformed(format!("unknown statement element {other}"))),
        }
    }
    let effect = match m.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => return Err(malformed("Effect must be Allow or Deny")),
    };
    let principal = principal(
        m.get("Principal")
            .ok_or_else(|| malformed("a Statement needs a Principal"))?,
    )?;
    let mut actions = Vec::new();
    for a in strings(
        m.get("Action")
            .ok_or_else(|| malformed("a Statement needs an Action"))?,
        "Action",
    )? {
        actions.extend(Action::parse(&a)?);
    }
    let resources = strings(
        m.get("Resource")
            .ok_or_else(|| malformed("a Statement needs a Resource"))?,
        "Resource",
    )?
    .iter()
    .map(|r| resource(r, bucket))
    .collect::<Result<_, _>>()?;
    let conditions = match m.get("Condition") {
        Some(c) => Conditions::parse(c)?,
        None => Conditions::default(),
    };
    Ok(Statement {
        effect,
        principal,
        actions,
        resources,
        conditions,
    })
}

/// Parses `json`, a policy for `bucket`.
pub fn parse(json: &str, bucket: &str) -> Result<BucketPolicy, PolicyError> {
    let doc: Value = serde_json::from_str(json).map_err(|e| malformed(format!("not JSON: {e}")))?;
    let m = doc
        .as_object()
        .ok_or_else(|| malformed("a policy is a JSON object"))?;
    for k in m.keys() {
        match k.as_str() {
            "Version" | "Id" | "Statement" => {}
            other => return Err(malformed(format!("unknown policy element {other}"))),
        }
    }
    if let Some(v) = m.get("Version").and_then(Value::as_str)
        && v != "2012-10-17"
        && v != "2008-10-17"
    {
        return Err(malformed(format!("unknown policy version {v}")));
    }
    let statements = match m.get("Statement") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|s| statement(s, bucket))
            .collect::<Result<Vec<_>, _>>()?,
        Some(one @ Value::Object(_)) => vec![statement(one, bucket)?],
        _ => return Err(malformed("a policy needs a Statement")),
    };
    if statements.is_empty() {
        return Err(malformed("a policy needs at least one statement"));
    }
    Ok(BucketPolicy { statements })
}

impl Statement {
    fn covers(
        &self,
        cx: &RequestContext,
        who: Option<&str>,
        action: Action,
        key: Option<&str>,
    ) -> bool {
        let principal = match &self.principal {
            Principal::Anyone => true,
            Principal::Keys(keys) => who.is_some_and(|w| keys.iter().any(|k| k == w)),
        };
        let resource = self.resources.iter().any(|r| match (r, key) {
            (Resource::Bucket, None) => true,
            (Resource::Objects { pattern, prefix }, Some(k)) => {
                if *prefix {
                    k.starts_with(pattern.as_str())
                } else {
                    k == pattern
                }
            }
            _ => false,
        });
        principal && resource && self.actions.contains(&action) && self.conditions.hold(cx)
    }
}

impl BucketPolicy {
    /// Whether some Deny statement covers `who` doing `action` on any
    /// object (for requests naming their keys only in the body, such as
    /// DeleteObjects: a deny anywhere refuses the whole request).
    pub fn denies_any(&self, cx: &RequestContext, who: Option<&str>, action: Action) -> bool {
        self.statements.iter().any(|s| {
            s.effect == Effect::Deny
                && s.actions.contains(&action)
                && s.conditions.hold(cx)
                && match &s.principal {
                    Principal::Anyone => true,
                    Principal::Keys(keys) => who.is_some_and(|w| keys.iter().any(|k| k == w)),
                }
        })
    }

    /// What the policy says about `who` (None: anonymous) doing `action` on
    /// object `key` (None: the bucket itself, for listing). A matching Deny
    /// wins over any Allow. `cx` is what the request brings for conditions.
    pub fn decide(
        &self,
        cx: &RequestContext,
        who: Option<&str>,
        action: Action,
        key: Option<&str>,
    ) -> Decision {
        let mut allowed = false;
        for s in self
            .statements
            .iter()
            .filter(|s| s.covers(cx, who, action, key))
        {
            match s.effect {
                Effect::Deny => return Decision::Deny,
                Effect::Allow => allowed = true,
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::Silent
        }
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
