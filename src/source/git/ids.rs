//! Hashers for object ids and path hashes: ids are already uniform, so their leading
//! bytes are the hash; names get FNV-1a.

use git2::Oid;
use std::hash::{BuildHasherDefault, Hasher};

/// Hashes object ids by their leading bytes: they are already uniformly random, so
/// SipHash's work buys nothing on the walk's hottest maps.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        let n = bytes.len().min(8);
        word[..n].copy_from_slice(&bytes[..n]);
        self.0 = self.0.rotate_left(23) ^ u64::from_le_bytes(word);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(23) ^ n;
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

pub type IdBuild = BuildHasherDefault<IdHasher>;

/// An object id as a plain byte array: compared inline, where `Oid`'s equality is a
/// call into libgit2 (it showed in profiles of the walk's maps).
pub type Key = [u8; 20];

pub fn key(oid: &Oid) -> Key {
    key_of(oid.as_bytes())
}

/// The first 20 bytes of a raw id (all of a SHA-1, and unique enough of a SHA-256).
pub fn key_of(id: &[u8]) -> Key {
    let mut k = [0u8; 20];
    let n = id.len().min(20);
    k[..n].copy_from_slice(&id[..n]);
    k
}

/// FNV-1a for short byte strings (file names) in hash maps.
#[derive(Clone, Copy)]
pub struct FnvHasher(u64);

impl Default for FnvHasher {
    fn default() -> Self {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for FnvHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Hash of the empty path (the root of a tree walk).
pub(super) const ROOT_PATH_HASH: u64 = 0x51_7cc1_b727_220a;

/// FNV-1a of a file name.
pub fn fnv(name: &[u8]) -> u64 {
    let mut h = FnvHasher::default();
    h.write(name);
    h.finish()
}

/// The hash of `dir/name` from the hash of `dir` and the [`fnv`] of `name`: paths are
/// hashed one component at a time as the walk descends.
pub(super) fn path_hash(dir: u64, name: u64) -> u64 {
    (dir.rotate_left(29) ^ name).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}
