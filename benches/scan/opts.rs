//! Command-line options of the bench.

pub(crate) struct Opts {
    pub(crate) git: bool,
    pub(crate) reps: usize,
    pub(crate) mb: u64,
    pub(crate) plants: usize,
    pub(crate) commits: usize,
    pub(crate) regen: bool,
    pub(crate) stop_on_fail: bool,
    /// Tree corpus without archives and base64 plants (the plain-text files alone).
    pub(crate) plain_only: bool,
}

pub(crate) fn parse_opts() -> Option<Opts> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("benches/scan.rs: not run (start it with `cargo bench --bench scan`)");
        return None;
    }
    let mut o = Opts {
        git: std::env::var("LEAKSCOPE_BENCH").is_ok_and(|v| v == "git"),
        reps: 5,
        mb: 520,
        plants: 300,
        commits: 4000,
        regen: false,
        stop_on_fail: false,
        plain_only: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |name: &str| -> u64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match a.as_str() {
            "--bench" => {}
            "--git" => o.git = true,
            "--reps" => o.reps = num("--reps").max(1) as usize,
            "--mb" => o.mb = num("--mb").max(1),
            "--plants" => o.plants = num("--plants").max(1) as usize,
            "--commits" => o.commits = num("--commits").max(10) as usize,
            "--regen" => o.regen = true,
            "--stop-on-fail" => o.stop_on_fail = true,
            "--plain-only" => o.plain_only = true,
            other => eprintln!("ignoring unknown argument {other:?}"),
        }
    }
    Some(o)
}
