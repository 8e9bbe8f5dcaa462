//! Timing one command: wall time, user and system CPU and peak RSS (from GNU time), and
//! the min / median / max over the timed runs of each tool.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// One run of one command.
pub(crate) struct Run {
    pub(crate) wall: f64,
    /// User and system CPU seconds, from `/usr/bin/time` (`None` without GNU time).
    pub(crate) cpu: Option<(f64, f64)>,
    pub(crate) rss_kb: Option<u64>,
    pub(crate) ok: bool,
    pub(crate) code: Option<i32>,
    pub(crate) stderr: String,
}

pub(crate) fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs `argv` under `/usr/bin/time -f "%M %U %S"` (peak RSS in KB, user and system CPU
/// seconds), stdout to `out`.
pub(crate) fn run_once(argv: &[String], out: &Path, work: &Path) -> Run {
    let time_out = work.join("time.out");
    let use_time = Path::new("/usr/bin/time").exists();
    let mut cmd = if use_time {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f")
            .arg("%M %U %S")
            .arg("-o")
            .arg(&time_out)
            .args(argv);
        c
    } else {
        let mut c = Command::new(&argv[0]);
        c.args(&argv[1..]);
        c
    };
    let stdout = fs::File::create(out).expect("create output file");
    let err_path = work.join("stderr.out");
    let stderr = fs::File::create(&err_path).expect("create stderr file");
    let t0 = Instant::now();
    let status = cmd
        .stdout(stdout)
        .stderr(stderr)
        .stdin(Stdio::null())
        .status();
    let wall = t0.elapsed().as_secs_f64();
    let (rss_kb, cpu) = if use_time {
        parse_time(&fs::read_to_string(&time_out).unwrap_or_default())
    } else {
        (None, None)
    };
    let err = fs::read_to_string(&err_path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with("Command exited with non-zero status"))
        .collect::<Vec<_>>()
        .join("\n");
    match status {
        Ok(s) => Run {
            wall,
            cpu,
            rss_kb,
            ok: s.success(),
            code: s.code(),
            stderr: err,
        },
        Err(e) => Run {
            wall,
            cpu: None,
            rss_kb: None,
            ok: false,
            code: None,
            stderr: format!("cannot start: {e}"),
        },
    }
}

/// The last `RSS USER SYS` line GNU time wrote.
fn parse_time(text: &str) -> (Option<u64>, Option<(f64, f64)>) {
    for line in text.lines().rev() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [rss, user, sys] = f[..] {
            if let (Ok(rss), Ok(user), Ok(sys)) = (rss.parse(), user.parse(), sys.parse()) {
                return (Some(rss), Some((user, sys)));
            }
        }
    }
    (None, None)
}

/// min, median, max of a sample.
#[derive(Clone, Copy)]
pub(crate) struct Spread {
    pub(crate) min: f64,
    pub(crate) median: f64,
    pub(crate) max: f64,
}

impl Spread {
    pub(crate) fn of(xs: &[f64]) -> Spread {
        let mut w = xs.to_vec();
        w.sort_by(f64::total_cmp);
        if w.is_empty() {
            return Spread {
                min: f64::NAN,
                median: f64::NAN,
                max: f64::NAN,
            };
        }
        let n = w.len();
        let median = if n % 2 == 1 {
            w[n / 2]
        } else {
            (w[n / 2 - 1] + w[n / 2]) / 2.0
        };
        Spread {
            min: w[0],
            median,
            max: w[n - 1],
        }
    }
    pub(crate) fn show(self) -> String {
        format!("{:.3}/{:.3}/{:.3}", self.min, self.median, self.max)
    }
}

/// Every timed run of one tool.
pub(crate) struct Stats {
    pub(crate) label: String,
    pub(crate) walls: Vec<f64>,
    pub(crate) users: Vec<f64>,
    pub(crate) systems: Vec<f64>,
    pub(crate) rss_kb: u64,
    pub(crate) failed: Option<String>,
}

impl Stats {
    pub(crate) fn new(label: &str) -> Stats {
        Stats {
            label: label.into(),
            walls: vec![],
            users: vec![],
            systems: vec![],
            rss_kb: 0,
            failed: None,
        }
    }
    pub(crate) fn add(&mut self, r: &Run) {
        if !r.ok && self.failed.is_none() {
            let head: String = r.stderr.lines().take(6).collect::<Vec<_>>().join("\n    ");
            self.failed = Some(format!("exit {:?}: {head}", r.code));
        }
        self.walls.push(r.wall);
        if let Some((user, sys)) = r.cpu {
            self.users.push(user);
            self.systems.push(sys);
        }
        self.rss_kb = self.rss_kb.max(r.rss_kb.unwrap_or(0));
    }
    pub(crate) fn wall(&self) -> Spread {
        Spread::of(&self.walls)
    }
    pub(crate) fn user(&self) -> Spread {
        Spread::of(&self.users)
    }
    pub(crate) fn print(&self, mb: f64) {
        let wall = self.wall();
        let rss = if self.rss_kb > 0 {
            format!("{:.1} MB", self.rss_kb as f64 / 1024.0)
        } else {
            "n/a".into()
        };
        println!(
            "  {:<40} {:>20} {:>20} {:>8.3} {:>8.0} {:>10}{}",
            self.label,
            wall.show(),
            self.user().show(),
            Spread::of(&self.systems).median,
            mb / wall.median,
            rss,
            if self.failed.is_some() {
                "  (FAILED, see below)"
            } else {
                ""
            }
        );
    }
}

pub(crate) fn table_header(unit: &str) {
    println!(
        "  {:<40} {:>20} {:>20} {:>8} {:>8} {:>10}",
        "tool", "wall s min/med/max", "user s min/med/max", "sys s", unit, "peak RSS"
    );
}

/// "met" or "NOT met", for a target line.
pub(crate) fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

pub(crate) fn shorten(s: &str) -> String {
    if s.len() > 400 {
        format!("{}...", &s[..400])
    } else {
        s.to_string()
    }
}

/// Every distinct keyword of the built-in rules, from leakscope's own rule loader.
pub(crate) fn rule_keywords() -> Vec<String> {
    let set = leakscope::rules::RuleSet::builtin().expect("built-in rules load");
    let mut seen = std::collections::HashSet::new();
    set.rules
        .iter()
        .flat_map(|r| r.spec.keywords.iter())
        .filter(|k| seen.insert(k.to_ascii_lowercase()))
        .cloned()
        .collect()
}

pub(crate) fn leakscope_bin() -> String {
    std::env::var("LEAKSCOPE_BENCH_BIN").unwrap_or_else(|_| {
        option_env!("CARGO_BIN_EXE_leakscope")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}/target/release/leakscope", env!("CARGO_MANIFEST_DIR")))
    })
}
