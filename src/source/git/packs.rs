//! Checks of the pack files in `objects/pack/` before a history scan. libgit2 skips a
//! pack whose index is missing or unreadable, and finds out about a truncated pack only
//! when it reads an object from its lost tail; either way the objects look merely
//! "not found". These checks name the file instead: a pack without its index, an index
//! without its pack, an index whose layout does not add up, and a pack whose header or
//! trailing checksum disagrees with its index (a truncated or swapped pack).
//!
//! Only headers and trailers are read (a few KiB per pack): the contents are checked by
//! zlib as objects are inflated.

use super::ScanError;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

const IDX_MAGIC: [u8; 4] = [0xff, b't', b'O', b'c'];
const FANOUT: u64 = 256 * 4;

/// What the index says about its pack.
struct IndexFacts {
    objects: u32,
    /// The pack's trailing checksum, as recorded in the index.
    pack_checksum: Vec<u8>,
}

/// Errors for every damaged pack or index under `objects_dir/pack`.
pub fn check_packs(objects_dir: &Path) -> Vec<ScanError> {
    let dir = objects_dir.join("pack");
    let mut errors = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return errors,
        Err(e) => {
            errors.push(ScanError::at_path(
                dir.display().to_string(),
                format!("cannot list the pack directory: {e}"),
            ));
            return errors;
        }
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("pack-"))
        .collect();
    names.sort();
    for name in &names {
        let (stem, is_pack) = match (name.strip_suffix(".pack"), name.strip_suffix(".idx")) {
            (Some(stem), _) => (stem, true),
            (_, Some(stem)) => (stem, false),
            _ => continue,
        };
        let pack = dir.join(format!("{stem}.pack"));
        let idx = dir.join(format!("{stem}.idx"));
        if !is_pack {
            if !pack.exists() {
                errors.push(ScanError::at_path(
                    idx.display().to_string(),
                    "pack index without its pack: the objects it lists cannot be read",
                ));
            }
            continue;
        }
        if !idx.exists() {
            errors.push(ScanError::at_path(
                pack.display().to_string(),
                "pack without its index (.idx): its objects cannot be read",
            ));
            continue;
        }
        let facts = match read_index(&idx) {
            Ok(f) => f,
            Err(message) => {
                errors.push(ScanError::at_path(
                    idx.display().to_string(),
                    format!(
                        "corrupt pack index: {message}; the objects of {stem}.pack cannot be read"
                    ),
                ));
                continue;
            }
        };
        if let Err(message) = check_pack(&pack, &facts) {
            errors.push(ScanError::at_path(
                pack.display().to_string(),
                format!("damaged pack: {message}"),
            ));
        }
    }
    errors
}

fn read_index(path: &Path) -> Result<IndexFacts, String> {
    let mut file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut head = [0u8; 8];
    file.read_exact(&mut head)
        .map_err(|_| format!("{len} bytes: too short"))?;
    let v2 = head[..4] == IDX_MAGIC;
    if v2 && u32::from_be_bytes([head[4], head[5], head[6], head[7]]) != 2 {
        return Err("unsupported version".into());
    }
    let fanout_at = if v2 { 8 } else { 0 };
    file.seek(SeekFrom::Start(fanout_at))
        .map_err(|e| e.to_string())?;
    let mut fanout = vec![0u8; FANOUT as usize];
    file.read_exact(&mut fanout)
        .map_err(|_| format!("{len} bytes: too short for its fan-out table"))?;
    let counts: Vec<u32> = fanout
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if counts.windows(2).any(|w| w[0] > w[1]) {
        return Err("fan-out table is not ascending".into());
    }
    let objects = counts[255];
    let n = u64::from(objects);
    // Per object: v2 has id, CRC32 and a 4-byte offset (plus 8-byte large offsets at
    // the end); v1 has a 4-byte offset and the id. Then two checksums.
    let fits = |id_len: u64| {
        if v2 {
            let base = fanout_at + FANOUT + n * (id_len + 8) + 2 * id_len;
            len >= base && (len - base) % 8 == 0 && (len - base) / 8 <= n
        } else {
            len == FANOUT + n * (id_len + 4) + 2 * id_len
        }
    };
    let id_len = [20u64, 32]
        .into_iter()
        .find(|&l| fits(l))
        .ok_or_else(|| format!("{len} bytes do not fit the {objects} objects it lists"))?;
    file.seek(SeekFrom::Start(len - 2 * id_len))
        .map_err(|e| e.to_string())?;
    let mut pack_checksum = vec![0u8; id_len as usize];
    file.read_exact(&mut pack_checksum)
        .map_err(|e| e.to_string())?;
    Ok(IndexFacts {
        objects,
        pack_checksum,
    })
}

fn check_pack(path: &Path, facts: &IndexFacts) -> Result<(), String> {
    let mut file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let id_len = facts.pack_checksum.len() as u64;
    if len < 12 + id_len {
        return Err(format!("{len} bytes: truncated (no header and checksum)"));
    }
    let mut head = [0u8; 12];
    file.read_exact(&mut head).map_err(|e| e.to_string())?;
    let version = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    if &head[..4] != b"PACK" || !(version == 2 || version == 3) {
        return Err("not a pack file (bad header)".into());
    }
    let objects = u32::from_be_bytes([head[8], head[9], head[10], head[11]]);
    if objects != facts.objects {
        return Err(format!(
            "holds {objects} objects but its index lists {}",
            facts.objects
        ));
    }
    file.seek(SeekFrom::Start(len - id_len))
        .map_err(|e| e.to_string())?;
    let mut trailer = vec![0u8; id_len as usize];
    file.read_exact(&mut trailer).map_err(|e| e.to_string())?;
    if trailer != facts.pack_checksum {
        return Err(format!(
            "its checksum does not match its index ({len} bytes: truncated or overwritten); objects in it may be unreadable"
        ));
    }
    Ok(())
}
