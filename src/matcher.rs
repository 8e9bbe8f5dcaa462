//! The matcher: a literal prefilter, then each rule's regex on the windows it allows.
//!
//! Almost every byte of a source tree holds no token. Three cheap passes find the few
//! places that could, and only the lines around those places reach the full regexes:
//!
//! - the rules' case-sensitive `prefixes` (`ghp_`, `github_pat_`, `/t/`, ...): one
//!   Aho-Corasick automaton whose prefilter is the packed SIMD (Teddy) searcher, which an
//!   ASCII-case-insensitive automaton never gets;
//! - the rules' `shapes`, for secrets with no fixed literal (a legacy 40-hex token, an
//!   Anaconda UUID token): runs of the secret's alphabet found by sampling one byte in
//!   the secret's length (see [`crate::shape`]);
//! - for rules that have neither (user rules), their keywords, ASCII case-insensitive.
//!
//! A rule's `keywords` (case-insensitive context words such as `ANACONDA_API_TOKEN`) are
//! then looked for only inside the window around a prefix or shape candidate.

use crate::rules::{Rule, RuleSet, WINDOW_RADIUS};
use crate::shape::Shape;
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

/// One automaton over distinct literals, and for each literal the rules that listed it.
struct Literals {
    automaton: AhoCorasick,
    /// For case-sensitive literals, the packed SIMD (Teddy) searcher when the CPU has
    /// one: aho-corasick's own prefilter picks a rare-byte `memchr3` for short literals
    /// such as `/t/`, and `/` and `_` are everywhere in source. Leftmost, not overlapping:
    /// a hit inside an earlier hit is on the same line, whose window the earlier one opens.
    packed: Option<aho_corasick::packed::Searcher>,
    rules: Vec<Vec<usize>>,
}

impl Literals {
    /// `None` when no rule lists a literal of this kind.
    fn build<'a>(
        lists: impl Iterator<Item = (usize, &'a [String])>,
        case_insensitive: bool,
    ) -> Result<Option<Literals>, aho_corasick::BuildError> {
        let mut patterns: Vec<String> = Vec::new();
        let mut rules: Vec<Vec<usize>> = Vec::new();
        // Literal -> pattern index: a linear search here made loading 200k keywords
        // quadratic (35 s). Rules come in order, so a rule already listed for a
        // literal is its last entry.
        let mut pattern_of: std::collections::HashMap<String, usize> =
            std::collections::HashMap::new();
        for (index, list) in lists {
            for literal in list {
                let literal = if case_insensitive {
                    literal.to_ascii_lowercase()
                } else {
                    literal.clone()
                };
                match pattern_of.get(&literal) {
                    Some(&p) if rules[p].last() != Some(&index) => rules[p].push(index),
                    Some(_) => {}
                    None => {
                        pattern_of.insert(literal.clone(), patterns.len());
                        patterns.push(literal);
                        rules.push(vec![index]);
                    }
                }
            }
        }
        if patterns.is_empty() {
            return Ok(None);
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(case_insensitive)
            .match_kind(MatchKind::Standard)
            .build(&patterns)?;
        let packed = if case_insensitive {
            None
        } else {
            aho_corasick::packed::Searcher::new(&patterns)
        };
        Ok(Some(Literals {
            automaton,
            packed,
            rules,
        }))
    }
}

/// How a rule's windows open, from its rule-file fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// `prefixes` or `shapes` (the fast passes); keywords, if any, are context.
    Candidates,
    /// Keywords only: the case-insensitive pass (user rules written before prefixes).
    Keywords,
    /// Neither: the rule runs on whole files whose path it matches.
    PathOnly,
}

pub struct Matcher {
    rules: Vec<Rule>,
    /// Case-sensitive prefixes of the rules triggered by candidates.
    prefixes: Option<Literals>,
    /// Each shape some rule lists, with those rules.
    shapes: Vec<(Shape, Vec<usize>)>,
    /// ASCII case-insensitive keywords of the rules triggered by keywords.
    keywords: Option<Literals>,
    /// Per rule: the context words a candidate's window must hold (ASCII
    /// case-insensitive), or `None` when the candidate itself implies them.
    context: Vec<Option<AhoCorasick>>,
    /// Rules without keywords, prefixes or shapes: they run on whole files whose path
    /// they match.
    path_only_rules: Vec<usize>,
    /// How deep and how big archives are opened (the scan's flags).
    archive_limits: crate::archive::Limits,
    /// The base64 forms of the rules' `encoded_keywords`, searched inside base64 runs.
    encoded: Option<AhoCorasick>,
}

impl Matcher {
    pub fn new(set: RuleSet) -> Result<Matcher, aho_corasick::BuildError> {
        let rules = set.rules;
        let triggers: Vec<Trigger> = rules.iter().map(trigger).collect();
        let with = |t: Trigger| {
            let triggers = &triggers;
            rules
                .iter()
                .enumerate()
                .filter(move |(i, _)| triggers[*i] == t)
        };
        // The base64 forms of the rules' `encoded_keywords` are looked for only inside
        // runs of base64 long enough to hold a token (a shape pass, sampling one byte in
        // 52): in the SIMD literal search they cost 3.5 times its time (measured: 22
        // more literals overwhelm slim Teddy's 8 buckets).
        let mut forms: Vec<String> = Vec::new();
        for rule in &rules {
            for literal in &rule.spec.encoded_keywords {
                for form in crate::decode::encoded_literals(literal) {
                    if !forms.contains(&form) {
                        forms.push(form);
                    }
                }
            }
        }
        let encoded = if forms.is_empty() {
            None
        } else {
            Some(AhoCorasickBuilder::new().build(&forms)?)
        };
        let prefixes = Literals::build(
            with(Trigger::Candidates).map(|(i, r)| (i, r.spec.prefixes.as_slice())),
            false,
        )?;
        let keywords = Literals::build(
            with(Trigger::Keywords).map(|(i, r)| (i, r.spec.keywords.as_slice())),
            true,
        )?;
        let mut shapes: Vec<(Shape, Vec<usize>)> = Vec::new();
        for (index, rule) in with(Trigger::Candidates) {
            for &shape in &rule.spec.shapes {
                match shapes.iter_mut().find(|(s, _)| *s == shape) {
                    Some((_, list)) if !list.contains(&index) => list.push(index),
                    Some(_) => {}
                    None => shapes.push((shape, vec![index])),
                }
            }
        }
        let mut context = Vec::with_capacity(rules.len());
        for (rule, t) in rules.iter().zip(&triggers) {
            context.push(if *t == Trigger::Candidates && needs_context(rule) {
                Some(
                    AhoCorasickBuilder::new()
                        .ascii_case_insensitive(true)
                        .build(&rule.spec.keywords)?,
                )
            } else {
                None
            });
        }
        let path_only_rules = with(Trigger::PathOnly).map(|(i, _)| i).collect();
        Ok(Matcher {
            rules,
            prefixes,
            shapes,
            keywords,
            context,
            path_only_rules,
            archive_limits: crate::archive::Limits::default(),
            encoded,
        })
    }

    /// The matcher with other archive limits (`--max-archive-depth`,
    /// `--max-decompressed-size`).
    pub fn with_archive_limits(mut self, limits: crate::archive::Limits) -> Matcher {
        self.archive_limits = limits;
        self
    }

    pub fn archive_limits(&self) -> crate::archive::Limits {
        self.archive_limits
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// How many distinct literals the case-sensitive SIMD search holds (the rules'
    /// prefixes; encoded forms are searched inside base64 runs only).
    pub fn prefix_literal_count(&self) -> usize {
        self.prefixes.as_ref().map_or(0, |l| l.rules.len())
    }

    /// How many distinct literals the prefilters search for.
    pub fn keyword_count(&self) -> usize {
        let count = |l: &Option<Literals>| l.as_ref().map_or(0, |l| l.rules.len());
        count(&self.prefixes) + count(&self.keywords)
    }

    /// Whether a scan searches every byte ASCII case-insensitively: only when some rule
    /// has keywords but neither prefixes nor shapes. Never for the built-in rules.
    pub fn has_case_insensitive_pass(&self) -> bool {
        self.keywords.is_some()
    }

    /// Appends to `out` every secret in `haystack`, sorted by position. `path` decides
    /// which path-restricted rules apply (`None` for text with no path).
    pub fn find(&self, haystack: &[u8], path: Option<&str>, out: &mut Vec<RawMatch>) {
        self.find_all(haystack, path, out, &mut Vec::new(), &mut Vec::new());
    }

    /// [`Matcher::find`], and also where base64 text may hold a token: `encoded` gets
    /// the offsets of hits of an encoded prefix or context word, `data_blocks` those of
    /// `data:` (see [`crate::decode`]). Both stay empty in almost every file.
    pub fn find_all(
        &self,
        haystack: &[u8],
        path: Option<&str>,
        out: &mut Vec<RawMatch>,
        encoded: &mut Vec<usize>,
        data_blocks: &mut Vec<usize>,
    ) {
        let first = out.len();
        let mut windows = Windows::default();
        if let Some(prefixes) = &self.prefixes {
            let mut hit = |pattern: usize, start: usize, end: usize| {
                for &rule in &prefixes.rules[pattern] {
                    self.open(rule, haystack, start, end, path, &mut windows, out);
                }
            };
            match &prefixes.packed {
                Some(packed) => {
                    for m in packed.find_iter(haystack) {
                        hit(m.pattern().as_usize(), m.start(), m.end());
                    }
                }
                None => {
                    for m in prefixes.automaton.find_overlapping_iter(haystack) {
                        hit(m.pattern().as_usize(), m.start(), m.end());
                    }
                }
            }
        }
        // With encoded literals, the alphanumeric runs of 48 come from the base64 pass;
        // with both hex shapes, one pass finds the hex runs and the UUID runs.
        let fused = self.encoded.is_some();
        let shape_rules = |wanted: Shape| -> &[usize] {
            self.shapes
                .iter()
                .find(|(s, _)| *s == wanted)
                .map_or(&[], |(_, rules)| rules.as_slice())
        };
        let (hex_rules, uuid_rules) = (shape_rules(Shape::Hex40), shape_rules(Shape::Uuid));
        let hex_fused = !hex_rules.is_empty() && !uuid_rules.is_empty();
        // A run of hex and dashes opens windows only if it holds a dashed UUID: most are
        // hashes, and a rule with no context word (the bare shape) would run its regex on
        // each.
        let on_run = |shape: Shape,
                      rules: &[usize],
                      windows: &mut Windows,
                      out: &mut Vec<RawMatch>,
                      start,
                      end| {
            if shape == Shape::Uuid && !crate::shape::holds_uuid(&haystack[start..end]) {
                return;
            }
            for &rule in rules {
                self.open(rule, haystack, start, end, path, windows, out);
            }
        };
        if hex_fused {
            Shape::hex_and_uuid_runs(haystack, |shape, start, end| {
                let rules = if shape == Shape::Hex40 {
                    hex_rules
                } else {
                    uuid_rules
                };
                on_run(shape, rules, &mut windows, out, start, end)
            });
        }
        for (shape, rules) in &self.shapes {
            if (fused && *shape == Shape::Alnum48)
                || (hex_fused && matches!(shape, Shape::Hex40 | Shape::Uuid))
            {
                continue;
            }
            shape.runs(haystack, |start, end| {
                on_run(*shape, rules, &mut windows, out, start, end)
            });
        }
        if let Some(keywords) = &self.keywords {
            for hit in keywords.automaton.find_overlapping_iter(haystack) {
                for &rule in &keywords.rules[hit.pattern().as_usize()] {
                    self.open(
                        rule,
                        haystack,
                        hit.start(),
                        hit.end(),
                        path,
                        &mut windows,
                        out,
                    );
                }
            }
        }
        if let Some(forms) = &self.encoded {
            let alnum_rules = shape_rules(Shape::Alnum48);
            Shape::alnum_and_base64_runs(
                haystack,
                |start, end| {
                    for &rule in alnum_rules {
                        self.open(rule, haystack, start, end, path, &mut windows, out);
                    }
                },
                |start, end| {
                    crate::decode::note_run(forms, haystack, start, end, encoded, data_blocks)
                },
            );
        }
        for &rule_index in &self.path_only_rules {
            let rule = &self.rules[rule_index];
            if rule.applies_to(path) {
                run_rule(rule, rule_index, haystack, 0, haystack.len(), out);
            }
        }
        if out.len() == first {
            return;
        }
        dedup(&mut out[first..]);
        let kept = out[first..].iter().filter(|m| m.rule != usize::MAX).count();
        out[first..].sort_by_key(|m| (m.rule == usize::MAX, m.start, m.rule));
        out.truncate(first + kept);
    }

    /// Runs `rule` on the window around a candidate at `start..end`, unless a window it
    /// already ran on covers the candidate or the window lacks the rule's context words.
    #[allow(clippy::too_many_arguments)]
    fn open(
        &self,
        rule_index: usize,
        haystack: &[u8],
        start: usize,
        end: usize,
        path: Option<&str>,
        windows: &mut Windows,
        out: &mut Vec<RawMatch>,
    ) {
        if windows.covered(rule_index, self.rules.len(), end) {
            return;
        }
        let rule = &self.rules[rule_index];
        if !rule.applies_to(path) {
            return;
        }
        let (from, to) = window(haystack, start, end);
        if !windows.record(rule_index, to, haystack) {
            return;
        }
        if let Some(context) = &self.context[rule_index] {
            if !context.is_match(&haystack[from..to]) {
                return;
            }
        }
        run_rule(rule, rule_index, haystack, from, to, out);
    }
}

/// How a rule's windows open (see [`Trigger`]).
fn trigger(rule: &Rule) -> Trigger {
    if !rule.spec.prefixes.is_empty() || !rule.spec.shapes.is_empty() {
        Trigger::Candidates
    } else if !rule.spec.keywords.is_empty() {
        Trigger::Keywords
    } else {
        Trigger::PathOnly
    }
}

/// A rule triggered by candidates needs its keywords checked in the window unless the
/// candidate implies one: it has no shapes and each of its prefixes contains a keyword
/// (`keywords = ["ghp_"]`, `prefixes = ["ghp_"]`).
fn needs_context(rule: &Rule) -> bool {
    let spec = &rule.spec;
    if spec.keywords.is_empty() {
        return false;
    }
    !spec.shapes.is_empty()
        || !spec.prefixes.iter().all(|p| {
            spec.keywords
                .iter()
                .any(|k| p.to_ascii_lowercase().contains(&k.to_ascii_lowercase()))
        })
}

/// Per rule, the end of the last window it ran on, and whether that window ended at a
/// line end. Allocated on the first candidate: most files have none.
#[derive(Default)]
struct Windows {
    until: Vec<(usize, bool)>,
}

impl Windows {
    /// When the rule's last window ended at a line end, any later candidate ending
    /// before it is on the same line: skip it. A window cut short on a long line does not
    /// cover the next candidate's, which runs in full; dedup drops the spans both found.
    fn covered(&mut self, rule: usize, rules: usize, end: usize) -> bool {
        if self.until.is_empty() {
            self.until = vec![(0, false); rules];
        }
        let (covered, line_complete) = self.until[rule];
        end <= covered && (line_complete || end + WINDOW_RADIUS <= covered)
    }

    /// Records a window ending at `to` for `rule`; false if an earlier one already reached it.
    fn record(&mut self, rule: usize, to: usize, haystack: &[u8]) -> bool {
        if to <= self.until[rule].0 {
            return false;
        }
        self.until[rule] = (to, to == haystack.len() || haystack[to] == b'\n');
        true
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

    const SHAPE_RULE: &str = r#"
[[rule]]
id = "t.hex"
name = "hex beside a context word"
provider = "test"
keywords = ["my_token"]
shapes = ["hex40"]
regex = '''(?i:my_token\s*=\s*)([0-9a-f]{40})\b'''

[[rule]]
id = "t.prefix"
name = "case-sensitive prefix"
provider = "test"
keywords = ["tok_"]
prefixes = ["tok_"]
regex = '''(tok_[a-z0-9]{12})\b'''
"#;

    #[test]
    fn shape_candidates_need_a_context_word_in_their_window_in_any_case() {
        let m = matcher(SHAPE_RULE);
        assert!(!m.has_case_insensitive_pass());
        let hex = "9f3c2a71e0b84d56c1a7e3f09b2d4c8e71a05f3b";
        let mut out = Vec::new();
        m.find(format!("MY_TOKEN = {hex}\n").as_bytes(), None, &mut out);
        assert_eq!(out.len(), 1, "context word in upper case, same line");
        out.clear();
        m.find(
            format!("my_token mentioned\nx = {hex}\n").as_bytes(),
            None,
            &mut out,
        );
        assert!(out.is_empty(), "context word on another line: {out:?}");
    }

    #[test]
    fn prefixes_are_case_sensitive_and_open_windows_alone() {
        let m = matcher(SHAPE_RULE);
        let mut out = Vec::new();
        m.find(b"a tok_abcdefgh1234 b\n", None, &mut out);
        assert_eq!(out.len(), 1);
        out.clear();
        m.find(b"a TOK_abcdefgh1234 b\n", None, &mut out);
        assert!(out.is_empty(), "{out:?}");
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
