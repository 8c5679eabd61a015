//! A bucket's CORS configuration as meta stores it, AWS's rules for a valid
//! one, and how a browser request (origin, method, headers) is matched
//! against it: the first rule that allows all three wins. Pure; the gateway
//! turns a match into `Access-Control-*` headers.

use crate::limits::MAX_CORS_RULES;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Methods a rule may allow (AWS's list).
pub const CORS_METHODS: [&str; 5] = ["GET", "PUT", "HEAD", "POST", "DELETE"];

/// One CORS rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorsRule {
    pub id: Option<String>,
    /// Origins, each with at most one `*` wildcard.
    pub allowed_origins: Vec<String>,
    /// Upper-case HTTP methods from `CORS_METHODS`.
    pub allowed_methods: Vec<String>,
    /// Request headers a preflight may ask for, each with at most one `*`.
    pub allowed_headers: Vec<String>,
    /// Response headers the browser may expose to scripts.
    pub expose_headers: Vec<String>,
    pub max_age_seconds: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CorsConfiguration {
    pub rules: Vec<CorsRule>,
}

/// Why a configuration is refused (S3 answers these as `MalformedXML` or
/// `InvalidRequest`, see the variants).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CorsError {
    /// `MalformedXML`.
    #[error("a CORS configuration holds 1 to {MAX_CORS_RULES} rules")]
    RuleCount,
    /// `MalformedXML`.
    #[error("every CORS rule needs at least one AllowedOrigin and one AllowedMethod")]
    MissingOriginOrMethod,
    /// `InvalidRequest`.
    #[error("Found unsupported HTTP method in CORS config. Unsupported method is {0}")]
    UnsupportedMethod(String),
    /// `InvalidRequest`.
    #[error("AllowedOrigin \"{0}\" can not have more than one wildcard.")]
    OriginWildcards(String),
    /// `InvalidRequest`.
    #[error("AllowedHeader \"{0}\" can not have more than one wildcard.")]
    HeaderWildcards(String),
}

impl CorsConfiguration {
    pub fn validate(&self) -> Result<(), CorsError> {
        if self.rules.is_empty() || self.rules.len() > MAX_CORS_RULES {
            return Err(CorsError::RuleCount);
        }
        for rule in &self.rules {
            if rule.allowed_origins.is_empty() || rule.allowed_methods.is_empty() {
                return Err(CorsError::MissingOriginOrMethod);
            }
            if let Some(m) = rule
                .allowed_methods
                .iter()
                .find(|m| !CORS_METHODS.contains(&m.as_str()))
            {
                return Err(CorsError::UnsupportedMethod(m.clone()));
            }
            if let Some(o) = rule
                .allowed_origins
                .iter()
                .find(|o| o.matches('*').count() > 1)
            {
                return Err(CorsError::OriginWildcards(o.clone()));
            }
            if let Some(h) = rule
                .allowed_headers
                .iter()
                .find(|h| h.matches('*').count() > 1)
            {
                return Err(CorsError::HeaderWildcards(h.clone()));
            }
        }
        Ok(())
    }

    /// The first rule allowing `origin` to use `method` with every one of
    /// `request_headers` (header names match case-insensitively).
    pub fn find_rule(
        &self,
        origin: &str,
        method: &str,
        request_headers: &[String],
    ) -> Option<&CorsRule> {
        self.rules.iter().find(|rule| {
            rule.allowed_origins
                .iter()
                .any(|o| wildcard_match(o, origin))
                && rule.allowed_methods.iter().any(|m| m == method)
                && request_headers.iter().all(|h| {
                    rule.allowed_headers
                        .iter()
                        .any(|a| wildcard_match(&a.to_ascii_lowercase(), &h.to_ascii_lowercase()))
                })
        })
    }
}

impl CorsRule {
    /// Whether the rule allows any origin (`*`): then the answer names `*`
    /// rather than the origin, and no credentials.
    pub fn any_origin(&self) -> bool {
        self.allowed_origins.iter().any(|o| o == "*")
    }
}

/// `pattern` with at most one `*` standing for any run of characters.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((prefix, suffix)) => {
            text.len() >= prefix.len() + suffix.len()
                && text.starts_with(prefix)
                && text.ends_with(suffix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CorsRule {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
        CorsRule {
            id: None,
            allowed_origins: v(origins),
            allowed_methods: v(methods),
            allowed_headers: v(headers),
            expose_headers: Vec::new(),
            max_age_seconds: None,
        }
    }

    #[test]
    fn validation_follows_aws() {
        let ok = CorsConfiguration {
            rules: vec![rule(&["https://*.example.com"], &["GET", "PUT"], &["*"])],
        };
        assert_eq!(ok.validate(), Ok(()));
        assert_eq!(
            CorsConfiguration::default().validate(),
            Err(CorsError::RuleCount)
        );
        let bad = |r| CorsConfiguration { rules: vec![r] }.validate();
        assert_eq!(
            bad(rule(&["*"], &["PATCH"], &[])),
            Err(CorsError::UnsupportedMethod("PATCH".into()))
        );
        assert_eq!(
            bad(rule(&[], &["GET"], &[])),
            Err(CorsError::MissingOriginOrMethod)
        );
        assert!(matches!(
            bad(rule(&["https://*.*.com"], &["GET"], &[])),
            Err(CorsError::OriginWildcards(_))
        ));
        assert!(matches!(
            bad(rule(&["*"], &["GET"], &["x-*-*"])),
            Err(CorsError::HeaderWildcards(_))
        ));
        let many = CorsConfiguration {
            rules: vec![rule(&["*"], &["GET"], &[]); MAX_CORS_RULES + 1],
        };
        assert_eq!(many.validate(), Err(CorsError::RuleCount));
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let cfg = CorsConfiguration {
            rules: vec![
                rule(
                    &["https://app.example.com"],
                    &["PUT"],
                    &["content-type", "x-amz-*"],
                ),
                rule(&["*"], &["GET", "HEAD"], &[]),
            ],
        };
        let h = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let put = cfg.find_rule(
            "https://app.example.com",
            "PUT",
            &h(&["Content-Type", "X-Amz-Date"]),
        );
        assert_eq!(put, Some(&cfg.rules[0]));
        assert_eq!(
            cfg.find_rule("https://app.example.com", "PUT", &h(&["authorization"])),
            None,
            "a header no rule allows"
        );
        assert_eq!(cfg.find_rule("https://evil.example", "PUT", &[]), None);
        let get = cfg.find_rule("https://anyone.example", "GET", &[]);
        assert!(get.is_some_and(CorsRule::any_origin));
        assert_eq!(cfg.find_rule("https://anyone.example", "DELETE", &[]), None);
    }

    #[test]
    fn wildcards_stand_for_any_run() {
        assert!(wildcard_match(
            "https://*.example.com",
            "https://a.b.example.com"
        ));
        assert!(!wildcard_match(
            "https://*.example.com",
            "https://example.com"
        ));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("x-amz-*", "x-amz-date"));
        assert!(!wildcard_match("ab*ba", "aba"));
    }
}
