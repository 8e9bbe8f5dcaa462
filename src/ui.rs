//! What the process writes outside its report: standard output that a closed pipe ends
//! quietly, and notes on standard error that `-q` silences.
//!
//! `leakscope rules list | head -1` closes the pipe after one line. As in ripgrep, that is
//! not an error: the reader has what it wanted. Every write to standard output goes
//! through [`stdout`], whose writer turns `EPIPE` into a quiet no-op, so neither a
//! `println!` panic (exit 101) nor "cannot write the report: Broken pipe" can happen, and
//! the exit code stays the one the command computed (a scan with findings still exits 1).

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Set once from the global `-q/--quiet` flag.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// True under `-q/--quiet`: no progress and no notes on stderr (errors still show).
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// True once a write to standard output met a closed pipe.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// A note for the user on stderr (`leakscope: note: ...`), unless `--quiet`. A closed or
/// broken stderr is ignored: a note is never worth a crash.
pub fn note(message: impl std::fmt::Display) {
    if !quiet() {
        let _ = writeln!(io::stderr(), "leakscope: note: {message}");
    }
}

/// An error line on stderr: shown even under `--quiet`.
pub fn error(message: impl std::fmt::Display) {
    let _ = writeln!(io::stderr(), "leakscope: error: {message}");
}

/// Buffered standard output that ends quietly on a closed pipe.
pub fn stdout() -> io::BufWriter<PipeSafe<io::Stdout>> {
    io::BufWriter::new(PipeSafe(io::stdout()))
}

/// Writes `text` whole to standard output (closed pipe: quietly nothing).
pub fn print(text: &str) -> io::Result<()> {
    let mut out = stdout();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// A writer whose `EPIPE` is the end of the output, not an error: once the reader has
/// gone, everything after is dropped.
pub struct PipeSafe<W>(pub W);

impl<W: Write> Write for PipeSafe<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if stdout_closed() {
            return Ok(buf.len());
        }
        match self.0.write(buf) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                STDOUT_CLOSED.store(true, Ordering::Relaxed);
                Ok(buf.len())
            }
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if stdout_closed() {
            return Ok(());
        }
        match self.0.flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                STDOUT_CLOSED.store(true, Ordering::Relaxed);
                Ok(())
            }
            other => other,
        }
    }
}

/// `1.9 KB`, `626.0 MB`: decimal units, one decimal, as the summaries print sizes.
/// Here, not in `report`, so that sources can show progress without depending on a
/// report writer.
pub fn human_bytes(n: u64) -> String {
    const UNITS: &[&str] = &["B", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Closed;
    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
    }

    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_ends_quietly_and_other_errors_stay_errors() {
        let mut w = PipeSafe(Full);
        assert!(w.write_all(b"x").is_err());
        let mut w = PipeSafe(Closed);
        assert!(w.write_all(b"report").is_ok());
        assert!(w.flush().is_ok());
        assert!(stdout_closed());
    }
}
