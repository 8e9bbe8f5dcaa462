//! `--exclude GLOB` on repository names: `*` any run of characters (across `/` too, so
//! `acme/*-archive` and `*/legacy-*` both work), `?` one character, the rest literal.

/// Whether `name` matches `pattern` (case-insensitive, as GitHub treats names).
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let n: Vec<char> = name.to_lowercase().chars().collect();
    // Iterative wildcard match with one backtrack point: linear in practice, never
    // exponential.
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn stars_and_marks() {
        assert!(matches("acme/*-archive", "acme/old-archive"));
        assert!(matches("*/legacy-*", "Acme/Legacy-Api"));
        assert!(matches("acme/a?c", "acme/abc"));
        assert!(!matches("acme/a?c", "acme/abbc"));
        assert!(!matches("acme/api", "acme/api2"));
        assert!(matches("*", ""));
    }
}
