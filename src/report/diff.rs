//! `leakscope diff OLD.json NEW.json`: what changed between two audits, by fingerprint.
//!
//! A report's open secrets are its `secrets` incidents (or, for a report from before
//! incidents, its findings grouped by fingerprint). A secret is *regressed* when it is
//! open in NEW, not in OLD, but OLD records it as fixed: a diff's own JSON carries every
//! secret fixed so far in `fixed_so_far` (and the open ones in `secrets`), so this
//! month's diff output is next month's OLD and a secret that comes back is not "new".

use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The secrets one report says are open, and those it records as fixed.
#[derive(Debug, Default)]
pub struct Audit {
    /// Open incidents by fingerprint, as the report wrote them.
    pub open: BTreeMap<String, Value>,
    /// Fixed before, by fingerprint (from a diff's `fixed_so_far` / `fixed`).
    pub fixed: BTreeMap<String, Value>,
}

/// Reads one report. An error says what is wrong with it, not where it came from.
pub fn parse(doc: &Value) -> Result<Audit, String> {
    let Some(object) = doc.as_object() else {
        return Err(
            "not a leakscope JSON report (expected an object with `secrets` or `findings`)".into(),
        );
    };
    let mut audit = Audit::default();
    if let Some(list) = object.get("secrets") {
        for incident in list.as_array().ok_or("`secrets` is not a list")? {
            let fp = fingerprint_of(incident)?;
            audit.open.insert(fp, incident.clone());
        }
    } else if let Some(list) = object.get("findings") {
        for finding in list.as_array().ok_or("`findings` is not a list")? {
            let fp = fingerprint_of(finding)?;
            audit.open.entry(fp).or_insert_with(|| brief(finding));
        }
    } else {
        return Err("not a leakscope JSON report (no `secrets` or `findings`)".into());
    }
    for key in ["fixed_so_far", "fixed"] {
        if let Some(list) = object.get(key) {
            for entry in list
                .as_array()
                .ok_or_else(|| format!("`{key}` is not a list"))?
            {
                let fp = fingerprint_of(entry)?;
                if !audit.open.contains_key(&fp) {
                    audit.fixed.entry(fp).or_insert_with(|| brief(entry));
                }
            }
        }
    }
    Ok(audit)
}

fn fingerprint_of(entry: &Value) -> Result<String, String> {
    let fp = entry
        .get("fingerprint")
        .and_then(Value::as_str)
        .or_else(|| entry.as_str())
        .ok_or("an entry has no `fingerprint`")?;
    // Fingerprints are hex; anything else is not from leakscope and must not reach a
    // terminal or a page unchecked.
    if fp.is_empty() || fp.len() > 128 || !fp.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "`{}` is not a fingerprint",
            crate::finding::redact(fp)
        ));
    }
    Ok(fp.to_string())
}

/// The fields a diff shows of one secret.
fn brief(entry: &Value) -> Value {
    let mut out = json!({});
    for key in [
        "fingerprint",
        "rule",
        "provider",
        "secret",
        "in_head",
        "first_commit",
        "path",
    ] {
        if let Some(v) = entry.get(key) {
            out[key] = v.clone();
        }
    }
    if out.get("fingerprint").is_none() {
        if let Some(fp) = entry.as_str() {
            out["fingerprint"] = json!(fp);
        }
    }
    out
}

/// What changed, by fingerprint.
#[derive(Debug, Default, Serialize)]
pub struct Diff {
    /// Open in NEW, never seen before.
    pub new: Vec<Value>,
    /// Open in NEW, fixed before: came back.
    pub regressed: Vec<Value>,
    /// Open in OLD, gone from NEW.
    pub fixed: Vec<Value>,
    /// Open in both.
    pub still_open: Vec<Value>,
    /// NEW's open secrets, so this output can be the OLD of the next diff.
    pub secrets: Vec<Value>,
    /// Every secret fixed so far (OLD's record plus `fixed`), not open in NEW.
    pub fixed_so_far: Vec<Value>,
}

impl Diff {
    /// Exit 1 when something is new or came back.
    pub fn is_worse(&self) -> bool {
        !self.new.is_empty() || !self.regressed.is_empty()
    }
}

pub fn diff(old: &Audit, new: &Audit) -> Diff {
    let mut d = Diff::default();
    for (fp, incident) in &new.open {
        if old.open.contains_key(fp) {
            d.still_open.push(incident.clone());
        } else if old.fixed.contains_key(fp) {
            d.regressed.push(incident.clone());
        } else {
            d.new.push(incident.clone());
        }
        d.secrets.push(incident.clone());
    }
    let mut so_far: BTreeSet<&String> = BTreeSet::new();
    for (fp, incident) in &old.open {
        if !new.open.contains_key(fp) {
            d.fixed.push(incident.clone());
            so_far.insert(fp);
            d.fixed_so_far.push(brief(incident));
        }
    }
    for (fp, entry) in &old.fixed {
        if !new.open.contains_key(fp) && so_far.insert(fp) {
            d.fixed_so_far.push(brief(entry));
        }
    }
    d
}

/// The human form: one line per changed secret, then the counts.
pub fn write_human(out: &mut dyn std::io::Write, d: &Diff) -> std::io::Result<()> {
    use colored::Colorize;
    let text = |v: &Value, key: &str| -> String {
        super::human::escape(v.get(key).and_then(Value::as_str).unwrap_or("-"))
    };
    for (label, list) in [
        ("new", &d.new),
        ("regressed", &d.regressed),
        ("fixed", &d.fixed),
        ("still open", &d.still_open),
    ] {
        for v in list {
            let head = match label {
                "new" | "regressed" => label.to_uppercase().red().bold(),
                "fixed" => label.green(),
                _ => label.normal(),
            };
            let place = match v.get("in_head").and_then(Value::as_bool) {
                Some(true) => "  in HEAD",
                Some(false) => "  history only",
                None => "",
            };
            writeln!(
                out,
                "{head:<10} {}  {}  {}{place}",
                text(v, "rule").cyan(),
                text(v, "secret"),
                text(v, "fingerprint").dimmed()
            )?;
        }
    }
    writeln!(
        out,
        "{} new, {} regressed, {} fixed, {} still open",
        d.new.len(),
        d.regressed.len(),
        d.fixed.len(),
        d.still_open.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audit(doc: Value) -> Audit {
        parse(&doc).unwrap()
    }

    #[test]
    fn new_fixed_open_and_regressed() {
        let old = audit(
            json!({"secrets": [{"fingerprint": "aa"}, {"fingerprint": "bb"}], "fixed_so_far": ["cc"]}),
        );
        let new = audit(
            json!({"secrets": [{"fingerprint": "bb"}, {"fingerprint": "cc"}, {"fingerprint": "dd"}]}),
        );
        let d = diff(&old, &new);
        let fps = |l: &[Value]| -> Vec<String> {
            l.iter()
                .map(|v| v["fingerprint"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(fps(&d.new), ["dd"]);
        assert_eq!(fps(&d.regressed), ["cc"]);
        assert_eq!(fps(&d.fixed), ["aa"]);
        assert_eq!(fps(&d.still_open), ["bb"]);
        assert_eq!(fps(&d.fixed_so_far), ["aa"]);
        assert!(d.is_worse());
        // The diff's own output, read back as the next OLD, remembers `aa` as fixed.
        let next_old = audit(serde_json::to_value(&d).unwrap());
        let again = diff(
            &next_old,
            &audit(json!({"secrets": [{"fingerprint": "aa"}]})),
        );
        assert_eq!(fps(&again.regressed), ["aa"]);
    }

    #[test]
    fn findings_only_reports_and_bad_input() {
        let a =
            audit(json!({"findings": [{"fingerprint": "ab", "rule": "r"}, {"fingerprint": "ab"}]}));
        assert_eq!(a.open.len(), 1);
        assert!(parse(&json!([1])).is_err());
        assert!(parse(&json!({"secrets": [{"fingerprint": "\u{1b}[2J"}]})).is_err());
        assert!(parse(&json!({"other": 1})).is_err());
    }
}
