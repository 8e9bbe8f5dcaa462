//! Reading what the user (or a findings file) names, with limits.
//!
//! Every input is read through here so that no file, device or pipe can make leakscope
//! read forever or hold gigabytes: `--input /dev/zero`, a 2 GB stdin or a findings file
//! whose `path` is a FIFO end in a clear error naming the input, not in a hang or an
//! out-of-memory kill.

use anyhow::{bail, Context};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// The most bytes read from one `--input`, `--tokens-file` or `--rules` file: 256 MiB,
/// far more than any findings report or token list, far less than memory.
pub const MAX_INPUT_BYTES: u64 = 256 << 20;

/// The largest file re-read to recover a redacted secret (it is streamed, so this bounds
/// time, not memory): 1 GiB.
pub const MAX_RECOVER_BYTES: u64 = 1 << 30;

/// `flag PATH` as errors name an input (`--input -` for stdin).
fn label(flag: &str, path: &Path) -> String {
    format!("{flag} {}", path.display())
}

/// A reader over `path` (`-` is stdin) that fails once more than `limit` bytes came.
pub fn open_limited(path: &Path, flag: &str, limit: u64) -> anyhow::Result<Limited<Box<dyn Read>>> {
    let inner: Box<dyn Read> = if path == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        Box::new(File::open(path).with_context(|| format!("{}: cannot read", label(flag, path)))?)
    };
    Ok(Limited {
        inner,
        left: limit,
        limit,
    })
}

/// Reads the whole of `path` (`-` is stdin) as UTF-8 text, at most `limit` bytes.
pub fn read_text(path: &Path, flag: &str, limit: u64) -> anyhow::Result<String> {
    let mut reader = open_limited(path, flag, limit)?;
    let mut bytes = Vec::new();
    if let Err(err) = reader.read_to_end(&mut bytes) {
        bail!("{}: cannot read: {err}", label(flag, path));
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: not UTF-8 text (invalid byte at offset {})",
            label(flag, path),
            e.utf8_error().valid_up_to()
        )
    })
}

/// A reader that returns an error (never a silent cut) past its limit.
pub struct Limited<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R> Limited<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        Limited {
            inner,
            left: limit,
            limit,
        }
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // One probe byte tells a file of exactly `limit` bytes from a longer one.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(too_large(self.limit)),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..want])?;
        self.left -= got as u64;
        Ok(got)
    }
}

fn too_large(limit: u64) -> io::Error {
    io::Error::other(format!(
        "larger than {} MiB, the limit for this input",
        limit >> 20
    ))
}

/// Opens `path` only if it is a regular file: never a FIFO (which would block), a
/// device (`/dev/zero` never ends) or a socket. The open itself does not block (it is
/// non-blocking on Unix) and the type is checked on the opened file, so swapping the
/// path for a FIFO between check and open gains nothing.
pub fn open_regular(path: &Path) -> Result<File, String> {
    let file =
        open_nonblocking(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!(
            "{} is {}, not a regular file: not read",
            path.display(),
            file_kind(&meta.file_type())
        ));
    }
    set_blocking(&file);
    Ok(file)
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// Regular files ignore O_NONBLOCK, but clear it anyway so reads behave as usual.
#[cfg(unix)]
fn set_blocking(file: &File) {
    use std::os::unix::io::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with flags it returned.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
}

#[cfg(not(unix))]
fn set_blocking(_file: &File) {}

/// What a non-regular file is, in words: `a FIFO`, `a character device`, ...
pub fn file_kind(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_reader_errors_past_the_limit_only() {
        let mut exact = Limited {
            inner: &b"abcd"[..],
            left: 4,
            limit: 4,
        };
        let mut out = Vec::new();
        exact.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abcd");
        let mut long = Limited {
            inner: &b"abcde"[..],
            left: 4,
            limit: 4,
        };
        assert!(long.read_to_end(&mut Vec::new()).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn only_regular_files_open() {
        let err = open_regular(Path::new("/dev/zero")).unwrap_err();
        assert!(err.contains("character device"), "{err}");
        let err = open_regular(Path::new("/")).unwrap_err();
        assert!(err.contains("directory"), "{err}");
    }
}
