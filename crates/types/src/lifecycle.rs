//! A bucket's lifecycle configuration as meta stores it, AWS's rules for a
//! valid one, and the pure decisions of the lifecycle job: which objects a
//! rule covers and when an object expires or an incomplete multipart upload
//! is aborted. Times follow AWS: "N days after" means the object's creation
//! time plus N days, rounded up to the next midnight UTC.

use crate::{Tag, UnixMillis};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::limits::MAX_LIFECYCLE_RULES;
/// Longest rule id (AWS's limit).
pub const MAX_RULE_ID_LEN: usize = 255;
const DAY_MS: i64 = 86_400_000;

/// When current objects expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expiration {
    /// This many days after creation (rounded up to midnight UTC).
    Days(u32),
    /// At this instant (a midnight UTC) for every object the rule covers.
    Date(UnixMillis),
    /// No current-version expiry; a delete marker that is the only version
    /// left of its key is removed (`ExpiredObjectDeleteMarker`).
    ExpiredObjectDeleteMarker,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRule {
    pub id: Option<String>,
    pub enabled: bool,
    /// Keys the rule covers start with this.
    pub prefix: String,
    /// Only objects larger / smaller than this many bytes, when set.
    pub size_greater_than: Option<u64>,
    pub size_less_than: Option<u64>,
    /// Only objects carrying every one of these tags, when not empty.
    pub tags: Vec<Tag>,
    pub expiration: Option<Expiration>,
    /// Days a version stays after becoming noncurrent (when a newer version
    /// or delete marker took its place).
    pub noncurrent_days: Option<u32>,
    /// Days after initiation an incomplete multipart upload is aborted.
    pub abort_incomplete_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LifecycleConfiguration {
    pub rules: Vec<LifecycleRule>,
}

/// Why a configuration is refused; all are `InvalidArgument` except
/// `RuleCount`, `NoAction` and `DaysAndDate` (`MalformedXML`, as AWS).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LifecycleError {
    #[error("a lifecycle configuration holds 1 to {MAX_LIFECYCLE_RULES} rules")]
    RuleCount,
    #[error("At least one action needs to be specified in a rule")]
    NoAction,
    #[error("an Expiration action names either Days or Date, not both")]
    DaysAndDate,
    #[error("'Days' for {0} action must be a positive integer")]
    DaysNotPositive(&'static str),
    #[error("'Date' must be at midnight GMT")]
    DateNotMidnight,
    #[error("ID length should not exceed allowed limit of {MAX_RULE_ID_LEN}")]
    IdTooLong,
    #[error("Rule ID must be unique. Found same ID for more than one rule")]
    DuplicateId,
    #[error("the object size range of a rule is empty")]
    EmptySizeRange,
    /// `InvalidRequest`, as AWS.
    #[error("AbortIncompleteMultipartUpload cannot be specified with Tags.")]
    AbortWithTags,
}

impl LifecycleConfiguration {
    pub fn validate(&self) -> Result<(), LifecycleError> {
        if self.rules.is_empty() || self.rules.len() > MAX_LIFECYCLE_RULES {
            return Err(LifecycleError::RuleCount);
        }
        let mut ids = std::collections::BTreeSet::new();
        for rule in &self.rules {
            if let Some(id) = &rule.id {
                if id.chars().count() > MAX_RULE_ID_LEN {
                    return Err(LifecycleError::IdTooLong);
                }
                if !ids.insert(id.as_str()) {
                    return Err(LifecycleError::DuplicateId);
                }
            }
            if rule.expiration.is_none()
                && rule.noncurrent_days.is_none()
                && rule.abort_incomplete_days.is_none()
            {
                return Err(LifecycleError::NoAction);
            }
            match rule.expiration {
                Some(Expiration::Days(0)) => {
                    return Err(LifecycleError::DaysNotPositive("Expiration"));
                }
                Some(Expiration::Date(at)) if !is_midnight(at) => {
                    return Err(LifecycleError::DateNotMidnight);
                }
                _ => {}
            }
            if rule.noncurrent_days == Some(0) {
                return Err(LifecycleError::DaysNotPositive(
                    "NoncurrentVersionExpiration",
                ));
            }
            if rule.abort_incomplete_days == Some(0) {
                return Err(LifecycleError::DaysNotPositive(
                    "AbortIncompleteMultipartUpload",
                ));
            }
            if rule.abort_incomplete_days.is_some() && !rule.tags.is_empty() {
                return Err(LifecycleError::AbortWithTags);
            }
            if let (Some(gt), Some(lt)) = (rule.size_greater_than, rule.size_less_than)
                && lt <= gt.saturating_add(1)
            {
                return Err(LifecycleError::EmptySizeRange);
            }
        }
        Ok(())
    }
}

/// Whether `at` is a midnight UTC, as every lifecycle `Date` must be.
pub fn is_midnight(at: UnixMillis) -> bool {
    at.rem_euclid(DAY_MS) == 0
}

/// `days` days after `start`, rounded up to the next midnight UTC.
pub fn days_after(start: UnixMillis, days: u32) -> UnixMillis {
    let at = start.saturating_add(i64::from(days).saturating_mul(DAY_MS));
    let rem = at.rem_euclid(DAY_MS);
    if rem == 0 { at } else { at + (DAY_MS - rem) }
}

impl LifecycleRule {
    /// Whether the rule covers an object with this key, size and tags.
    pub fn covers(&self, key: &str, size: Option<u64>, tags: &[Tag]) -> bool {
        self.enabled
            && key.starts_with(&self.prefix)
            && self.tags.iter().all(|t| tags.contains(t))
            && self
                .size_greater_than
                .is_none_or(|gt| size.is_some_and(|s| s > gt))
            && self
                .size_less_than
                .is_none_or(|lt| size.is_some_and(|s| s < lt))
    }

    /// When a current object created at `created` expires under this rule.
    pub fn expires_at(&self, created: UnixMillis) -> Option<UnixMillis> {
        match self.expiration? {
            Expiration::Days(d) => Some(days_after(created, d)),
            Expiration::Date(at) => Some(at),
            Expiration::ExpiredObjectDeleteMarker => None,
        }
    }

    /// Whether the rule covers delete markers of `key`: markers have no size
    /// or tags, so a rule filtering by either does not.
    pub fn covers_markers(&self, key: &str) -> bool {
        self.enabled
            && key.starts_with(&self.prefix)
            && self.tags.is_empty()
            && self.size_greater_than.is_none()
            && self.size_less_than.is_none()
    }

    /// Whether the rule removes a delete marker that is its key's only
    /// version: asked with ExpiredObjectDeleteMarker, or implied (as at AWS)
    /// by an expiry in days. Markers have no size or tags, so a rule that
    /// filters by them does not cover markers.
    pub fn removes_lone_markers(&self, key: &str) -> bool {
        self.covers_markers(key)
            && matches!(
                self.expiration,
                Some(Expiration::Days(_) | Expiration::ExpiredObjectDeleteMarker)
            )
    }

    /// When an upload initiated at `initiated` is aborted under this rule.
    pub fn abort_at(&self, initiated: UnixMillis) -> Option<UnixMillis> {
        self.abort_incomplete_days.map(|d| days_after(initiated, d))
    }
}

impl LifecycleConfiguration {
    /// Whether an object with these tags is due for expiry at `now`.
    pub fn object_expired(
        &self,
        key: &str,
        size: u64,
        tags: &[Tag],
        created: UnixMillis,
        now: UnixMillis,
    ) -> bool {
        self.rules.iter().any(|r| {
            r.covers(key, Some(size), tags) && r.expires_at(created).is_some_and(|at| at <= now)
        })
    }

    /// Whether a version that became noncurrent at `noncurrent_since` is due
    /// for removal at `now`.
    pub fn noncurrent_expired(
        &self,
        key: &str,
        size: u64,
        tags: &[Tag],
        noncurrent_since: UnixMillis,
        now: UnixMillis,
    ) -> bool {
        self.rules.iter().any(|r| {
            r.covers(key, Some(size), tags)
                && r.noncurrent_days
                    .is_some_and(|d| days_after(noncurrent_since, d) <= now)
        })
    }

    /// Whether a noncurrent delete marker (no size, no tags: rules filtering
    /// by either do not cover it) is due for removal at `now`.
    pub fn noncurrent_marker_expired(
        &self,
        key: &str,
        noncurrent_since: UnixMillis,
        now: UnixMillis,
    ) -> bool {
        self.rules.iter().any(|r| {
            r.covers_markers(key)
                && r.noncurrent_days
                    .is_some_and(|d| days_after(noncurrent_since, d) <= now)
        })
    }

    /// Whether a delete marker that is the only version of `key` goes.
    pub fn lone_marker_expired(&self, key: &str) -> bool {
        self.rules.iter().any(|r| r.removes_lone_markers(key))
    }

    /// Whether some enabled rule filters by tags (then the job reads tags).
    pub fn filters_by_tags(&self) -> bool {
        self.rules.iter().any(|r| r.enabled && !r.tags.is_empty())
    }

    /// Whether an incomplete multipart upload is due for abortion at `now`
    /// (size filters do not apply to uploads, which have no size yet).
    pub fn upload_expired(&self, key: &str, initiated: UnixMillis, now: UnixMillis) -> bool {
        self.rules.iter().any(|r| {
            r.enabled
                && key.starts_with(&r.prefix)
                && r.abort_at(initiated).is_some_and(|at| at <= now)
        })
    }

    /// Whether any rule could act on objects, versions or uploads at all.
    pub fn has_work(&self) -> bool {
        self.rules.iter().any(|r| {
            r.enabled
                && (r.expiration.is_some()
                    || r.noncurrent_days.is_some()
                    || r.abort_incomplete_days.is_some())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> LifecycleRule {
        LifecycleRule {
            id: Some("r".into()),
            enabled: true,
            prefix: "logs/".into(),
            size_greater_than: None,
            size_less_than: None,
            tags: Vec::new(),
            expiration: Some(Expiration::Days(1)),
            noncurrent_days: None,
            abort_incomplete_days: Some(2),
        }
    }

    #[test]
    fn days_round_up_to_midnight_utc() {
        assert_eq!(days_after(0, 1), DAY_MS);
        assert_eq!(days_after(1, 1), 2 * DAY_MS);
        assert_eq!(days_after(DAY_MS - 1, 2), 3 * DAY_MS);
    }

    #[test]
    fn expiry_follows_prefix_size_and_status() {
        let mut cfg = LifecycleConfiguration {
            rules: vec![rule()],
        };
        let created = 10 * DAY_MS + 5;
        assert!(!cfg.object_expired("logs/a", 1, &[], created, 11 * DAY_MS + 5));
        assert!(cfg.object_expired("logs/a", 1, &[], created, 12 * DAY_MS));
        assert!(!cfg.object_expired("data/a", 1, &[], created, 99 * DAY_MS));
        assert!(cfg.upload_expired("logs/u", created, 13 * DAY_MS));
        assert!(!cfg.upload_expired("logs/u", created, 12 * DAY_MS));
        cfg.rules[0].size_greater_than = Some(100);
        assert!(!cfg.object_expired("logs/a", 100, &[], created, 99 * DAY_MS));
        assert!(cfg.object_expired("logs/a", 101, &[], created, 99 * DAY_MS));
        cfg.rules[0].enabled = false;
        assert!(!cfg.object_expired("logs/a", 101, &[], created, 99 * DAY_MS));
        assert!(!cfg.has_work());
        let dated = LifecycleRule {
            expiration: Some(Expiration::Date(20 * DAY_MS)),
            ..rule()
        };
        assert_eq!(dated.expires_at(0), Some(20 * DAY_MS));
    }

    #[test]
    fn tag_filters_need_every_tag() {
        let tag = |k: &str, v: &str| Tag {
            key: k.into(),
            value: v.into(),
        };
        let cfg = LifecycleConfiguration {
            rules: vec![LifecycleRule {
                tags: vec![tag("tier", "tmp"), tag("team", "a")],
                abort_incomplete_days: None,
                ..rule()
            }],
        };
        assert!(cfg.filters_by_tags());
        let late = 99 * DAY_MS;
        let both = [tag("team", "a"), tag("x", "y"), tag("tier", "tmp")];
        assert!(cfg.object_expired("logs/a", 1, &both, 0, late));
        assert!(!cfg.object_expired("logs/a", 1, &both[..2], 0, late));
        let other = [tag("tier", "other"), tag("team", "a")];
        assert!(!cfg.object_expired("logs/a", 1, &other, 0, late));
        let with_abort = LifecycleConfiguration {
            rules: vec![LifecycleRule {
                tags: vec![tag("tier", "tmp")],
                ..rule()
            }],
        };
        assert_eq!(with_abort.validate(), Err(LifecycleError::AbortWithTags));
    }

    #[test]
    fn noncurrent_versions_and_lone_markers() {
        let mut r = rule();
        r.expiration = None;
        r.noncurrent_days = Some(2);
        let cfg = LifecycleConfiguration { rules: vec![r] };
        assert!(cfg.has_work());
        let since = 5 * DAY_MS + 1;
        assert!(!cfg.noncurrent_expired("logs/a", 1, &[], since, 7 * DAY_MS - 1));
        assert!(cfg.noncurrent_expired("logs/a", 1, &[], since, 8 * DAY_MS));
        assert!(!cfg.noncurrent_expired("other", 1, &[], since, 8 * DAY_MS));
        assert!(
            !cfg.lone_marker_expired("logs/a"),
            "no expiration: markers stay"
        );
        let mut by_flag = rule();
        by_flag.expiration = Some(Expiration::ExpiredObjectDeleteMarker);
        let mut by_days = rule();
        by_days.expiration = Some(Expiration::Days(3));
        let mut by_date = rule();
        by_date.expiration = Some(Expiration::Date(DAY_MS));
        for (r, removes) in [(by_flag, true), (by_days, true), (by_date, false)] {
            let cfg = LifecycleConfiguration {
                rules: vec![r.clone()],
            };
            assert_eq!(cfg.lone_marker_expired("logs/x"), removes, "{r:?}");
            assert!(!cfg.lone_marker_expired("other"));
            let mut sized = r;
            sized.size_greater_than = Some(1);
            assert!(
                !sized.removes_lone_markers("logs/x"),
                "markers have no size"
            );
            sized.noncurrent_days = Some(1);
            let cfg = LifecycleConfiguration {
                rules: vec![sized.clone()],
            };
            assert!(!cfg.noncurrent_marker_expired("logs/x", 0, 9 * DAY_MS));
            sized.size_greater_than = None;
            let cfg = LifecycleConfiguration { rules: vec![sized] };
            assert!(cfg.noncurrent_marker_expired("logs/x", 0, 9 * DAY_MS));
            assert!(!cfg.noncurrent_marker_expired("logs/x", 0, DAY_MS - 1));
        }
    }

    #[test]
    fn validation_follows_aws() {
        let ok = LifecycleConfiguration {
            rules: vec![rule()],
        };
        assert_eq!(ok.validate(), Ok(()));
        let with = |f: fn(&mut LifecycleRule)| {
            let mut r = rule();
            f(&mut r);
            LifecycleConfiguration { rules: vec![r] }.validate()
        };
        assert_eq!(
            with(|r| r.expiration = Some(Expiration::Days(0))),
            Err(LifecycleError::DaysNotPositive("Expiration"))
        );
        assert_eq!(
            with(|r| r.expiration = Some(Expiration::Date(DAY_MS + 1))),
            Err(LifecycleError::DateNotMidnight)
        );
        assert_eq!(
            with(|r| {
                r.expiration = None;
                r.abort_incomplete_days = None;
            }),
            Err(LifecycleError::NoAction)
        );
        assert_eq!(
            with(|r| r.id = Some("x".repeat(MAX_RULE_ID_LEN + 1))),
            Err(LifecycleError::IdTooLong)
        );
        assert_eq!(
            LifecycleConfiguration {
                rules: vec![rule(), rule()]
            }
            .validate(),
            Err(LifecycleError::DuplicateId)
        );
        assert_eq!(
            LifecycleConfiguration::default().validate(),
            Err(LifecycleError::RuleCount)
        );
    }
}
