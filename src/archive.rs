//! Archives and compressed files: zip (jar, whl, nupkg, apk, docx, xlsx), tar, gzip,
//! bzip2, xz and zstd, recognised by their magic bytes, not their names.
//!
//! Each member goes through the same blob scanner as a file, as `ARCHIVE!member`, and an
//! archive inside a member is opened again, up to [`Limits::max_depth`]. Compressed
//! streams and tar members are streamed; a zip needs its central directory, so it is held
//! in memory (bounded by [`Limits::max_decompressed`]). Every byte a decompressor or a
//! zip member gives counts against one budget per top-level file, so a zip bomb ends as
//! a reported skip, never as memory or time out of bounds; a corrupt archive is an error
//! for that file and the scan goes on.

use crate::blob::{Origin, StreamScan};
use crate::matcher::Matcher;
use std::cell::Cell;
use std::io::{Cursor, Read};

/// How deep and how big archives are read (`--max-archive-depth`,
/// `--max-decompressed-size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Archives inside archives opened, counting the outermost (0: none is opened).
    pub max_depth: usize,
    /// Bytes all decompression of one file may produce.
    pub max_decompressed: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 3,
            max_decompressed: 256 << 20,
        }
    }
}

/// Members of one zip read at most: a million empty entries is a bomb of its own.
const MAX_ZIP_ENTRIES: usize = 100_000;

/// The container formats read, by magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Zip,
    Tar,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Zip => "zip",
            Kind::Tar => "tar",
            Kind::Gzip => "gzip",
            Kind::Bzip2 => "bzip2",
            Kind::Xz => "xz",
            Kind::Zstd => "zstd",
        }
    }
}

/// The archive format the first bytes of a blob announce, if any.
pub fn sniff(head: &[u8]) -> Option<Kind> {
    match head {
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => Some(Kind::Zip),
        [0x1f, 0x8b, 8, ..] => Some(Kind::Gzip),
        [b'B', b'Z', b'h', b'1'..=b'9', 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, ..] => {
            Some(Kind::Bzip2)
        }
        [0xFD, b'7', b'z', b'X', b'Z', 0, ..] => Some(Kind::Xz),
        [0x28, 0xB5, 0x2F, 0xFD, ..] => Some(Kind::Zstd),
        _ if head.len() >= 263 && &head[257..262] == b"ustar" => Some(Kind::Tar),
        _ => None,
    }
}

/// Something an archive held that was not read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The archive or member, as `ARCHIVE!member`.
    pub path: String,
    pub kind: IssueKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueKind {
    /// Decompression would pass `--max-decompressed-size` (a skip, like a file too large).
    TooLarge,
    /// An archive nested deeper than `--max-archive-depth` (a skip).
    TooDeep,
    /// Corrupt, truncated, encrypted or of an unsupported method: an error for the file.
    Unreadable,
}

impl IssueKind {
    /// A limit reached (counted as a skip, named in the notes), not an error.
    pub fn is_skip(self) -> bool {
        matches!(self, IssueKind::TooLarge | IssueKind::TooDeep)
    }
}

/// Where a scan is among nested archives: its depth and the budget left for the file.
#[derive(Clone, Copy)]
pub struct Nest<'a> {
    pub depth: usize,
    pub left: &'a Cell<u64>,
}

/// The error a budgeted reader gives when the budget runs out.
#[derive(Debug)]
struct Exhausted;

impl std::fmt::Display for Exhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("decompressed size limit reached")
    }
}

impl std::error::Error for Exhausted {}

fn exhausted(e: &std::io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Exhausted>())
}

/// A reader that charges what it gives to the file's budget.
struct Budgeted<'a, R> {
    inner: R,
    left: &'a Cell<u64>,
}

impl<R: Read> Read for Budgeted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let left = self.left.get();
        if n as u64 > left {
            self.left.set(0);
            return Err(std::io::Error::other(Exhausted));
        }
        self.left.set(left - n as u64);
        Ok(n)
    }
}

/// The name a compressed file's content gets: `notes.txt.gz` holds `notes.txt`,
/// `site.tgz` holds `site.tar`.
fn inner_name(path: &str, kind: Kind) -> String {
    let name = path.rsplit(['/', '!']).next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    for (ext, replace) in [
        (".tgz", ".tar"),
        (".tbz2", ".tar"),
        (".tbz", ".tar"),
        (".txz", ".tar"),
        (".tzst", ".tar"),
        (".gz", ""),
        (".bz2", ""),
        (".xz", ""),
        (".zst", ""),
        (".zstd", ""),
    ] {
        if lower.ends_with(ext) && lower.len() > ext.len() {
            return format!("{}{replace}", &name[..name.len() - ext.len()]);
        }
    }
    format!("{name}.{}-content", kind.as_str())
}

/// Scans an archive whose first bytes are in `buffer` and whose rest is in `reader`.
/// Findings carry `ARCHIVE!member` paths; `result.members` counts the members read.
pub fn scan(
    matcher: &Matcher,
    kind: Kind,
    reader: &mut dyn Read,
    origin: Origin<'_>,
    buffer: &mut Vec<u8>,
    nest: Nest<'_>,
) -> std::io::Result<StreamScan> {
    let outer = origin.path.unwrap_or("-").to_string();
    let head = std::mem::take(buffer);
    let mut input = Cursor::new(head).chain(reader);
    let mut result = StreamScan::default();
    let child = Nest {
        depth: nest.depth + 1,
        left: nest.left,
    };
    let member = |name: &str,
                  content: &mut dyn Read,
                  result: &mut StreamScan,
                  buffer: &mut Vec<u8>|
     -> Result<(), std::io::Error> {
        let path = format!("{outer}!{name}");
        let mut in_name = crate::source::tree::path_findings(matcher, &path);
        for f in &mut in_name {
            f.location = crate::finding::Location::Path;
        }
        result.findings.append(&mut in_name);
        let member_origin = Origin {
            path: Some(&path),
            location: origin.location,
        };
        match crate::blob::scan_nested(matcher, content, member_origin, buffer, child) {
            Ok(scanned) => {
                result.absorb(scanned);
                Ok(())
            }
            Err(e) if exhausted(&e) => {
                result.issues.push(Issue {
                    path,
                    kind: IssueKind::TooLarge,
                    message: format!(
                        "not read past {} decompressed (--max-decompressed-size)",
                        crate::ui::human_bytes(matcher.archive_limits().max_decompressed)
                    ),
                });
                Err(e)
            }
            Err(e) => Err(e),
        }
    };
    let unreadable = |result: &mut StreamScan, path: String, e: &dyn std::fmt::Display| {
        result.issues.push(Issue {
            path,
            kind: IssueKind::Unreadable,
            message: format!("cannot read {} archive: {e}", kind.as_str()),
        });
    };
    match kind {
        Kind::Gzip | Kind::Bzip2 | Kind::Xz | Kind::Zstd => {
            let decoder: Box<dyn Read + '_> = match kind {
                Kind::Gzip => Box::new(flate2::read::MultiGzDecoder::new(&mut input)),
                Kind::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(&mut input)),
                Kind::Xz => Box::new(xz2::read::XzDecoder::new_multi_decoder(&mut input)),
                _ => match zstd::stream::read::Decoder::new(&mut input) {
                    Ok(d) => Box::new(d),
                    Err(e) => {
                        unreadable(&mut result, outer.clone(), &e);
                        return Ok(result);
                    }
                },
            };
            let mut content = Budgeted {
                inner: decoder,
                left: nest.left,
            };
            let name = inner_name(&outer, kind);
            match member(&name, &mut content, &mut result, buffer) {
                Ok(()) => {}
                Err(e) if exhausted(&e) => {}
                Err(e) => unreadable(&mut result, outer.clone(), &e),
            }
        }
        Kind::Tar => {
            let mut archive = tar::Archive::new(&mut input);
            let entries = match archive.entries() {
                Ok(entries) => entries,
                Err(e) => {
                    unreadable(&mut result, outer.clone(), &e);
                    return Ok(result);
                }
            };
            for entry in entries {
                let mut entry = match entry {
                    Ok(entry) => entry,
                    Err(e) => {
                        unreadable(&mut result, outer.clone(), &e);
                        break;
                    }
                };
                if !matches!(
                    entry.header().entry_type(),
                    tar::EntryType::Regular | tar::EntryType::Continuous
                ) {
                    continue;
                }
                let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                match member(&name, &mut entry, &mut result, buffer) {
                    Ok(()) => {}
                    Err(e) if exhausted(&e) => break,
                    Err(e) => {
                        unreadable(&mut result, format!("{outer}!{name}"), &e);
                        break;
                    }
                }
            }
        }
        Kind::Zip => {
            let cap = matcher.archive_limits().max_decompressed;
            let mut data = Vec::new();
            (&mut input).take(cap + 1).read_to_end(&mut data)?;
            if data.len() as u64 > cap {
                result.issues.push(Issue {
                    path: outer.clone(),
                    kind: IssueKind::TooLarge,
                    message: format!(
                        "zip larger than {} not opened (--max-decompressed-size)",
                        crate::ui::human_bytes(cap)
                    ),
                });
                return Ok(result);
            }
            let mut archive = match zip::ZipArchive::new(Cursor::new(&data[..])) {
                Ok(archive) => archive,
                Err(e) => {
                    unreadable(&mut result, outer.clone(), &e);
                    return Ok(result);
                }
            };
            if archive.len() > MAX_ZIP_ENTRIES {
                result.issues.push(Issue {
                    path: outer.clone(),
                    kind: IssueKind::TooLarge,
                    message: format!(
                        "{} entries: only the first {MAX_ZIP_ENTRIES} are read",
                        archive.len()
                    ),
                });
            }
            for i in 0..archive.len().min(MAX_ZIP_ENTRIES) {
                let name = archive
                    .name_for_index(i)
                    .map_or_else(|| format!("entry {i}"), str::to_string);
                let file = match archive.by_index(i) {
                    Ok(file) => file,
                    Err(e) => {
                        unreadable(&mut result, format!("{outer}!{name}"), &e);
                        continue;
                    }
                };
                if file.is_dir() {
                    continue;
                }
                let name = String::from_utf8_lossy(file.name_raw()).into_owned();
                let mut content = Budgeted {
                    inner: file,
                    left: nest.left,
                };
                match member(&name, &mut content, &mut result, buffer) {
                    Ok(()) => {}
                    Err(e) if exhausted(&e) => break,
                    Err(e) => unreadable(&mut result, format!("{outer}!{name}"), &e),
                }
            }
        }
    }
    Ok(result)
}

/// Scans an in-memory blob (a git blob, a staged file) that is an archive; `None` when
/// it is not one, so the caller scans it as it always did.
pub fn scan_blob(matcher: &Matcher, data: &[u8], origin: Origin<'_>) -> Option<StreamScan> {
    sniff(data)?;
    let mut buffer = Vec::new();
    crate::blob::scan_reader(matcher, &mut Cursor::new(data), origin, &mut buffer).ok()
}

/// Splits what archives could not read into errors (an unreadable archive: the scan is
/// incomplete) and skip notes (a limit reached, counted like a file too large).
pub fn sort_issues(issues: Vec<Issue>) -> (Vec<crate::source::ScanError>, Vec<String>) {
    let mut errors = Vec::new();
    let mut skips = Vec::new();
    for issue in issues {
        if issue.kind.is_skip() {
            skips.push(format!("{}: {}", issue.path, issue.message));
        } else {
            errors.push(crate::source::ScanError::at_path(issue.path, issue.message));
        }
    }
    (errors, skips)
}
