//! Git tree objects parsed from their raw bytes, every malformed entry an error.

/// One entry of a raw tree object.
pub(super) struct RawEntry<'a> {
    pub(super) mode: u32,
    pub(super) name: &'a [u8],
    pub(super) id: &'a [u8],
}

/// The entries of a raw tree object: `<octal mode> <name>\0<raw id>`, repeated.
/// Yields `None` (and stops) at malformed data.
pub(super) struct RawTree<'a> {
    pub(super) data: &'a [u8],
    pub(super) id_len: usize,
    pub(super) failed: bool,
}

impl<'a> RawTree<'a> {
    pub(super) fn new(data: &'a [u8], id_len: usize) -> Self {
        RawTree {
            data,
            id_len,
            failed: false,
        }
    }
}

impl<'a> Iterator for RawTree<'a> {
    type Item = Option<RawEntry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.data.is_empty() || self.failed {
            return None;
        }
        let parsed = (|| {
            let space = memchr::memchr(b' ', self.data)?;
            let mut mode = 0u32;
            for &b in &self.data[..space] {
                if !(b'0'..=b'7').contains(&b) {
                    return None;
                }
                mode = mode.checked_mul(8)? + u32::from(b - b'0');
            }
            let rest = &self.data[space + 1..];
            let nul = memchr::memchr(0, rest)?;
            let name = &rest[..nul];
            let id = rest.get(nul + 1..nul + 1 + self.id_len)?;
            let consumed = space + 1 + nul + 1 + self.id_len;
            Some((RawEntry { mode, name, id }, consumed))
        })();
        match parsed {
            Some((entry, consumed)) => {
                self.data = &self.data[consumed..];
                Some(Some(entry))
            }
            None => {
                self.failed = true;
                Some(None)
            }
        }
    }
}
