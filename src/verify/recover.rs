//! Reading a redacted secret back from where a report says it is, so that `verify
//! --input` and `revoke --input` work on ordinary (redacted) reports, history ones too.
//!
//! Each place an incident was found is tried in turn until one yields a secret with the
//! incident's fingerprint: the git blob by its id, the file at that path in the commit
//! named, then the working-tree file. The content is scanned with the same rules; only
//! a match with the same fingerprint counts, so nothing is guessed. Each file and blob
//! is read and scanned once, however many incidents point into it.

use crate::blob::{scan_bytes, Origin};
use crate::finding::Finding;
use crate::matcher::Matcher;
use git2::{Oid, Repository};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Files and blobs larger than this are not read back (a scan reports only what it could
/// read, and its default blob limit is this size too).
const MAX_READ: u64 = 256 << 20;

/// One place a report says an incident's secret is.
#[derive(Debug, Clone, Default)]
pub struct Place {
    pub path: Option<String>,
    pub commit: Option<String>,
    pub blob: Option<String>,
}

/// Reads secrets back, caching what it read.
pub struct Recoverer<'m> {
    matcher: &'m Matcher,
    /// Working-tree paths are relative to this.
    root: PathBuf,
    /// Where blobs are read from: `--repo`, or the repository the report names.
    repo_path: Option<PathBuf>,
    repo: Option<Result<Repository, String>>,
    scanned: HashMap<String, Result<Vec<Finding>, String>>,
    pub files_read: u64,
    pub bytes_read: u64,
}

impl<'m> Recoverer<'m> {
    pub fn new(matcher: &'m Matcher, root: &Path, repo_path: Option<PathBuf>) -> Self {
        Recoverer {
            matcher,
            root: root.to_path_buf(),
            repo_path,
            repo: None,
            scanned: HashMap::new(),
            files_read: 0,
            bytes_read: 0,
        }
    }

    /// The secret with `fingerprint`, from the first of `places` that holds it; or why
    /// none did (each place's reason).
    pub fn recover(
        &mut self,
        fingerprint: &str,
        places: &[Place],
    ) -> Result<(String, Option<String>), String> {
        if fingerprint.is_empty() {
            return Err("the finding has no fingerprint to match".into());
        }
        let mut reasons: Vec<String> = Vec::new();
        for place in places {
            let mut tries: Vec<(String, Source)> = Vec::new();
            if let Some(blob) = &place.blob {
                tries.push((format!("blob:{blob}"), Source::Blob(blob.clone())));
            }
            if let (Some(commit), Some(path)) = (&place.commit, &place.path) {
                tries.push((
                    format!("commit:{commit}:{path}"),
                    Source::InCommit(commit.clone(), path.clone()),
                ));
            }
            if let Some(path) = &place.path {
                tries.push((format!("file:{path}"), Source::File(path.clone())));
            }
            for (key, source) in tries {
                let path = place.path.as_deref();
                match self.scan(&key, &source, path) {
                    Ok(found) => {
                        if let Some(f) = found.iter().find(|f| f.fingerprint == fingerprint) {
                            // The host of its URL, for the verifier's exact-host check.
                            return Ok((f.secret.expose().to_string(), f.url_host.clone()));
                        }
                        reasons.push(format!("{} no longer holds it", source.describe()));
                    }
                    Err(why) => reasons.push(why),
                }
            }
        }
        if reasons.is_empty() {
            return Err("the report names no file, commit or blob to read it back from".into());
        }
        reasons.dedup();
        let shown = reasons.len().min(3);
        let mut text = reasons[..shown].join("; ");
        if reasons.len() > shown {
            text.push_str(&format!("; and {} more", reasons.len() - shown));
        }
        Err(text)
    }

    fn scan(
        &mut self,
        key: &str,
        source: &Source,
        path: Option<&str>,
    ) -> Result<Vec<Finding>, String> {
        if let Some(done) = self.scanned.get(key) {
            return done.clone();
        }
        let result = self.read(source).map(|bytes| {
            self.files_read += 1;
            self.bytes_read += bytes.len() as u64;
            let origin = Origin {
                path,
                location: crate::finding::Location::File,
            };
            // An archive member (`ARCHIVE!member`): the archive is read and opened again,
            // its members named as the report names them.
            let archive = Origin {
                path: path.and_then(|p| p.split_once('!').map(|(outer, _)| outer)),
                ..origin
            };
            match crate::archive::scan_blob(self.matcher, &bytes, archive) {
                Some(scanned) if archive.path.is_some() => scanned.findings,
                _ => scan_bytes(self.matcher, &bytes, origin),
            }
        });
        self.scanned.insert(key.to_string(), result.clone());
        result
    }

    fn read(&mut self, source: &Source) -> Result<Vec<u8>, String> {
        match source {
            Source::File(path) => {
                // Only a regular file is read (a FIFO would hang, /dev/zero never end),
                // and no more than the limit.
                let mut full = self.root.join(path);
                if !full.exists() {
                    if let Some((outer, _)) = path.split_once('!') {
                        full = self.root.join(outer);
                    }
                }
                let file = crate::input::open_regular(&full)?;
                let mut bytes = Vec::new();
                file.take(MAX_READ + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| format!("cannot read {}: {e}", full.display()))?;
                if bytes.len() as u64 > MAX_READ {
                    return Err(format!(
                        "{} is larger than {MAX_READ} bytes",
                        full.display()
                    ));
                }
                Ok(bytes)
            }
            Source::Blob(id) => {
                let oid = Oid::from_str(id)
                    .map_err(|_| format!("blob {}: not a git object id", short(id)))?;
                let repo = self.repo()?;
                let odb = repo
                    .odb()
                    .map_err(|e| format!("cannot open the object database: {}", e.message()))?;
                let (size, _) = odb.read_header(oid).map_err(|e| {
                    format!(
                        "blob {} is not in {}: {}",
                        short(id),
                        repo_name(repo),
                        e.message()
                    )
                })?;
                if size as u64 > MAX_READ {
                    return Err(format!(
                        "blob {} is larger than {MAX_READ} bytes",
                        short(id)
                    ));
                }
                let blob = repo
                    .find_blob(oid)
                    .map_err(|e| format!("blob {}: {}", short(id), e.message()))?;
                Ok(blob.content().to_vec())
            }
            Source::InCommit(commit, path) => {
                let repo = self.repo()?;
                let oid = Oid::from_str(commit)
                    .map_err(|_| format!("commit {}: not a git object id", short(commit)))?;
                let tree = repo.find_commit(oid).and_then(|c| c.tree()).map_err(|e| {
                    format!(
                        "commit {} is not in {}: {}",
                        short(commit),
                        repo_name(repo),
                        e.message()
                    )
                })?;
                let entry = tree
                    .get_path(Path::new(path))
                    .map_err(|_| format!("commit {} has no {path}", short(commit)))?;
                let blob = repo
                    .find_blob(entry.id())
                    .map_err(|e| format!("{path} in commit {}: {}", short(commit), e.message()))?;
                if blob.size() as u64 > MAX_READ {
                    return Err(format!(
                        "{path} in commit {} is larger than {MAX_READ} bytes",
                        short(commit)
                    ));
                }
                Ok(blob.content().to_vec())
            }
        }
    }

    /// The repository, opened on first use; `--repo`, then the report's, then `--root`.
    fn repo(&mut self) -> Result<&Repository, String> {
        if self.repo.is_none() {
            let path = self.repo_path.clone().unwrap_or_else(|| self.root.clone());
            let opened = Repository::discover(&path).map_err(|e| {
                format!(
                    "{}: not a git repository ({}); pass --repo PATH",
                    path.display(),
                    e.message()
                )
            });
            self.repo = Some(opened);
        }
        match self.repo.as_ref() {
            Some(Ok(repo)) => Ok(repo),
            Some(Err(e)) => Err(e.clone()),
            None => Err("no repository".into()),
        }
    }
}

enum Source {
    File(String),
    Blob(String),
    InCommit(String, String),
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::File(path) => format!("the working-tree file {path}"),
            Source::Blob(id) => format!("blob {}", short(id)),
            Source::InCommit(commit, path) => format!("{path} in commit {}", short(commit)),
        }
    }
}

/// An object id from the report, shortened; anything not hex is user data and is
/// redacted instead of printed.
fn short(id: &str) -> String {
    if id.bytes().all(|b| b.is_ascii_hexdigit()) {
        crate::report::short(id).to_string()
    } else {
        crate::finding::redact(id)
    }
}

fn repo_name(repo: &Repository) -> String {
    repo.workdir()
        .unwrap_or_else(|| repo.path())
        .display()
        .to_string()
}
