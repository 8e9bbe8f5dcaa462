//! The matcher: a literal prefilter, then each rule's regex on the windows it allows.
//!
//! Almost every byte of a source tree holds no token. One Aho-Corasick pass over the
//! rules' keywords (SIMD-accelerated for a handful of short literals) finds the few places
//! that could; only the lines around those hits reach the full regexes. That keeps the
//! cost per byte close to a literal search like ripgrep's.

use crate::rules::{Rule, RuleSet, WINDOW_RADIUS};
use crate::validators::is_placeholder;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// A candidate secret that passed its rule's regex, validator and placeholder check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawMatch {
    /// Index into [`Matcher::rules`].
    pub rule: usize,
    /// Byte span of the secret (the capture group) in the haystack.
    pub start: usize,
    pub end: usize,
}

pub struct Matcher {
    rules: Vec<Rule>,
    /// One automaton over every distinct keyword, ASCII case-insensitive.
    keywords: Option<AhoCorasick>,
    /// For each keyword pattern, the rules that listed it.
    keyword_rules: Vec<Vec<usize>>,
    /// Rules without keywords: they run on whole files whose path they match.
    path_only_rules: Vec<usize>,
}

impl Matcher {
    pub fn new(set: RuleSet) -> Result<Matcher, aho_corasick::BuildError> {
        let rules = set.rules;
        let mut patterns: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut path_only_rules = Vec::new();
        // Keyword -> pattern index: a linear search here made loading 200k keywords
        // quadratic (35 s).
        let mut pattern_of: std::collections::HashMap<String, usize> =
            std::collections::HashMap::new();
        for (index, rule) in rules.iter().enumerate() {
            if rule.spec.keywords.is_empty() {
                path_only_rules.push(index);
            }
            for keyword in &rule.spec.keywords {
                let lower = keyword.to_ascii_lowercase();
                match pattern_of.get(&lower) {
                    Some(&p) => {
                        if keyword_rules[p].last() != Some(&index) {
                            keyword_rules[p].push(index);
                        }
                    }
                    None => {
                        pattern_of.insert(lower.clone(), patterns.len());
                        patterns.push(lower);
                        keyword_rules.push(vec![index]);
                    }
                }
            }
        }
        let keywords = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)?,
            )
        };
        Ok(Matcher {
            rules,
            keywords,
            keyword_rules,
            path_only_rules,
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The distinct keywords, lowercased (what the prefilter searches for).
    pub fn keyword_count(&self) -> usize {
        self.keyword_rules.len()
    }

    /// Appends to `out` every secret in `haystack`, sorted by position. `path` decides
    /// which path-restricted rules apply (`None` for text with no path).
    pub fn find(&self, haystack: &[u8], path: Option<&str>, out: &mut Vec<RawMatch>) {
        let first = out.len();
        // For each rule, the end of the last window it ran on. When that window ended
        // at a line end, any later hit before it is on the same line: skip it. A window
        // cut short on a long line does not cover the next hit's, which runs in full;
        // dedup drops the spans both windows found.
        let mut covered_until: Vec<usize> = vec![0; self.rules.len()];
        let mut line_complete: Vec<bool> = vec![false; self.rules.len()];
        if let Some(ac) = &self.keywords {
            for hit in ac.find_overlapping_iter(haystack) {
                for &rule_index in &self.keyword_rules[hit.pattern().as_usize()] {
                    let covered = covered_until[rule_index];
                    if hit.end() <= covered
                        && (line_complete[rule_index] || hit.end() + WINDOW_RADIUS <= covered)
                    {
                        continue;
                    }
                    let rule = &self.rules[rule_index];
                    if !rule.applies_to(path) {
                        continue;
                    }
                    let (start, end) = window(haystack, hit.start(), hit.end());
                    if end <= covered {
                        continue;
                    }
                    covered_until[rule_index] = end;
                    line_complete[rule_index] = end == haystack.len() || haystack[end] == b'\n';
                    run_rule(rule, rule_index, haystack, start, end, out);
                }
            }
        }
        for &rule_index in &self.path_only_rules {
            let rule = &self.rules[rule_index];
            if rule.applies_to(path) {
                run_rule(rule, rule_index, haystack, 0, haystack.len(), out);
            }
        }
        dedup(&mut out[first..]);
        let kept = out[first..].iter().filter(|m| m.rule != usize::MAX).count();
        out[first..].sort_by_key(|m| (m.rule == usize::MAX, m.start, m.rule));
        out.truncate(first + kept);
    }
}

/// The whole line(s) around a keyword hit, at most [`WINDOW_RADIUS`] bytes either side.
fn window(haystack: &[u8], hit_start: usize, hit_end: usize) -> (usize, usize) {
    let lower = hit_start.saturating_sub(WINDOW_RADIUS);
    let start = memchr::memrchr(b'\n', &haystack[lower..hit_start])
        .map(|i| lower + i + 1)
        .unwrap_or(lower);
    let upper = (hit_end + WINDOW_RADIUS).min(haystack.len());
    let end = memchr::memchr(b'\n', &haystack[hit_end..upper])
        .map(|i| hit_end + i)
        .unwrap_or(upper);
    (start, end)
}

fn run_rule(
    rule: &Rule,
    rule_index: usize,
    haystack: &[u8],
    start: usize,
    end: usize,
    out: &mut Vec<RawMatch>,
) {
    let Some(regex) = rule.regex().filter(|_| start < end) else {
        return;
    };
    for caps in regex.captures_iter(&haystack[start..end]) {
        let Some(secret) = caps.get(1) else { continue };
        let Ok(text) = std::str::from_utf8(secret.as_bytes()) else {
            continue;
        };
        if is_placeholder(text) {
            continue;
        }
        if let Some(validator) = rule.validator {
            if !validator.check(text) {
                continue;
            }
        }
        out.push(RawMatch {
            rule: rule_index,
            start: start + secret.start(),
            end: start + secret.end(),
        });
    }
}

/// When two rules find the same span, the earlier rule wins; a span inside another
/// found span (a JWT inside a `ghs_` stateless token, say) is not a second secret.
/// Losers are marked with `rule == usize::MAX` and dropped by the caller.
fn dedup(matches: &mut [RawMatch]) {
    // Longest first at each start, then earliest rule.
    matches.sort_by_key(|m| (m.start, std::cmp::Reverse(m.end), m.rule));
    let mut reach = 0usize;
    let mut last: Option<(usize, usize)> = None;
    for m in matches.iter_mut() {
        let same_span = last == Some((m.start, m.end));
        let inside = m.end <= reach && last.is_some();
        if same_span || inside {
            m.rule = usize::MAX;
            continue;
        }
        last = Some((m.start, m.end));
        reach = reach.max(m.end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::parse_rules;

    fn matcher(toml: &str) -> Matcher {
        Matcher::new(RuleSet {
            rules: parse_rules(toml, "test.toml").unwrap(),
        })
        .unwrap()
    }

    const TWO_RULES: &str = r#"
[[rule]]
id = "t.long"
name = "long"
provider = "test"
keywords = ["tok_"]
regex = '''\b(tok_[a-z0-9]{12})\b'''

[[rule]]
id = "t.same"
name = "same span, later rule"
provider = "test"
keywords = ["tok_"]
regex = '''\b(tok_[a-z0-9]{12})\b'''

[[rule]]
id = "t.inner"
name = "inner span"
provider = "test"
keywords = ["k9"]
regex = '''(k9[a-z0-9]{6})'''
"#;

    #[test]
    fn earlier_rule_wins_and_inner_spans_drop() {
        let m = matcher(TWO_RULES);
        let mut out = Vec::new();
        m.find(b"x = tok_ab1k9cd2ef3g\n", None, &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].rule, 0);
        assert_eq!((out[0].start, out[0].end), (4, 20));
    }

    #[test]
    fn keywords_are_case_insensitive_and_windows_are_lines() {
        let m = matcher(TWO_RULES);
        let mut out = Vec::new();
        let text = b"TOK_ is here\nno\nsecond tok_abcdefgh1234 and tok_zzzzyyyy9876\n";
        m.find(text, None, &mut out);
        assert_eq!(out.len(), 2);
        assert!(out[0].start < out[1].start);
    }

    #[test]
    fn an_uppercase_keyword_opens_a_window_and_other_lines_stay_shut() {
        let m = matcher(
            r#"
[[rule]]
id = "t.kv"
name = "key value"
provider = "test"
keywords = ["apikey"]
regex = '''x=([a-z0-9]{12})'''
"#,
        );
        let mut out = Vec::new();
        m.find(b"APIKEY x=q7w3e9r1t5y2\n", None, &mut out);
        assert_eq!(out.len(), 1, "ASCII case-insensitive keyword");
        out.clear();
        m.find(
            b"apikey mentioned\nfiller\nx=q7w3e9r1t5y2\n",
            None,
            &mut out,
        );
        assert!(out.is_empty(), "two lines away from the keyword: {out:?}");
    }

    #[test]
    fn path_rules_run_only_on_their_paths() {
        let m = matcher(
            r#"
[[rule]]
id = "t.file"
name = "token file"
provider = "test"
path = '''\.token$'''
regex = '''\A\s*([a-z]{2}-[0-9a-f]{8})\s*\z'''
"#,
        );
        let mut out = Vec::new();
        m.find(b"ab-12cd34ef\n", Some("x/api.token"), &mut out);
        assert_eq!(out.len(), 1);
        out.clear();
        m.find(b"ab-12cd34ef\n", Some("x/api.txt"), &mut out);
        assert!(out.is_empty());
    }
}
