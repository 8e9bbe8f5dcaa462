//! `leakscope.toml`: one config file for `scan` and `lint`.
//!
//! Found from the scanned root upwards (the first root given; the search stops at the
//! directory holding `.git`, or at the filesystem root), or named with `--config FILE`;
//! `--no-config` reads none. Both commands read the whole file and refuse it whole: a
//! key one of them does not know is an error naming the file, line and key (exit 2) in
//! either, so a typo never silently turns a rule off.
//!
//! ```toml
//! [scan]
//! exclude = ["tests/fixtures/**"]      # not read by scan (gitignore-style globs)
//! rules = ["ci/extra-rules.toml"]      # extra rule files, relative to this file
//!
//! [[allow]]                            # accepted findings: kept as suppressed
//! fingerprint = "3f2a..."
//! reason = "revoked 2024-05-01, kept in history"
//!
//! [[allow]]
//! path = "docs/examples/**"
//! reason = "documentation samples, never issued"
//! ```
//!
//! Lint's tables (`[scopes]`, `[tokens]`, `[lints]`, `[paths]`) are read by
//! [`crate::lint::policy`]. Globs here are relative to the config file's directory.

use anyhow::anyhow;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::path::{Component, Path, PathBuf};
use toml::Spanned;

pub const FILE_NAME: &str = "leakscope.toml";

/// `--config FILE` / `--no-config`, shared by scan and lint.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    /// Read this config file instead of the leakscope.toml found from the scanned root
    /// upwards (up to the repository root).
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Read no leakscope.toml.
    #[arg(long)]
    pub no_config: bool,
}

/// A config file read into memory.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    /// The path as messages show it (relative to the working directory when under it).
    pub name: String,
    pub text: String,
}

impl ConfigFile {
    /// The directory its relative paths and globs start from.
    pub fn dir(&self) -> PathBuf {
        let parent = self.path.parent().unwrap_or(Path::new(""));
        if parent.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            parent.to_path_buf()
        }
    }

    /// `FILE:LINE:COL: reason` at a byte span of the file.
    pub fn error_at(
        &self,
        span: std::ops::Range<usize>,
        reason: impl std::fmt::Display,
    ) -> anyhow::Error {
        let (line, col) = line_col(&self.text, span.start);
        anyhow!("{}:{line}:{col}: {reason}", self.name)
    }

    /// A TOML syntax or shape error, located.
    pub fn toml_error(&self, e: &toml::de::Error) -> anyhow::Error {
        let (line, col) = e
            .span()
            .map(|s| line_col(&self.text, s.start))
            .unwrap_or((1, 1));
        anyhow!("{}:{line}:{col}: {}", self.name, e.message().trim())
    }
}

impl ConfigArgs {
    /// The config file in force for `roots`, read, or `None`.
    pub fn locate(&self, roots: &[PathBuf]) -> anyhow::Result<Option<ConfigFile>> {
        if self.no_config {
            return Ok(None);
        }
        let path = match &self.config {
            Some(path) => path.clone(),
            None => match find_upwards(roots) {
                Some(path) => path,
                None => return Ok(None),
            },
        };
        let name = shown(&path);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow!("{name}: cannot read config file: {e}"))?;
        Ok(Some(ConfigFile { path, name, text }))
    }
}

/// `leakscope.toml` in the first existing root (a file's directory for a file; `.` for
/// standard input alone) or the
/// nearest directory above it, stopping after the directory that holds `.git`.
pub fn find_upwards(roots: &[PathBuf]) -> Option<PathBuf> {
    // Standard input alone (`scan -`): the working directory is the root.
    let root = roots
        .iter()
        .find(|r| r.as_os_str() != "-" && r.exists())
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let start = absolute(&root)?;
    let mut dir = if start.is_dir() {
        start
    } else {
        start.parent()?.to_path_buf()
    };
    loop {
        let candidate = dir.join(FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        if dir.join(".git").exists() || !dir.pop() {
            return None;
        }
    }
}

/// `path` made absolute against the working directory, `.` and `..` resolved by name
/// (not through symbolic links, so a config found above a root stays above it).
fn absolute(path: &Path) -> Option<PathBuf> {
    let joined = std::env::current_dir().ok()?.join(path);
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

/// Relative to the working directory when the file is under it, else absolute.
fn shown(path: &Path) -> String {
    let display = match (absolute(path), std::env::current_dir()) {
        (Some(abs), Ok(cwd)) => match abs.strip_prefix(&cwd) {
            Ok(rel) => rel.to_path_buf(),
            Err(_) => abs,
        },
        _ => path.to_path_buf(),
    };
    crate::source::tree::display_path(&display)
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

/// Checks one gitignore-style glob as the walker will read it; a bad one is an error
/// at its place in the file, naming the key.
pub fn check_glob(file: &ConfigFile, key: &str, glob: &Spanned<String>) -> anyhow::Result<()> {
    let mut builder = ignore::overrides::OverrideBuilder::new(".");
    builder.add(glob.get_ref()).map(|_| ()).map_err(|e| {
        file.error_at(
            glob.span(),
            format!("{key}: bad glob {:?}: {e}", glob.get_ref()),
        )
    })
}

/// The scan part of the config file.
#[derive(Debug, Default)]
pub struct ScanConfig {
    /// Where it came from (`None`: no config file).
    pub source: Option<String>,
    /// `[scan] exclude`, rebased to the working directory (see [`rebase_glob`]).
    pub exclude: Vec<String>,
    /// `[scan] exclude` as written, matched against history and staged paths.
    pub exclude_matcher: Option<PathGlobs>,
    /// `[scan] rules`, resolved against the config file's directory.
    pub rules: Vec<PathBuf>,
    pub allow: Vec<Allow>,
}

/// One `[[allow]]` entry: the findings it accepts, and why.
#[derive(Debug)]
pub struct Allow {
    pub what: AllowMatch,
    /// Kept for the whole run (reports borrow it), so stored once, leaked on purpose.
    pub reason: &'static str,
}

#[derive(Debug)]
pub enum AllowMatch {
    Fingerprint(String),
    Path(PathGlobs),
}

/// Gitignore-style globs relative to the config file's directory, matched against
/// findings' paths.
#[derive(Debug)]
pub struct PathGlobs {
    matcher: Gitignore,
    base: PathBuf,
}

impl PathGlobs {
    /// `path` as a report shows it: relative to `relative_to` (the working directory
    /// for tree scans, the repository's root for history and staged scans).
    pub fn matches(&self, path: &str, relative_to: &Path) -> bool {
        let Some(full) = canonical_join(relative_to, path) else {
            return false;
        };
        if !full.starts_with(&self.base) {
            return false;
        }
        self.matcher
            .matched_path_or_any_parents(&full, false)
            .is_ignore()
    }
}

/// `base/path` with `base` resolved through links, and `path` by name (the file may be
/// gone: history paths need not exist in the working tree).
fn canonical_join(base: &Path, path: &str) -> Option<PathBuf> {
    let base = std::fs::canonicalize(base).ok()?;
    let mut out = base;
    for part in Path::new(path).components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            Component::Normal(p) => out.push(p),
            _ => return None,
        }
    }
    Some(out)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    scan: RawScan,
    #[serde(default)]
    allow: Vec<Spanned<RawAllow>>,
    // Lint's tables: read and checked by crate::lint::policy.
    #[serde(default, rename = "scopes")]
    _scopes: IgnoredAny,
    #[serde(default, rename = "tokens")]
    _tokens: IgnoredAny,
    #[serde(default, rename = "lints")]
    _lints: IgnoredAny,
    #[serde(default, rename = "paths")]
    _paths: IgnoredAny,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScan {
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    rules: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    fingerprint: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    reason: Option<Spanned<String>>,
}

impl ScanConfig {
    /// Reads the scan keys of `file` (and checks its lint tables' names).
    pub fn parse(file: &ConfigFile) -> anyhow::Result<ScanConfig> {
        let raw: RawFile = toml::from_str(&file.text).map_err(|e| file.toml_error(&e))?;
        let dir = file.dir();
        let base = std::fs::canonicalize(&dir)
            .map_err(|e| anyhow!("{}: cannot resolve its directory: {e}", file.name))?;
        let mut config = ScanConfig {
            source: Some(file.name.clone()),
            ..ScanConfig::default()
        };
        let cwd = std::env::current_dir()
            .and_then(std::fs::canonicalize)
            .map_err(|e| anyhow!("cannot read the working directory: {e}"))?;
        let mut excludes = GitignoreBuilder::new(&base);
        for glob in &raw.scan.exclude {
            check_glob(file, "scan.exclude", glob)?;
            excludes
                .add_line(None, glob.get_ref())
                .map_err(|e| file.error_at(glob.span(), format!("scan.exclude: {e}")))?;
            config
                .exclude
                .extend(rebase_glob(glob.get_ref(), &base, &cwd));
        }
        if !raw.scan.exclude.is_empty() {
            config.exclude_matcher = Some(PathGlobs {
                matcher: excludes
                    .build()
                    .map_err(|e| anyhow!("{}: scan.exclude: {e}", file.name))?,
                base: base.clone(),
            });
        }
        for rule in &raw.scan.rules {
            let path = dir.join(rule.get_ref());
            if !path.exists() {
                return Err(file.error_at(
                    rule.span(),
                    format!(
                        "scan.rules: {} does not exist (paths are relative to the config file)",
                        crate::source::tree::display_path(&path)
                    ),
                ));
            }
            config.rules.push(path);
        }
        for entry in &raw.allow {
            let span = entry.span();
            let entry = entry.get_ref();
            let reason = match &entry.reason {
                Some(r) if !r.get_ref().trim().is_empty() => r.get_ref().trim().to_string(),
                Some(r) => return Err(file.error_at(r.span(), "allow.reason: must say why")),
                None => {
                    return Err(file.error_at(
                        span,
                        "allow: every [[allow]] needs a reason = \"...\" (it shows in reports)",
                    ))
                }
            };
            let what = match (&entry.fingerprint, &entry.path) {
                (Some(fp), None) => {
                    let value = fp.get_ref().trim().to_ascii_lowercase();
                    if value.len() != 32 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(file.error_at(
                            fp.span(),
                            format!(
                                "allow.fingerprint: {:?} is not a leakscope fingerprint (32 hex digits, as reports show them)",
                                fp.get_ref()
                            ),
                        ));
                    }
                    AllowMatch::Fingerprint(value)
                }
                (None, Some(glob)) => {
                    check_glob(file, "allow.path", glob)?;
                    let mut builder = GitignoreBuilder::new(&base);
                    builder
                        .add_line(None, glob.get_ref())
                        .map_err(|e| file.error_at(glob.span(), format!("allow.path: {e}")))?;
                    AllowMatch::Path(PathGlobs {
                        matcher: builder
                            .build()
                            .map_err(|e| file.error_at(glob.span(), format!("allow.path: {e}")))?,
                        base: base.clone(),
                    })
                }
                (Some(_), Some(glob)) => {
                    return Err(file.error_at(
                        glob.span(),
                        "allow: give fingerprint or path, not both (use two [[allow]] entries)",
                    ))
                }
                (None, None) => {
                    return Err(
                        file.error_at(span, "allow: needs fingerprint = \"...\" or path = \"...\"")
                    )
                }
            };
            config.allow.push(Allow {
                what,
                reason: Box::leak(reason.into_boxed_str()),
            });
        }
        Ok(config)
    }

    /// The allow entry that accepts a finding at `path` (as shown, relative to
    /// `relative_to`) with `fingerprint`, if any.
    pub fn allowed(
        &self,
        fingerprint: &str,
        path: Option<&str>,
        relative_to: &Path,
    ) -> Option<&Allow> {
        self.allow.iter().find(|a| match &a.what {
            AllowMatch::Fingerprint(fp) => fp == fingerprint,
            AllowMatch::Path(globs) => path.is_some_and(|p| globs.matches(p, relative_to)),
        })
    }
}

impl ConfigFile {
    /// Globs written relative to this file's directory, as the walker (relative to the
    /// working directory) must read them: see [`rebase_glob`].
    pub fn rebase_globs(&self, globs: &[String]) -> Vec<String> {
        let base = std::fs::canonicalize(self.dir());
        let cwd = std::env::current_dir().and_then(std::fs::canonicalize);
        match (base, cwd) {
            (Ok(base), Ok(cwd)) => globs
                .iter()
                .filter_map(|g| rebase_glob(g, &base, &cwd))
                .collect(),
            _ => globs.to_vec(),
        }
    }
}

/// A glob written relative to the config file's directory `base`, as the walker (whose
/// globs are relative to the working directory `cwd`) must read it. Unanchored globs
/// (`*.min.js`, `fixtures/`) match at any depth: below a config above the working
/// directory they stay as they are. Anchored ones (`tests/fixtures/**`) get the path
/// between the two prefixed or stripped; one that cannot match under `cwd` is dropped.
fn rebase_glob(glob: &str, base: &Path, cwd: &Path) -> Option<String> {
    let (negated, body) = match glob.strip_prefix('!') {
        Some(rest) => ("!", rest),
        None => ("", glob),
    };
    let trimmed = body.trim_end_matches('/');
    let anchored = body.starts_with('/') || trimmed.contains('/');
    let body_rel = body.trim_start_matches('/');
    if base == cwd {
        return Some(glob.to_string());
    }
    if let Ok(down) = base.strip_prefix(cwd) {
        // The config is in a subdirectory of the working directory.
        let prefix = crate::source::tree::display_path(down);
        return Some(if anchored {
            format!("{negated}/{prefix}/{body_rel}")
        } else {
            format!("{negated}/{prefix}/**/{body_rel}")
        });
    }
    if let Ok(up) = cwd.strip_prefix(base) {
        // The config is above the working directory.
        if !anchored {
            return Some(glob.to_string());
        }
        let prefix = format!("{}/", crate::source::tree::display_path(up));
        return body_rel
            .strip_prefix(&prefix)
            .map(|rest| format!("{negated}/{rest}"));
    }
    Some(glob.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_are_rebased_from_the_config_directory() {
        let base = Path::new("/r");
        assert_eq!(rebase_glob("a/**", base, base).as_deref(), Some("a/**"));
        assert_eq!(
            rebase_glob("a/**", base, Path::new("/r/sub")).as_deref(),
            None
        );
        assert_eq!(
            rebase_glob("sub/x/**", base, Path::new("/r/sub")).as_deref(),
            Some("/x/**")
        );
        assert_eq!(
            rebase_glob("*.log", base, Path::new("/r/sub")).as_deref(),
            Some("*.log")
        );
        assert_eq!(
            rebase_glob("x/**", Path::new("/r/p"), Path::new("/r")).as_deref(),
            Some("/p/x/**")
        );
        assert_eq!(
            rebase_glob("*.log", Path::new("/r/p"), Path::new("/r")).as_deref(),
            Some("/p/**/*.log")
        );
    }

    #[test]
    fn line_and_column_of_an_offset() {
        assert_eq!(line_col("a\nbc\n", 3), (2, 2));
        assert_eq!(line_col("", 0), (1, 1));
    }
}
