//! Where CI runs, for the lints that only matter there (a token printed to a CI log, a
//! login that mints a key on every run): which files are CI configs, which repository
//! scripts those configs run (directly or through another such script), which variables
//! CI fills from a secret store, and which paths are tests or fixtures.
//!
//! The scripts are found before the walk, by reading the CI configs at each linted root
//! and following every word that names an existing file under that root. A script no
//! CI config reaches (an integration-test `runme.sh`, a helper whose job is to print a
//! password to its caller) is not judged as CI.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// What the CI-only lints know about the linted roots.
#[derive(Debug, Default, Clone)]
pub struct CiFacts {
    /// Display paths (as the walker shows them) of repository scripts a CI config runs.
    pub scripts: BTreeSet<String>,
    /// Variable names a CI config fills from a secret store (`NAME: ${{ secrets.X }}`,
    /// `NAME: ${{ github.token }}`).
    pub secret_vars: BTreeSet<String>,
}

/// Variables CI systems themselves fill with a credential.
pub const CI_PROVIDED_SECRETS: &[&str] = &[
    "CI_JOB_TOKEN",
    "CI_REGISTRY_PASSWORD",
    "CI_DEPLOY_PASSWORD",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "SYSTEM_ACCESSTOKEN",
];

/// Most scripts followed per root: a bound on the pre-pass, not a limit real
/// repositories reach.
const MAX_SCRIPTS: usize = 2_000;

impl CiFacts {
    /// Reads the CI configs under each root that is a directory and follows the scripts
    /// they run. Unreadable files are skipped here; the walk reports them.
    pub fn collect(roots: &[PathBuf]) -> CiFacts {
        let mut facts = CiFacts::default();
        for root in roots.iter().filter(|r| r.is_dir()) {
            let mut queue: VecDeque<PathBuf> = ci_configs(root).into();
            let mut seen: BTreeSet<PathBuf> = queue.iter().cloned().collect();
            while let Some(file) = queue.pop_front() {
                let Ok(text) = std::fs::read_to_string(&file) else {
                    continue;
                };
                facts.add_secret_vars(&text);
                let dir = file.parent().unwrap_or(root).to_path_buf();
                for found in referenced_files(&text, root, &dir) {
                    if seen.len() >= MAX_SCRIPTS || !seen.insert(found.clone()) {
                        continue;
                    }
                    facts
                        .scripts
                        .insert(crate::source::tree::display_path(&found));
                    queue.push_back(found);
                }
            }
        }
        facts
    }

    /// Records the variables `text` (a CI config) fills from secrets.
    pub fn add_secret_vars(&mut self, text: &str) {
        for cap in SECRET_ENV.captures_iter(text) {
            self.secret_vars.insert(cap[1].to_string());
        }
    }

    /// True if a CI config runs the script at this display path.
    pub fn runs(&self, path: &str) -> bool {
        self.scripts.contains(path)
    }

    /// True if CI fills `name` from a secret store.
    pub fn is_secret_var(&self, name: &str) -> bool {
        self.secret_vars.contains(name) || CI_PROVIDED_SECRETS.contains(&name)
    }
}

/// `NAME: ${{ secrets.X }}` (also inside a longer value) and `NAME: ${{ github.token }}`.
static SECRET_ENV: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r#"(?m)^[ \t]*-?[ \t]*["']?([A-Za-z_][A-Za-z0-9_]*)["']?[ \t]*[:=][ \t]*["']?[^\n#]*\$\{\{\s*(?:secrets\.[A-Za-z0-9_]+|github\.token)\s*\}\}"#,
    )
    .unwrap()
});

/// A word that may name a file: letters, digits and `._-/`, optionally after `./` or a
/// workspace variable.
static PATH_WORD: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r#"(?:\$\{\{\s*github\.workspace\s*\}\}/|\$\{?GITHUB_WORKSPACE\}?/|\$\{?CI_PROJECT_DIR\}?/|\./)?([A-Za-z0-9_][A-Za-z0-9_.\-/]*)"#,
    )
    .unwrap()
});

/// Files under `root` that `text` names, relative to the root or to `dir` (the
/// config's or script's own directory), that could be scripts (not data or YAML).
fn referenced_files(text: &str, root: &Path, dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mentions_make = text.contains("make ") || text.contains("make\n");
    if mentions_make {
        for name in ["Makefile", "makefile", "GNUmakefile"] {
            let p = root.join(name);
            if p.is_file() {
                out.push(p);
            }
        }
    }
    for cap in PATH_WORD.captures_iter(text) {
        let word = cap[1].trim_end_matches(['.', '/']);
        if word.is_empty() || word.contains("..") || !could_be_script(word) {
            continue;
        }
        for base in [root, dir] {
            let candidate = base.join(word);
            if candidate.is_file() {
                out.push(candidate);
                break;
            }
        }
    }
    out
}

/// A word worth a `stat`: it has a directory part or a script extension.
fn could_be_script(word: &str) -> bool {
    let name = word.rsplit('/').next().unwrap_or(word);
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("sh" | "bash" | "zsh" | "ps1" | "bat" | "cmd" | "mk") => true,
        // Data and configs are not run (a workflow names many .yml, .json, .toml files).
        Some(_) => false,
        None => word.contains('/'),
    }
}

/// The CI config files under a root: GitHub workflows and composite actions, and the
/// other CI systems' files at their documented places.
fn ci_configs(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in [
        ".github/workflows",
        ".circleci",
        ".buildkite",
        ".azure-pipelines",
    ] {
        yaml_files(&root.join(dir), 0, &mut out);
    }
    yaml_files(&root.join(".github/actions"), 0, &mut out);
    for name in [
        ".gitlab-ci.yml",
        ".travis.yml",
        "azure-pipelines.yml",
        "appveyor.yml",
        ".appveyor.yml",
        "bitbucket-pipelines.yml",
        ".drone.yml",
        ".cirrus.yml",
        "cloudbuild.yaml",
        "Jenkinsfile",
    ] {
        let p = root.join(name);
        if p.is_file() {
            out.push(p);
        }
    }
    out
}

fn yaml_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() && depth < 3 {
            yaml_files(&p, depth + 1, out);
        } else if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(p);
        }
    }
}

/// CI configs by path: where every line runs in CI.
pub fn is_ci_config(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
    matches!(
        name.as_str(),
        ".gitlab-ci.yml"
            | ".travis.yml"
            | "azure-pipelines.yml"
            | "appveyor.yml"
            | ".appveyor.yml"
            | "bitbucket-pipelines.yml"
            | ".drone.yml"
            | ".cirrus.yml"
            | "cloudbuild.yaml"
            | "jenkinsfile"
    ) || (yaml
        && [
            ".github/workflows/",
            ".github/actions/",
            ".circleci/",
            ".buildkite/",
            ".azure-pipelines/",
        ]
        .iter()
        .any(|dir| path.starts_with(dir) || path.contains(&format!("/{dir}"))))
}

/// Directory names that hold tests and fixtures.
const TEST_DIRS: &[&str] = &[
    "test",
    "tests",
    "testing",
    "testdata",
    "test-data",
    "test_data",
    "fixtures",
    "fixture",
    "__tests__",
    "__fixtures__",
    "spec",
    "specs",
    "e2e",
    "integration-tests",
];

/// True if a directory of `relative` (a path relative to the linted root) is a test or
/// fixture directory.
pub fn is_test_path(relative: &str) -> bool {
    let mut parts: Vec<&str> = relative.split(['/', '\\']).collect();
    parts.pop(); // the file name
    parts
        .iter()
        .any(|p| TEST_DIRS.contains(&p.to_ascii_lowercase().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_paths_are_judged_by_directory() {
        assert!(is_test_path("test/units/module_utils/urls/fixtures/netrc"));
        assert!(is_test_path("pkg/testdata/x.sh"));
        assert!(!is_test_path("ci/test.sh"));
        assert!(!is_test_path("src/latest/x.sh"));
    }

    #[test]
    fn ci_configs_by_path() {
        assert!(is_ci_config(".github/workflows/ci.yml"));
        assert!(is_ci_config("repo/.gitlab-ci.yml"));
        assert!(!is_ci_config("ci/build.sh"));
        assert!(!is_ci_config("docs/workflows/ci.yml"));
    }

    #[test]
    fn scripts_reached_from_ci_and_secret_vars() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".github/workflows")).unwrap();
        std::fs::create_dir_all(root.join("ci")).unwrap();
        std::fs::create_dir_all(root.join("test")).unwrap();
        std::fs::write(
            root.join(".github/workflows/ci.yml"),
            "on: push\njobs:\n  a:\n    runs-on: x\n    env:\n      ANACONDA_TOKEN: ${{ secrets.ANACONDA_TOKEN }}\n    steps:\n      - run: bash ci/build.sh --fast\n      - run: cat config.yml\n",
        )
        .unwrap();
        std::fs::write(root.join("ci/build.sh"), "./ci/upload.sh\n").unwrap();
        std::fs::write(root.join("ci/upload.sh"), "echo hi\n").unwrap();
        std::fs::write(root.join("test/runme.sh"), "echo $PASSWORD\n").unwrap();
        std::fs::write(root.join("config.yml"), "a: 1\n").unwrap();
        let facts = CiFacts::collect(&[root.to_path_buf()]);
        let shown = |rel: &str| crate::source::tree::display_path(&root.join(rel));
        assert!(facts.runs(&shown("ci/build.sh")), "{facts:?}");
        assert!(facts.runs(&shown("ci/upload.sh")), "{facts:?}");
        assert!(!facts.runs(&shown("test/runme.sh")));
        assert!(!facts.runs(&shown("config.yml")));
        assert!(facts.is_secret_var("ANACONDA_TOKEN"));
        assert!(facts.is_secret_var("CI_JOB_TOKEN"));
        assert!(!facts.is_secret_var("PASSWORD"));
    }
}
