//! One git repository builder for the tests: a repository in a temporary directory,
//! driven through the git CLI with no user or system config, a fixed identity and a
//! test-controlled clock, so commits are reproducible; plus raw object writes through
//! libgit2 for the hostile-history tests, which need trees git itself would refuse.

use git2::{ObjectType, Oid, Repository};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The date of a new repository's first git command (2023-11-14T22:13:20Z).
pub const EPOCH: u64 = 1_700_000_000;

/// The identity every commit gets unless a test names another.
pub const ALICE: (&str, &str) = ("Alice Example", "alice@example.test");

/// A `git` command in `dir` with `author` as author and committer, dated `seconds`
/// (Unix time) in `zone` (`+0200`), and no user or system config: for the callers that
/// need the raw output (a hook that must fail); [`git_with`] runs it and checks it.
pub fn git_command(dir: &Path, author: (&str, &str), seconds: u64, zone: &str) -> Command {
    let date = format!("{seconds} {zone}");
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", author.0)
        .env("GIT_AUTHOR_EMAIL", author.1)
        .env("GIT_COMMITTER_NAME", author.0)
        .env("GIT_COMMITTER_EMAIL", author.1)
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date);
    cmd
}

/// Runs [`git_command`] with `args`; panics with git's stderr unless it succeeds;
/// returns its trimmed stdout.
pub fn git_with(
    dir: &Path,
    args: &[&str],
    author: (&str, &str),
    seconds: u64,
    zone: &str,
) -> String {
    let out = git_command(dir, author, seconds, zone)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs git in `dir` (a clone, a worktree: any directory) as [`ALICE`] at [`EPOCH`] UTC.
pub fn git_at(dir: &Path, args: &[&str]) -> String {
    git_with(dir, args, ALICE, EPOCH, "+0000")
}

/// A repository at `<tempdir>/repo` on branch `main`; the temporary directory beside it
/// is scratch space (clones, event files) removed with it.
pub struct Repo {
    dir: tempfile::TempDir,
    pub path: PathBuf,
    /// Seconds after [`EPOCH`] that the next git command is dated.
    clock: Cell<u64>,
    /// The time zone of every date (`+0000`, `+0200`).
    zone: &'static str,
}

impl Repo {
    /// `git init -b main`, dates in UTC.
    pub fn new() -> Repo {
        Repo::in_zone("+0000")
    }

    /// `git init -b main`, dates in `zone` (`+0200`).
    pub fn in_zone(zone: &'static str) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("repo");
        std::fs::create_dir(&path).unwrap();
        let repo = Repo {
            dir,
            path,
            clock: Cell::new(0),
            zone,
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    /// The repository's `.git` directory.
    pub fn git_dir(&self) -> PathBuf {
        self.path.join(".git")
    }

    /// A path in the scratch directory beside the repository.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Moves the clock `hours` on.
    pub fn tick(&self, hours: u64) {
        self.clock.set(self.clock.get() + hours * 3600);
    }

    fn now(&self) -> u64 {
        EPOCH + self.clock.get()
    }

    /// Runs git in the repository as [`ALICE`] at the clock's time.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_as(args, ALICE)
    }

    /// Runs git in the repository as `author` at the clock's time.
    pub fn git_as(&self, args: &[&str], author: (&str, &str)) -> String {
        git_with(&self.path, args, author, self.now(), self.zone)
    }

    /// A git command in the repository as [`ALICE`] at the clock's time, not yet run.
    pub fn command(&self) -> Command {
        git_command(&self.path, ALICE, self.now(), self.zone)
    }

    /// Writes `content` to `path` in the work tree, creating its directories.
    pub fn write(&self, path: &str, content: &str) {
        let full = self.path.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }

    /// Removes `path` from the work tree.
    pub fn remove(&self, path: &str) {
        std::fs::remove_file(self.path.join(path)).unwrap();
    }

    /// Appends `line` and a newline to `file` (created if absent).
    pub fn append_line(&self, file: &str, line: &str) {
        let full = self.path.join(file);
        let mut text = std::fs::read_to_string(&full).unwrap_or_default();
        text.push_str(line);
        text.push('\n');
        std::fs::write(full, text).unwrap();
    }

    /// Stages everything and commits `hours` after the previous commit as `author`
    /// (empty commits allowed); returns the commit id.
    pub fn commit_after_as(&self, hours: u64, message: &str, author: (&str, &str)) -> String {
        self.tick(hours);
        self.git_as(&["add", "-A"], author);
        self.git_as(&["commit", "-q", "--allow-empty", "-m", message], author);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Stages everything and commits `hours` after the previous commit; returns its id.
    pub fn commit_after(&self, hours: u64, message: &str) -> String {
        self.commit_after_as(hours, message, ALICE)
    }

    /// Stages everything and commits one hour after the previous commit as `author`.
    pub fn commit_as(&self, message: &str, author: (&str, &str)) -> String {
        self.commit_after_as(1, message, author)
    }

    /// Stages everything and commits one hour after the previous commit; returns its id.
    pub fn commit(&self, message: &str) -> String {
        self.commit_after(1, message)
    }

    /// Appends `line` to `file` and commits it as `edit <file>`; returns the commit id.
    pub fn commit_line(&self, file: &str, line: &str) -> String {
        self.append_line(file, line);
        self.commit(&format!("edit {file}"))
    }

    /// The repository through libgit2, for raw object writes.
    pub fn git2(&self) -> Repository {
        Repository::open(&self.path).unwrap()
    }

    /// Writes a blob object holding `content`.
    pub fn blob(&self, content: &str) -> Oid {
        self.git2().blob(content.as_bytes()).unwrap()
    }

    /// A tree object from `(mode, name, id)` entries, written raw (git wants them
    /// sorted by name; callers pass them so, or not on purpose).
    pub fn tree(&self, entries: &[(&str, &str, Oid)]) -> Oid {
        let mut data = Vec::new();
        for (mode, name, oid) in entries {
            data.extend_from_slice(mode.as_bytes());
            data.push(b' ');
            data.extend_from_slice(name.as_bytes());
            data.push(0);
            data.extend_from_slice(oid.as_bytes());
        }
        self.git2()
            .odb()
            .unwrap()
            .write(ObjectType::Tree, &data)
            .unwrap()
    }

    /// A commit object of `tree` with `parents`, moving no ref, dated one hour per
    /// parent after [`EPOCH`].
    pub fn raw_commit(&self, tree: Oid, parents: &[Oid], message: &str) -> Oid {
        let repo = self.git2();
        let sig = git2::Signature::new(
            ALICE.0,
            ALICE.1,
            &git2::Time::new(EPOCH as i64 + parents.len() as i64 * 3600, 0),
        )
        .unwrap();
        let tree = repo.find_tree(tree).unwrap();
        let parents: Vec<git2::Commit<'_>> = parents
            .iter()
            .map(|p| repo.find_commit(*p).unwrap())
            .collect();
        let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
        repo.commit(None, &sig, &sig, message, &tree, &parents)
            .unwrap()
    }

    /// A raw commit with one file `name` holding `content` on top of `parents`.
    pub fn commit_file(&self, parents: &[Oid], name: &str, content: &str) -> Oid {
        let blob = self.blob(content);
        let tree = self.tree(&[("100644", name, blob)]);
        self.raw_commit(tree, parents, &format!("add {name}"))
    }

    /// Points `refs/heads/main` and HEAD at `commit`.
    pub fn set_main(&self, commit: Oid) {
        let repo = self.git2();
        repo.reference("refs/heads/main", commit, true, "test")
            .unwrap();
        repo.set_head("refs/heads/main").unwrap();
    }
}
