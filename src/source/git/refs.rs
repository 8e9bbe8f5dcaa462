//! The refs of a repository, read from its files (`HEAD`, loose refs under `refs/`,
//! `packed-refs`) rather than through libgit2's ref iterator, which gives up on the
//! whole list at the first bad line of `packed-refs` and skips unreadable loose refs
//! without a word. Here every ref that can be read is kept, and every one that cannot
//! is an error naming its file (and line).

use super::ScanError;
use git2::{Oid, Repository};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Symbolic refs are followed this many hops at most (git's own limit is 5).
const MAX_SYMREF_HOPS: usize = 5;
/// A ref file larger than this is not a ref (git's are one line).
const MAX_REF_FILE: u64 = 4096;

/// The refs that resolve to an object id, by name (`HEAD` first), and what could not
/// be read.
#[derive(Debug, Default)]
pub struct RefList {
    pub refs: Vec<(String, Oid)>,
    pub errors: Vec<ScanError>,
    /// How many refs sit under `refs/replace/` (replace objects).
    pub replaced: usize,
}

/// What one ref file or `packed-refs` line says.
#[derive(Debug, Clone)]
enum Value {
    Direct(Oid),
    Symbolic(String),
}

/// Reads `HEAD`, every loose ref and `packed-refs` of `repo` (loose refs win over packed
/// ones, as in git), and resolves symbolic refs.
pub fn read_refs(repo: &Repository) -> RefList {
    let mut list = RefList::default();
    let common = repo.commondir().to_path_buf();
    let mut values: BTreeMap<String, Value> = BTreeMap::new();
    read_packed(&common.join("packed-refs"), &mut values, &mut list.errors);
    read_loose(&common, &mut values, &mut list.errors);
    let head_file = repo.path().join("HEAD");
    let head = match read_ref_file(&head_file) {
        Ok(Some(v)) => Some(v),
        Ok(None) => {
            list.errors.push(ScanError::at_path(
                display(&head_file),
                "HEAD: neither an object id nor `ref: <name>`",
            ));
            None
        }
        Err(e) => {
            list.errors.push(ScanError::at_path(
                display(&head_file),
                format!("HEAD: cannot read: {e}"),
            ));
            None
        }
    };
    list.replaced = values
        .keys()
        .filter(|n| n.starts_with("refs/replace/"))
        .count();
    let resolve = |start: &Value| -> Option<Oid> {
        let mut value = start.clone();
        for _ in 0..=MAX_SYMREF_HOPS {
            match value {
                Value::Direct(oid) => return Some(oid),
                Value::Symbolic(target) => value = values.get(&target)?.clone(),
            }
        }
        None
    };
    // A symbolic ref to a missing ref (an unborn branch, a deleted remote HEAD) keeps
    // nothing alive and is not an error.
    if let Some(oid) = head.as_ref().and_then(resolve) {
        list.refs.push(("HEAD".into(), oid));
    }
    for (name, value) in &values {
        if let Some(oid) = resolve(value) {
            list.refs.push((name.clone(), oid));
        }
    }
    list
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// `Ok(None)` for a file that is neither an id nor a symbolic ref.
fn read_ref_file(path: &Path) -> std::io::Result<Option<Value>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() || meta.len() > MAX_REF_FILE {
        return Ok(None);
    }
    let data = std::fs::read(path)?;
    Ok(parse_value(trim(&data)))
}

fn trim(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

fn parse_value(line: &[u8]) -> Option<Value> {
    if let Some(target) = line.strip_prefix(b"ref:") {
        let target = std::str::from_utf8(target).ok()?.trim();
        return (target.starts_with("refs/") || target == "HEAD")
            .then(|| Value::Symbolic(target.to_string()));
    }
    parse_oid(line).map(Value::Direct)
}

fn parse_oid(hex: &[u8]) -> Option<Oid> {
    if !(hex.len() == 40 || hex.len() == 64) || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    Oid::from_str(std::str::from_utf8(hex).ok()?).ok()
}

/// `packed-refs`: `# header`, `<id> <name>` lines, each optionally followed by a
/// `^<id>` line (the tag's peeled target). A bad line is an error naming its number;
/// the other lines are kept.
fn read_packed(path: &Path, values: &mut BTreeMap<String, Value>, errors: &mut Vec<ScanError>) {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            errors.push(ScanError::at_path(
                display(path),
                format!("cannot read packed refs: {e}"),
            ));
            return;
        }
    };
    let mut bad = Vec::new();
    for (n, line) in data.split(|b| *b == b'\n').enumerate() {
        let line = trim(line);
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        if let Some(peeled) = line.strip_prefix(b"^") {
            if parse_oid(peeled).is_none() {
                bad.push(n + 1);
            }
            continue;
        }
        let parsed = line.iter().position(|b| *b == b' ').and_then(|space| {
            let oid = parse_oid(&line[..space])?;
            let name = std::str::from_utf8(&line[space + 1..]).ok()?;
            name.starts_with("refs/").then(|| (name.to_string(), oid))
        });
        match parsed {
            Some((name, oid)) => {
                values.insert(name, Value::Direct(oid));
            }
            None => bad.push(n + 1),
        }
    }
    if !bad.is_empty() {
        let shown: Vec<String> = bad.iter().take(10).map(|n| n.to_string()).collect();
        let more = if bad.len() > 10 {
            format!(" and {} more", bad.len() - 10)
        } else {
            String::new()
        };
        errors.push(ScanError::at_path(
            display(path),
            format!(
                "corrupt packed refs: line(s) {}{more} are not `<object id> refs/<name>`; the other refs were read",
                shown.join(", ")
            ),
        ));
    }
}

/// Every file under `refs/` (lock files aside), walked with an explicit stack.
fn read_loose(common: &Path, values: &mut BTreeMap<String, Value>, errors: &mut Vec<ScanError>) {
    let mut stack: Vec<(PathBuf, String)> = vec![(common.join("refs"), "refs".into())];
    while let Some((dir, name)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && name == "refs" => continue,
            Err(e) => {
                errors.push(ScanError::at_path(
                    display(&dir),
                    format!("cannot list refs under {name}/: {e}"),
                ));
                continue;
            }
        };
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let ref_name = format!("{name}/{file_name}");
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push((path, ref_name)),
                Ok(_) if file_name.ends_with(".lock") => {}
                Ok(_) => match read_ref_file(&path) {
                    Ok(Some(value)) => {
                        values.insert(ref_name, value);
                    }
                    Ok(None) => errors.push(ScanError::at_path(
                        display(&path),
                        format!("ref {ref_name}: neither an object id nor `ref: <name>`"),
                    )),
                    Err(e) => errors.push(ScanError::at_path(
                        display(&path),
                        format!("ref {ref_name}: cannot read: {e}"),
                    )),
                },
                Err(e) => errors.push(ScanError::at_path(
                    display(&path),
                    format!("ref {ref_name}: cannot read: {e}"),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_values_parse_and_garbage_does_not() {
        let hex = "0123456789abcdef0123456789abcdef01234567";
        assert!(matches!(
            parse_value(hex.as_bytes()),
            Some(Value::Direct(_))
        ));
        assert!(matches!(
            parse_value(b"ref: refs/heads/main"),
            Some(Value::Symbolic(t)) if t == "refs/heads/main"
        ));
        assert!(parse_value(b"garbage").is_none());
        assert!(parse_value(b"ref: ../../etc/passwd").is_none());
        assert!(parse_value(&hex.as_bytes()[..39]).is_none());
    }
}
