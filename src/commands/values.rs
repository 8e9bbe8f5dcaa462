//! Parsers for flag values that are more than a number: sizes with suffixes (`10M`,
//! `512k`, `1GiB`) and thread counts. A bad value is a clap error naming the flag
//! (exit 2), never a panic or a silent default.

/// Thread counts above this are refused outright: no machine has them, and an
/// allocation per thread of that many would abort the process.
pub const MAX_THREADS_ACCEPTED: usize = 4096;
/// Threads beyond this many per core only cost memory and contention: `-j` is capped
/// there, with a note.
pub const THREADS_PER_CORE_CAP: usize = 4;

/// Parses a size in bytes: `1048576`, `512k`, `10M`, `10MiB`, `1.5G`, `2GB`.
///
/// `K`, `M`, `G`, `T` (any case, with or without `iB`) are powers of 1024, as in ripgrep's
/// `--max-filesize`; `kB`, `MB`, `GB`, `TB` are powers of 1000 (SI). A plain number is
/// bytes (`B` may be written).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let unit = unit.trim();
    let multiplier: u128 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "{text:?} is not a size: unknown unit {unit:?} (use bytes or K, M, G, T, KiB, MiB, GiB, kB, MB, GB)"
            ))
        }
    };
    let (whole, fraction) = match number.split_once('.') {
        Some((w, f)) => (w, f),
        None => (number, ""),
    };
    let bad = || format!("{text:?} is not a size (examples: 1048576, 512k, 10M, 10MiB, 1G)");
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') || fraction.len() > 9 {
        return Err(bad());
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let fraction_value: u128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().map_err(|_| bad())?
    };
    let scale = 10u128.pow(fraction.len() as u32);
    let bytes = whole
        .checked_mul(multiplier)
        .and_then(|b| b.checked_add(fraction_value * multiplier / scale))
        .filter(|&b| b <= u64::MAX as u128)
        .ok_or_else(|| format!("{text:?} is too large a size"))?;
    Ok(bytes as u64)
}

/// Parses `-j`: a whole number of threads, 0 for one per core, refused above
/// [`MAX_THREADS_ACCEPTED`].
pub fn parse_threads(text: &str) -> Result<usize, String> {
    let n: u128 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of threads (0 = one per core)"))?;
    if n > MAX_THREADS_ACCEPTED as u128 {
        return Err(format!(
            "{n} threads is not a sane thread count (at most {MAX_THREADS_ACCEPTED}; 0 = one per core)"
        ));
    }
    Ok(n as usize)
}

/// The thread count to use for `-j requested`: 0 stays 0 (one per core, decided by the
/// pool), and more than [`THREADS_PER_CORE_CAP`] per core is capped, with a note.
pub fn effective_threads(requested: usize) -> usize {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let cap = cores * THREADS_PER_CORE_CAP;
    if requested > cap {
        crate::ui::note(format!(
            "-j {requested}: capped at {cap} threads ({THREADS_PER_CORE_CAP} per core, {cores} {})",
            if cores == 1 { "core" } else { "cores" }
        ));
        cap
    } else {
        requested
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_and_si_suffixes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert_eq!(parse_size("10MiB"), Ok(10 << 20));
        assert_eq!(parse_size("10 MiB"), Ok(10 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("2kB"), Ok(2_000));
        assert_eq!(parse_size("100B"), Ok(100));
        for bad in ["", "M", "ten", "10X", "1.2.3M", "-5", "1e6", ".", "10 M B"] {
            assert!(parse_size(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(parse_size("99999999999T")
            .unwrap_err()
            .contains("too large"));
        assert!(parse_size("18446744073709551616").is_err());
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn absurd_thread_counts_are_refused_and_large_ones_capped() {
        assert_eq!(parse_threads("0"), Ok(0));
        assert_eq!(parse_threads("8"), Ok(8));
        assert!(parse_threads("18446744073709551615").is_err());
        assert!(parse_threads("4294967296").is_err());
        assert!(parse_threads("1000000").is_err());
        assert!(parse_threads("-1").is_err());
        assert_eq!(effective_threads(0), 0);
        assert_eq!(effective_threads(1), 1);
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(
            effective_threads(4096),
            (cores * THREADS_PER_CORE_CAP).min(4096)
        );
    }
}
