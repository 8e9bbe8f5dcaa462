//! Recall and decoy hits: leakscope's JSON report against the corpus truth.

use crate::corpus::Truth;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

pub(crate) struct Score {
    pub(crate) findings: usize,
    pub(crate) plants: usize,
    pub(crate) found: usize,
    pub(crate) per_kind: BTreeMap<String, (usize, usize)>,
    /// (found, planted) by how the plant is stored (plain, base64, archive, ...).
    pub(crate) per_via: BTreeMap<&'static str, (usize, usize)>,
    pub(crate) decoys: usize,
    pub(crate) decoy_hits: usize,
    pub(crate) decoy_kinds: BTreeMap<String, usize>,
    pub(crate) other: usize,
    pub(crate) other_samples: Vec<String>,
    pub(crate) missed_samples: Vec<String>,
    pub(crate) errors: usize,
    pub(crate) parse_error: Option<String>,
    /// Findings on a truth line already matched (e.g. one token in several blob versions).
    pub(crate) repeats: usize,
    pub(crate) hit: Vec<bool>,
}

pub(crate) fn norm_path(p: &str, root: &Path) -> String {
    let rs = root.display().to_string();
    let mut s = p.strip_prefix(rs.as_str()).unwrap_or(p);
    if let Ok(abs) = root.canonicalize() {
        let a = abs.display().to_string();
        if let Some(x) = p.strip_prefix(a.as_str()) {
            s = x;
        }
    }
    s.trim_start_matches("./")
        .trim_start_matches('/')
        .to_string()
}

pub(crate) fn score(json: &[u8], truth: &[Truth], root: &Path) -> Score {
    let mut sc = Score {
        findings: 0,
        plants: 0,
        found: 0,
        per_kind: BTreeMap::new(),
        per_via: BTreeMap::new(),
        decoys: 0,
        decoy_hits: 0,
        decoy_kinds: BTreeMap::new(),
        other: 0,
        other_samples: vec![],
        missed_samples: vec![],
        errors: 0,
        parse_error: None,
        repeats: 0,
        hit: vec![],
    };
    let mut idx: HashMap<(String, usize), usize> = HashMap::new();
    for (i, t) in truth.iter().enumerate() {
        idx.insert((t.path.clone(), t.line), i);
        if t.decoy {
            sc.decoys += 1;
        } else {
            sc.plants += 1;
            sc.per_kind.entry(t.kind.clone()).or_default().1 += 1;
            sc.per_via.entry(t.via).or_default().1 += 1;
        }
    }
    let v: serde_json::Value = match serde_json::from_slice(json) {
        Ok(v) => v,
        Err(e) => {
            let head = String::from_utf8_lossy(&json[..json.len().min(300)]).to_string();
            sc.parse_error = Some(format!("{e}; output starts: {head:?}"));
            return sc;
        }
    };
    sc.errors = v["errors"].as_array().map_or(0, |a| a.len());
    let mut hit = vec![false; truth.len()];
    if let Some(fs) = v["findings"].as_array() {
        sc.findings = fs.len();
        for f in fs {
            let path = norm_path(f["path"].as_str().unwrap_or(""), root);
            let line = f["line"].as_u64().unwrap_or(0) as usize;
            match idx.get(&(path.clone(), line)) {
                Some(&i) => {
                    if hit[i] {
                        sc.repeats += 1;
                    }
                    hit[i] = true
                }
                None => {
                    sc.other += 1;
                    if sc.other_samples.len() < 5 {
                        sc.other_samples
                            .push(format!("{}:{} rule={}", path, line, f["rule"]));
                    }
                }
            }
        }
    } else {
        sc.parse_error = Some("no `findings` array in the output".into());
    }
    for (i, t) in truth.iter().enumerate() {
        if t.decoy {
            if hit[i] {
                sc.decoy_hits += 1;
                *sc.decoy_kinds.entry(t.kind.clone()).or_default() += 1;
            }
        } else if hit[i] {
            sc.found += 1;
            sc.per_kind.get_mut(&t.kind).unwrap().0 += 1;
            sc.per_via.get_mut(t.via).unwrap().0 += 1;
        } else if sc.missed_samples.len() < 8 {
            sc.missed_samples
                .push(format!("{}:{} ({})", t.path, t.line, t.kind));
        }
    }
    sc.hit = hit;
    sc
}

pub(crate) fn print_score(sc: &Score) {
    if let Some(e) = &sc.parse_error {
        println!("  recall: not measured, leakscope's JSON could not be read: {e}");
        return;
    }
    println!(
        "  recall: {}/{} planted tokens found = {:.2}%   (findings: {}, scan errors reported: {})",
        sc.found,
        sc.plants,
        100.0 * sc.found as f64 / sc.plants.max(1) as f64,
        sc.findings,
        sc.errors
    );
    let parts: Vec<String> = sc
        .per_kind
        .iter()
        .map(|(k, (f, n))| format!("{k} {f}/{n}"))
        .collect();
    println!("    by kind: {}", parts.join(", "));
    if sc.per_via.len() > 1 {
        let parts: Vec<String> = crate::extras::VIAS
            .iter()
            .filter_map(|v| sc.per_via.get(v).map(|(f, n)| format!("{v} {f}/{n}")))
            .collect();
        println!("    by form: {}", parts.join(", "));
    }
    println!(
        "  decoy false positives: {}/{} decoy lines reported{}",
        sc.decoy_hits,
        sc.decoys,
        if sc.decoy_kinds.is_empty() {
            String::new()
        } else {
            format!(" {:?}", sc.decoy_kinds)
        }
    );
    println!(
        "  findings on no planted/decoy line (unexpected): {}",
        sc.other
    );
    for s in &sc.other_samples {
        println!("    e.g. {s}");
    }
    println!(
        "  repeated findings of an already matched line: {}",
        sc.repeats
    );
    if sc.found < sc.plants {
        for s in &sc.missed_samples {
            println!("    missed e.g. {s}");
        }
    }
}
