//! Just enough shell reading for the lints: join continued lines and split a line into
//! words, keeping each word's byte offset in the file so findings point at the flag.
//! Not a shell parser: scripts, CI configs, Dockerfiles and README code blocks all hold
//! command lines, and a word splitter that understands quotes, comments and `;`, `|`,
//! `&&` is what telling `--scopes 'api:read api:write'` apart needs.

/// The text with each line continuation (a `\`, PowerShell `` ` `` or cmd `^` right
/// before the end of line) replaced by spaces of the same byte length, so a continued
/// command reads as one line and every byte keeps its offset.
pub fn join_continuations(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    while i < bytes.len() {
        if matches!(bytes[i], b'\\' | b'`' | b'^') {
            let eol = if bytes.get(i + 1) == Some(&b'\n') {
                Some(1)
            } else if bytes.get(i + 1) == Some(&b'\r') && bytes.get(i + 2) == Some(&b'\n') {
                Some(2)
            } else {
                None
            };
            // `^` only continues a line when preceded by a space (cmd style).
            let caret_ok = bytes[i] != b'^' || (i > 0 && bytes[i - 1] == b' ');
            if let (Some(n), true) = (eol, caret_ok) {
                for b in &mut out[i..=i + n] {
                    *b = b' ';
                }
                i += n + 1;
                continue;
            }
        }
        i += 1;
    }
    // Only ASCII bytes were replaced by ASCII, so this stays valid UTF-8.
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// One word of a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word with quotes removed.
    pub text: String,
    /// Byte offset of the word's first character in the file.
    pub start: usize,
    /// `;`, `|`, `&`, `&&`, `||`, `(`, `)`: ends a simple command.
    pub op: bool,
}

/// Splits one line into words. `base` is the line's byte offset in the file. A `#`
/// starting a word begins a comment; backticks separate words (Markdown inline code).
pub fn words(line: &str, base: usize) -> Vec<Word> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start: Option<usize> = None;
    let mut chars = line.char_indices().peekable();
    let push = |out: &mut Vec<Word>, current: &mut String, start: &mut Option<usize>| {
        if let Some(s) = start.take() {
            out.push(Word {
                text: std::mem::take(current),
                start: base + s,
                op: false,
            });
        }
    };
    while let Some((i, c)) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' | '`' => push(&mut out, &mut current, &mut start),
            '#' if start.is_none() => break,
            ';' | '|' | '&' | '(' | ')' => {
                push(&mut out, &mut current, &mut start);
                let mut text = c.to_string();
                if matches!(c, '|' | '&') && chars.peek().map(|p| p.1) == Some(c) {
                    chars.next();
                    text.push(c);
                }
                out.push(Word {
                    text,
                    start: base + i,
                    op: true,
                });
            }
            '\'' | '"' => {
                // Point at the value, not at its opening quote.
                start.get_or_insert(i + 1);
                for (_, q) in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    current.push(q);
                }
            }
            '\\' => {
                start.get_or_insert(i);
                if let Some((_, next)) = chars.next() {
                    current.push(next);
                }
            }
            _ => {
                start.get_or_insert(i);
                current.push(c);
            }
        }
    }
    push(&mut out, &mut current, &mut start);
    out
}

/// Every line of `text` (continuations joined) with its byte offset.
pub fn lines_with_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        out.push((offset, line));
        offset += line.len();
    }
    out
}

/// The simple commands (runs of words between operators) that start with a program
/// whose file name is one of `programs`. Each result is the program word and its
/// arguments.
pub fn commands<'w>(words: &'w [Word], programs: &[&str]) -> Vec<&'w [Word]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        let name = w.text.rsplit(['/', '\\']).next().unwrap_or(&w.text);
        let name = name.strip_suffix(".exe").unwrap_or(name);
        if !w.op && programs.contains(&name) {
            let end = words[i + 1..]
                .iter()
                .position(|w| w.op)
                .map(|p| i + 1 + p)
                .unwrap_or(words.len());
            out.push(&words[i..end]);
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// `--flag VALUE`, `--flag=VALUE`, `-f VALUE` or `-fVALUE` at `args[i]`: the value and
/// its byte offset, and how many words were used.
pub fn flag_value(
    args: &[Word],
    i: usize,
    long: &[&str],
    short: &[&str],
) -> Option<(String, usize, usize)> {
    let w = &args[i];
    for name in long.iter().chain(short.iter()) {
        if w.text == *name {
            return args
                .get(i + 1)
                .filter(|v| !v.op)
                .map(|v| (v.text.clone(), v.start, 2));
        }
    }
    for name in long {
        if let Some(v) = w.text.strip_prefix(&format!("{name}=")) {
            return Some((v.to_string(), w.start + name.len() + 1, 1));
        }
    }
    for name in short {
        if w.text.len() > name.len() && w.text.starts_with(name) && !w.text.starts_with("--") {
            return Some((w.text[name.len()..].to_string(), w.start + name.len(), 1));
        }
    }
    None
}

/// True for a value that is a variable or template (`$X`, `${{ ... }}`, `%X%`, `<X>`):
/// the lints cannot judge it.
pub fn is_dynamic(value: &str) -> bool {
    value.contains('$') || value.contains("{{") || value.contains('%') || value.contains('<')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuations_keep_offsets() {
        let text = "anaconda auth \\\n  --create\r\nnext\n";
        let joined = join_continuations(text);
        assert_eq!(joined.len(), text.len());
        assert_eq!(joined.lines().next().unwrap(), "anaconda auth     --create");
        let ps = join_continuations("a `\n b");
        assert_eq!(ps, "a    b");
        assert_eq!(join_continuations("x^\ny"), "x^\ny");
    }

    #[test]
    fn words_understand_quotes_comments_and_operators() {
        let w = words(
            "anaconda auth -c --scopes 'api:read api:write' && echo ok # done",
            10,
        );
        let texts: Vec<&str> = w.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "anaconda",
                "auth",
                "-c",
                "--scopes",
                "api:read api:write",
                "&&",
                "echo",
                "ok"
            ]
        );
        assert_eq!(w[0].start, 10);
        assert_eq!(w[4].start, 10 + 27);
        assert!(w[5].op);
        let md = words("Run `gh auth login -s repo`.", 0);
        assert_eq!(md[1].text, "gh");
    }

    #[test]
    fn commands_and_flags() {
        let w = words("x=1; /usr/bin/gh auth login --scopes=repo,gist | tee", 0);
        let cmds = commands(&w, &["gh"]);
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].len(), 4);
        let (v, at, used) = flag_value(cmds[0], 3, &["--scopes"], &["-s"]).unwrap();
        assert_eq!((v.as_str(), used), ("repo,gist", 1));
        assert_eq!(
            &"x=1; /usr/bin/gh auth login --scopes=repo,gist | tee"[at..at + 4],
            "repo"
        );
        let w = words("gh auth refresh -sadmin:org", 0);
        assert_eq!(
            flag_value(&w, 3, &["--scopes"], &["-s"]).unwrap().0,
            "admin:org"
        );
        assert!(is_dynamic("${{ inputs.scopes }}"));
        assert!(!is_dynamic("api:read"));
    }
}
