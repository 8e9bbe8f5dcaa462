//! Incidents: one per distinct secret (by fingerprint), however many places hold it.
//!
//! Findings answer "where is a token in this text"; an audit needs "how many secrets
//! leaked, which are still in HEAD, since when, and what do I do now". An incident
//! gathers every finding of one fingerprint as its `locations`, the verdict once, and for
//! history scans the facts [`crate::source::git::facts`] worked out: first and last
//! commit, whether HEAD still holds it, where HEAD's line dropped it, which refs still
//! reach it and for how long it has been exposed.

use crate::finding::Finding;
use crate::source::git::facts::SecretHistory;
use crate::verify::Verdict;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One place an incident's secret was found.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "IncidentLocation")]
pub struct Location {
    /// `None` for a commit or tag message.
    pub path: Option<String>,
    pub line: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
}

/// Where a history scan found the secret as a whole. Serialised flat into the incident;
/// present for history scans only.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HistoryFields {
    pub first_commit: Option<String>,
    pub first_date: Option<String>,
    pub last_commit: Option<String>,
    pub last_date: Option<String>,
    pub in_head: bool,
    pub removed_in: Option<String>,
    pub removed_date: Option<String>,
    pub reachable_from: Vec<String>,
    /// Whole days from `first_date` to the removal from HEAD, or to the scan when HEAD
    /// still holds it or HEAD's line never did.
    pub exposure_days: Option<u64>,
}

/// One distinct secret.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Incident {
    pub fingerprint: String,
    pub rule: String,
    pub rule_name: String,
    pub provider: String,
    /// Redacted unless `--show-secrets`.
    pub secret: String,
    pub locations: Vec<Location>,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryFields>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

impl Incident {
    pub fn is_live(&self) -> bool {
        self.verdict.as_ref().is_some_and(Verdict::is_live)
    }

    /// Where it is now, in words: `in HEAD`, `history only (removed in abc123)`,
    /// `only on refs/heads/x`.
    pub fn whereabouts(&self) -> String {
        let Some(h) = &self.history else {
            return "in the scanned files".into();
        };
        if h.in_head {
            return "in HEAD".into();
        }
        match &h.removed_in {
            Some(c) => format!("history only (removed from HEAD in {})", super::short(c)),
            None if h.reachable_from.is_empty() => {
                "history only (no ref reaches it: dangling objects)".into()
            }
            None => format!(
                "never on HEAD's line: only on {}",
                h.reachable_from.join(", ")
            ),
        }
    }
}

/// Incidents from a report's (active) findings: live first, then those HEAD still
/// holds, then in order of first appearance.
pub fn incidents<'a>(
    findings: impl Iterator<Item = &'a Finding>,
    history: &BTreeMap<String, SecretHistory>,
    is_history_scan: bool,
    now: i64,
    show_secrets: bool,
) -> Vec<Incident> {
    let mut order: Vec<Incident> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for f in findings {
        let location = Location {
            path: f.path.clone(),
            line: f.line,
            commit: f.commit.as_ref().map(|c| c.commit.clone()),
            date: f.commit.as_ref().map(|c| c.date.clone()),
            author: f.commit.as_ref().map(|c| c.author.clone()),
            blob: f.blob.clone(),
        };
        if let Some(&i) = index.get(&f.fingerprint) {
            let incident = &mut order[i];
            incident.locations.push(location);
            if incident.verdict.is_none() {
                incident.verdict = f.verdict.clone();
            }
            continue;
        }
        index.insert(f.fingerprint.clone(), order.len());
        let secret = if show_secrets && !f.secret.is_empty() {
            f.secret.expose().to_string()
        } else {
            f.secret.redacted()
        };
        order.push(Incident {
            fingerprint: f.fingerprint.clone(),
            rule: f.rule.id.clone(),
            rule_name: f.rule.name.clone(),
            provider: f.rule.provider.clone(),
            secret,
            locations: vec![location],
            history: None,
            verdict: f.verdict.clone(),
        });
    }
    if is_history_scan {
        for incident in &mut order {
            incident.history = Some(history_fields(
                incident,
                history.get(&incident.fingerprint),
                now,
            ));
        }
    }
    let mut keyed: Vec<(usize, Incident)> = order.into_iter().enumerate().collect();
    keyed.sort_by_key(|(n, i)| {
        (
            !i.is_live(),
            !i.history.as_ref().is_some_and(|h| h.in_head),
            *n,
        )
    });
    keyed.into_iter().map(|(_, i)| i).collect()
}

fn history_fields(incident: &Incident, facts: Option<&SecretHistory>, now: i64) -> HistoryFields {
    // Messages and blobs no commit reaches have no facts: fall back on the findings.
    let oldest = incident
        .locations
        .iter()
        .filter(|l| l.commit.is_some())
        .min_by(|a, b| a.date.cmp(&b.date));
    let facts = facts.cloned().unwrap_or_default();
    let first_commit = facts
        .first
        .as_ref()
        .map(|c| c.commit.clone())
        .or_else(|| oldest.and_then(|l| l.commit.clone()));
    let first_date = facts
        .first
        .as_ref()
        .map(|c| c.date.clone())
        .or_else(|| oldest.and_then(|l| l.date.clone()));
    let end = facts.removed_in.as_ref().map_or(now, |c| c.seconds);
    let exposure_days = facts
        .first
        .as_ref()
        .map(|c| (end.saturating_sub(c.seconds).max(0) / 86_400) as u64);
    HistoryFields {
        first_commit,
        first_date,
        last_commit: facts.last.as_ref().map(|c| c.commit.clone()),
        last_date: facts.last.as_ref().map(|c| c.date.clone()),
        in_head: facts.in_head,
        removed_in: facts.removed_in.as_ref().map(|c| c.commit.clone()),
        removed_date: facts.removed_in.as_ref().map(|c| c.date.clone()),
        reachable_from: facts.reachable_from,
        exposure_days,
    }
}

/// Seconds since the epoch, for exposure windows that run to now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{fingerprint, RuleRef, Secret};
    use crate::source::git::facts::CommitRef;

    fn finding(secret: &str, path: &str) -> Finding {
        Finding {
            rule: RuleRef::new("github.classic-pat", "GitHub classic PAT", "github"),
            path: Some(path.into()),
            location: crate::finding::Location::Blob,
            line: 1,
            column: 1,
            end_column: 2,
            secret: Secret::new(secret),
            fingerprint: fingerprint("github.classic-pat", secret),
            snippet: String::new(),
            commit: None,
            blob: None,
            suppressed: None,
            verdict: None,
            confidence: Default::default(),
            encoding: None,
            path_bytes: None,
            url_host: None,
        }
    }

    #[test]
    fn one_incident_per_fingerprint_with_every_location() {
        let a = "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let b = "ghp_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
        let list = [finding(a, "x"), finding(b, "y"), finding(a, "z")];
        let got = incidents(list.iter(), &BTreeMap::new(), false, 0, false);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].locations.len(), 2);
        assert_eq!(got[0].secret, "ghp_aa…(40 chars)");
        assert!(got[0].history.is_none());
    }

    #[test]
    fn in_head_first_and_exposure_runs_to_removal() {
        let a = "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let b = "ghp_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
        let list = [finding(a, "x"), finding(b, "y")];
        let day = 86_400;
        let at = |s: i64| CommitRef {
            commit: format!("{s:040}"),
            date: String::new(),
            seconds: s,
        };
        let mut facts = BTreeMap::new();
        facts.insert(
            list[0].fingerprint.clone(),
            SecretHistory {
                first: Some(at(0)),
                removed_in: Some(at(3 * day + 5)),
                ..SecretHistory::default()
            },
        );
        facts.insert(
            list[1].fingerprint.clone(),
            SecretHistory {
                first: Some(at(day)),
                in_head: true,
                ..SecretHistory::default()
            },
        );
        let got = incidents(list.iter(), &facts, true, 10 * day, false);
        assert_eq!(got[0].fingerprint, list[1].fingerprint);
        assert_eq!(got[0].history.as_ref().unwrap().exposure_days, Some(9));
        assert_eq!(got[1].history.as_ref().unwrap().exposure_days, Some(3));
        assert_eq!(got[0].whereabouts(), "in HEAD");
        assert!(got[1]
            .whereabouts()
            .starts_with("history only (removed from HEAD in"));
    }
}
