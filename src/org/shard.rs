//! Which shard owns a repository: `--shard I/N` (I from 1 to N, as jest and Playwright
//! count), decided by a stable hash of the repository's id alone, so adding or removing
//! repositories never moves the others, and every repository is in exactly one shard.

use sha2::{Digest, Sha256};

/// One shard of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: u64,
    pub total: u64,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 1, total: 1 };

    /// Parses `I/N`; the error names the flag and says what is expected.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || {
            format!("--shard {text:?}: expected I/N with 1 <= I <= N (e.g. 2/8; Kubernetes: $((JOB_COMPLETION_INDEX + 1))/N)")
        };
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = i.trim().parse().map_err(|_| bad())?;
        let total: u64 = n.trim().parse().map_err(|_| bad())?;
        if total == 0 || index == 0 || index > total {
            return Err(bad());
        }
        Ok(Shard { index, total })
    }

    /// Whether this shard owns the repository with this id.
    pub fn owns(&self, id: &str) -> bool {
        shard_of(id, self.total) == self.index
    }
}

/// The 1-based shard of `id` among `total`: the first 8 bytes of SHA-256(id), modulo.
pub fn shard_of(id: &str, total: u64) -> u64 {
    let digest = Sha256::digest(id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) % total.max(1) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_one_based_only() {
        assert_eq!(Shard::parse("1/1"), Ok(Shard::WHOLE));
        assert_eq!(Shard::parse("3/4").map(|s| s.index), Ok(3));
        for bad in ["0/4", "5/4", "1/0", "x/2", "2", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_id_in_exactly_one_shard_and_stable_when_others_come() {
        let ids: Vec<String> = (0..500).map(|n| format!("{n}")).collect();
        let mut sizes = [0usize; 4];
        for id in &ids {
            let owners: Vec<u64> = (1..=4)
                .filter(|i| {
                    Shard {
                        index: *i,
                        total: 4,
                    }
                    .owns(id)
                })
                .collect();
            assert_eq!(owners.len(), 1);
            sizes[(owners[0] - 1) as usize] += 1;
            // The assignment depends on the id alone.
            assert_eq!(shard_of(id, 4), owners[0]);
        }
        assert!(sizes.iter().all(|s| *s > 80), "{sizes:?}");
    }
}
