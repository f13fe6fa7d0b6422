//! A secret as stored (`secrets/<name>`): its metadata, tags, lifecycle and the list of its versions with their
//! staging labels. The values themselves are kept apart, one sealed value per version
//! (`secret-values/<name>/<version id>`, see [`super::store`]), so this record never holds a value, sealed or not.
//!
//! The transitions here are pure (no store, no clock): adding a version moves staging labels as Secrets Manager does
//! (the new `AWSCURRENT` demotes the old one to `AWSPREVIOUS`), labels move between versions with
//! UpdateSecretVersionStage's rules, versions without labels beyond [`MAX_VERSIONS`] are dropped oldest first, and a
//! secret is scheduled for deletion and restored.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{invalid_parameter, invalid_request, marked_for_deletion};
use crate::error::{ApiError, ApiResult, ErrorCode};

/// The label of the version GetSecretValue returns by default.
pub const AWSCURRENT: &str = "AWSCURRENT";
/// The label the previous `AWSCURRENT` version gets when a new version becomes current.
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";

/// The most versions a secret keeps: beyond it, versions without staging labels (deprecated) are dropped, oldest
/// first. (Secrets Manager also spares versions younger than 24 hours; Berth does not.)
pub const MAX_VERSIONS: usize = 100;

/// The most tags a secret carries.
pub const MAX_TAGS: usize = 50;

/// Seconds in a day.
pub const DAY: f64 = 86_400.0;

/// What a version holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValueKind {
    /// `SecretString`: UTF-8 text.
    String,
    /// `SecretBinary`: bytes, sent base64-encoded.
    Binary,
}

/// Where a secret is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status")]
pub enum Lifecycle {
    Active,
    /// DeleteSecret with a recovery window: reads are refused until RestoreSecret, and after `purge_after` the
    /// secret and its versions are removed.
    ScheduledForDeletion {
        /// When DeleteSecret was called (DescribeSecret's `DeletedDate`).
        deleted_date: f64,
        /// `DeletedDate` plus the recovery window (DeleteSecret's `DeletionDate`).
        purge_after: f64,
    },
}

/// A tag as Secrets Manager lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value")]
    pub value: String,
}

/// One version of a secret, without its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionMeta {
    pub id: String,
    pub created_date: f64,
    /// Staging labels, in the order they were attached.
    #[serde(default)]
    pub stages: Vec<String>,
    pub kind: ValueKind,
}

/// A secret as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretRecord {
    pub name: String,
    /// `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random alphanumerics>`.
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub created_date: f64,
    pub last_changed_date: f64,
    /// The day (midnight UTC) a value was last read, as Secrets Manager reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_accessed_date: Option<f64>,
    /// Oldest first.
    #[serde(default)]
    pub versions: Vec<VersionMeta>,
    pub lifecycle: Lifecycle,
}

/// A version being added: its id (the ClientRequestToken), what it holds and the labels it is to carry.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVersion {
    pub id: String,
    pub kind: ValueKind,
    pub stages: Vec<String>,
}

impl SecretRecord {
    pub fn new(name: &str, arn: String, description: Option<String>, tags: Vec<Tag>, now: f64) -> SecretRecord {
        SecretRecord {
            name: name.to_owned(),
            arn,
            description,
            tags,
            created_date: now,
            last_changed_date: now,
            last_accessed_date: None,
            versions: Vec::new(),
            lifecycle: Lifecycle::Active,
        }
    }

    /// Whether the secret is scheduled for deletion.
    pub fn is_scheduled_for_deletion(&self) -> bool {
        matches!(self.lifecycle, Lifecycle::ScheduledForDeletion { .. })
    }

    /// Whether the recovery window of a scheduled deletion has passed at `now`: the secret is gone.
    pub fn is_expired(&self, now: f64) -> bool {
        matches!(self.lifecycle, Lifecycle::ScheduledForDeletion { purge_after, .. } if purge_after <= now)
    }

    /// Refuses what a secret scheduled for deletion does not allow (reading its value, changing it).
    pub fn ensure_active(&self) -> ApiResult<()> {
        if self.is_scheduled_for_deletion() { Err(marked_for_deletion()) } else { Ok(()) }
    }

    pub fn version(&self, id: &str) -> Option<&VersionMeta> {
        self.versions.iter().find(|v| v.id == id)
    }

    /// The version carrying `stage`.
    pub fn holder_of(&self, stage: &str) -> Option<&VersionMeta> {
        self.versions.iter().find(|v| v.stages.iter().any(|s| s == stage))
    }

    /// The version GetSecretValue names: by id, by staging label, or both (which must agree); `AWSCURRENT` when
    /// neither is given.
    pub fn select(&self, version_id: Option<&str>, stage: Option<&str>) -> ApiResult<&VersionMeta> {
        match (version_id, stage) {
            (Some(id), stage) => {
                let v = self.version(id).ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::ResourceNotFoundException,
                        format!("Secrets Manager can't find the specified secret value for VersionId: {id}"),
                    )
                })?;
                if let Some(stage) = stage
                    && !v.stages.iter().any(|s| s == stage)
                {
                    return Err(invalid_request(
                        "You provided a VersionStage that is not associated to the provided VersionId.",
                    ));
                }
                Ok(v)
            }
            (None, stage) => {
                let stage = stage.unwrap_or(AWSCURRENT);
                self.holder_of(stage).ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::ResourceNotFoundException,
                        format!("Secrets Manager can't find the specified secret value for staging label: {stage}"),
                    )
                })
            }
        }
    }

    /// Adds a version carrying `new.stages` (taken from the versions that had them); when it takes `AWSCURRENT`,
    /// the version that had it becomes `AWSPREVIOUS`. Returns the ids of the versions dropped to stay within
    /// [`MAX_VERSIONS`] (their values are to be deleted).
    pub fn add_version(&mut self, new: NewVersion, now: f64) -> Vec<String> {
        let previous_current = if new.stages.iter().any(|s| s == AWSCURRENT) {
            self.holder_of(AWSCURRENT).map(|v| v.id.clone())
        } else {
            None
        };
        for v in &mut self.versions {
            v.stages.retain(|s| !new.stages.contains(s));
        }
        if let Some(previous) = previous_current {
            self.attach_previous(&previous);
        }
        self.versions.push(VersionMeta { id: new.id, created_date: now, stages: new.stages, kind: new.kind });
        self.last_changed_date = now;
        self.prune()
    }

    /// Moves `AWSPREVIOUS` to the version `id`.
    fn attach_previous(&mut self, id: &str) {
        for v in &mut self.versions {
            v.stages.retain(|s| s != AWSPREVIOUS);
            if v.id == id {
                v.stages.push(AWSPREVIOUS.to_owned());
            }
        }
    }

    /// Drops the oldest versions without labels while there are more than [`MAX_VERSIONS`].
    fn prune(&mut self) -> Vec<String> {
        let mut dropped = Vec::new();
        while self.versions.len() > MAX_VERSIONS {
            let Some(i) = self.versions.iter().position(|v| v.stages.is_empty()) else { break };
            dropped.push(self.versions.remove(i).id);
        }
        dropped
    }

    /// UpdateSecretVersionStage: detaches `stage` from `remove_from` and/or attaches it to `move_to`. A label
    /// attached elsewhere must be named in `remove_from` to move; `AWSCURRENT` cannot be removed without moving,
    /// and where it moves from becomes `AWSPREVIOUS`.
    pub fn move_stage(
        &mut self,
        stage: &str,
        remove_from: Option<&str>,
        move_to: Option<&str>,
        now: f64,
    ) -> ApiResult<()> {
        for (field, id) in [("RemoveFromVersionId", remove_from), ("MoveToVersionId", move_to)] {
            if let Some(id) = id
                && self.version(id).is_none()
            {
                return Err(invalid_parameter(format!("{field}: {id} is not a version of this secret.")));
            }
        }
        let holder = self.holder_of(stage).map(|v| v.id.clone());
        if let Some(from) = remove_from
            && holder.as_deref() != Some(from)
        {
            return Err(invalid_parameter(format!(
                "RemoveFromVersionId: the staging label {stage} is not attached to version {from}."
            )));
        }
        match (move_to, holder.as_deref()) {
            (None, _) if stage == AWSCURRENT => {
                return Err(invalid_parameter(
                    "You can't remove the staging label AWSCURRENT without moving it: give MoveToVersionId too.",
                ));
            }
            (Some(to), Some(h)) if h != to && remove_from.is_none() => {
                return Err(invalid_parameter(format!(
                    "The parameter RemoveFromVersionId can't be empty. Staging label {stage} is currently attached to \
                     version {h}, so you must explicitly reference that version in RemoveFromVersionId."
                )));
            }
            (Some(to), Some(h)) if h == to => return Ok(()),
            _ => {}
        }
        for v in &mut self.versions {
            v.stages.retain(|s| s != stage);
            if Some(v.id.as_str()) == move_to {
                v.stages.push(stage.to_owned());
            }
        }
        if stage == AWSCURRENT
            && let (Some(from), Some(to)) = (holder.as_deref(), move_to)
        {
            self.attach_previous(from);
            if let Some(v) = self.versions.iter_mut().find(|v| v.id == to) {
                v.stages.retain(|s| s != AWSPREVIOUS);
            }
        }
        self.last_changed_date = now;
        Ok(())
    }

    /// DeleteSecret with a recovery window of `days`.
    pub fn schedule_deletion(&mut self, days: u32, now: f64) -> ApiResult<f64> {
        self.ensure_active()?;
        let purge_after = now + f64::from(days) * DAY;
        self.lifecycle = Lifecycle::ScheduledForDeletion { deleted_date: now, purge_after };
        Ok(purge_after)
    }

    /// RestoreSecret: cancels a scheduled deletion (a secret that is not scheduled stays as it is).
    pub fn restore(&mut self, now: f64) {
        if self.is_scheduled_for_deletion() {
            self.lifecycle = Lifecycle::Active;
            self.last_changed_date = now;
        }
    }

    /// Adds or replaces tags; more than [`MAX_TAGS`] in all is refused.
    pub fn add_tags(&mut self, tags: &[Tag], now: f64) -> ApiResult<()> {
        for tag in tags {
            match self.tags.iter_mut().find(|t| t.key == tag.key) {
                Some(t) => t.value = tag.value.clone(),
                None => self.tags.push(tag.clone()),
            }
        }
        if self.tags.len() > MAX_TAGS {
            return Err(invalid_parameter(format!(
                "Tags: a secret can have at most {MAX_TAGS} tags; this request would leave it with {}.",
                self.tags.len()
            )));
        }
        self.last_changed_date = now;
        Ok(())
    }

    pub fn remove_tags(&mut self, keys: &[String], now: f64) {
        let before = self.tags.len();
        self.tags.retain(|t| !keys.contains(&t.key));
        if self.tags.len() != before {
            self.last_changed_date = now;
        }
    }

    /// Version id -> staging labels, for the versions that have labels.
    pub fn versions_to_stages(&self) -> serde_json::Map<String, Value> {
        self.versions.iter().filter(|v| !v.stages.is_empty()).map(|v| (v.id.clone(), json!(v.stages))).collect()
    }

    /// The secret as DescribeSecret shows it (`VersionIdsToStages`) or ListSecrets (`SecretVersionsToStages`);
    /// never its values.
    pub fn present(&self, versions_member: &str) -> Value {
        let mut out = json!({
            "ARN": self.arn,
            "Name": self.name,
            "Description": self.description,
            "RotationEnabled": false,
            "LastChangedDate": self.last_changed_date,
            "LastAccessedDate": self.last_accessed_date,
            "Tags": self.tags,
            "CreatedDate": self.created_date,
        });
        if let Lifecycle::ScheduledForDeletion { deleted_date, .. } = self.lifecycle {
            out["DeletedDate"] = json!(deleted_date);
        }
        out[versions_member] = Value::Object(self.versions_to_stages());
        out
    }
}

/// Midnight (UTC) of the day `now` falls in.
pub fn day_of(now: f64) -> f64 {
    (now / DAY).floor() * DAY
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretRecord {
        SecretRecord::new(
            "db",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf".into(),
            None,
            vec![],
            1.0,
        )
    }

    fn put(s: &mut SecretRecord, id: &str, stages: &[&str]) -> Vec<String> {
        let new = NewVersion {
            id: id.into(),
            kind: ValueKind::String,
            stages: stages.iter().map(|s| s.to_string()).collect(),
        };
        s.add_version(new, 2.0)
    }

    fn stages(s: &SecretRecord, id: &str) -> Vec<String> {
        s.version(id).unwrap().stages.clone()
    }

    #[test]
    fn a_new_current_version_demotes_the_old_one_to_previous() {
        let mut s = secret();
        put(&mut s, "v1", &[AWSCURRENT]);
        put(&mut s, "v2", &[AWSCURRENT]);
        assert_eq!(stages(&s, "v1"), [AWSPREVIOUS]);
        assert_eq!(stages(&s, "v2"), [AWSCURRENT]);
        put(&mut s, "v3", &[AWSCURRENT]);
        assert!(stages(&s, "v1").is_empty(), "deprecated");
        assert_eq!(stages(&s, "v2"), [AWSPREVIOUS]);
        assert_eq!(s.select(None, None).unwrap().id, "v3");
        assert_eq!(s.select(None, Some(AWSPREVIOUS)).unwrap().id, "v2");
        assert_eq!(s.versions_to_stages().len(), 2, "deprecated versions are not listed");
    }

    #[test]
    fn explicit_stages_leave_the_current_version_alone() {
        let mut s = secret();
        put(&mut s, "v1", &[AWSCURRENT]);
        put(&mut s, "v2", &["AWSPENDING"]);
        assert_eq!(stages(&s, "v1"), [AWSCURRENT]);
        put(&mut s, "v3", &["AWSPENDING", "blue"]);
        assert!(stages(&s, "v2").is_empty(), "a label moves to the new version");
        assert_eq!(stages(&s, "v3"), ["AWSPENDING", "blue"]);
    }

    #[test]
    fn selecting_versions() {
        let mut s = secret();
        assert_eq!(s.select(None, None).unwrap_err().code, ErrorCode::ResourceNotFoundException, "no value yet");
        put(&mut s, "v1", &[AWSCURRENT]);
        assert_eq!(s.select(Some("v1"), Some(AWSCURRENT)).unwrap().id, "v1");
        let e = s.select(Some("v1"), Some(AWSPREVIOUS)).unwrap_err();
        assert_eq!(e.code, ErrorCode::Service("InvalidRequestException"));
        let e = s.select(Some("nope"), None).unwrap_err();
        assert!(e.message.contains("VersionId"), "{}", e.message);
        let e = s.select(None, Some("blue")).unwrap_err();
        assert!(e.message.contains("staging label: blue"), "{}", e.message);
    }

    #[test]
    fn deprecated_versions_beyond_the_limit_are_dropped_oldest_first() {
        let mut s = secret();
        let mut dropped = vec![];
        for i in 0..MAX_VERSIONS + 3 {
            dropped.extend(put(&mut s, &format!("v{i}"), &[AWSCURRENT]));
        }
        assert_eq!(s.versions.len(), MAX_VERSIONS);
        assert_eq!(dropped, ["v0", "v1", "v2"]);
        assert_eq!(s.select(None, None).unwrap().id, format!("v{}", MAX_VERSIONS + 2));
    }

    #[test]
    fn moving_labels() {
        let mut s = secret();
        put(&mut s, "v1", &[AWSCURRENT]);
        put(&mut s, "v2", &[AWSCURRENT]);
        // AWSCURRENT back to v1: v2 becomes AWSPREVIOUS.
        let e = s.move_stage(AWSCURRENT, None, Some("v1"), 3.0).unwrap_err();
        assert!(e.message.contains("RemoveFromVersionId"), "{}", e.message);
        s.move_stage(AWSCURRENT, Some("v2"), Some("v1"), 3.0).unwrap();
        assert_eq!(stages(&s, "v1"), [AWSCURRENT]);
        assert_eq!(stages(&s, "v2"), [AWSPREVIOUS]);
        assert!(s.move_stage(AWSCURRENT, Some("v1"), None, 3.0).is_err(), "AWSCURRENT cannot just be removed");
        assert!(s.move_stage(AWSCURRENT, Some("v2"), Some("v1"), 3.0).is_err(), "v2 does not carry it");
        assert!(s.move_stage("blue", None, Some("zzz"), 3.0).is_err(), "unknown version");
        // A free label attaches without RemoveFromVersionId, and is removed alone.
        s.move_stage("blue", None, Some("v2"), 3.0).unwrap();
        assert_eq!(stages(&s, "v2"), [AWSPREVIOUS, "blue"]);
        s.move_stage("blue", Some("v2"), None, 3.0).unwrap();
        assert_eq!(stages(&s, "v2"), [AWSPREVIOUS]);
        // Moving onto the version that has it is a no-op.
        s.move_stage(AWSCURRENT, None, Some("v1"), 3.0).unwrap();
        assert_eq!(stages(&s, "v1"), [AWSCURRENT]);
    }

    #[test]
    fn deletion_and_restore() {
        let mut s = secret();
        let after = s.schedule_deletion(7, 100.0).unwrap();
        assert_eq!(after, 100.0 + 7.0 * DAY);
        assert!(s.ensure_active().is_err());
        assert!(s.schedule_deletion(7, 100.0).is_err(), "already scheduled");
        assert!(!s.is_expired(after - 1.0));
        assert!(s.is_expired(after));
        s.restore(200.0);
        assert!(s.ensure_active().is_ok());
        assert!(!s.is_expired(f64::MAX));
        let shown = s.present("VersionIdsToStages");
        assert!(shown.get("DeletedDate").is_none());
    }

    #[test]
    fn tags_replace_by_key_and_are_bounded() {
        let mut s = secret();
        let tag = |k: &str, v: &str| Tag { key: k.into(), value: v.into() };
        s.add_tags(&[tag("a", "1"), tag("b", "2")], 1.0).unwrap();
        s.add_tags(&[tag("a", "3")], 1.0).unwrap();
        assert_eq!(s.tags, [tag("a", "3"), tag("b", "2")]);
        s.remove_tags(&["a".into(), "zz".into()], 1.0);
        assert_eq!(s.tags, [tag("b", "2")]);
        let many: Vec<Tag> = (0..MAX_TAGS).map(|i| tag(&format!("k{i}"), "")).collect();
        assert!(s.add_tags(&many, 1.0).is_err());
    }

    #[test]
    fn days_start_at_midnight() {
        assert_eq!(day_of(DAY * 3.0 + 5.0), DAY * 3.0);
    }
}
