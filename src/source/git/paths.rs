//! Paths of a tree walk, interned in an arena (one node per directory entry met), with
//! the depth and length limits that keep a hostile tree bounded.

/// Trees nest at most this deep in a walk; deeper ones are reported, not walked (git
/// itself cannot check out such a tree: the path would exceed PATH_MAX).
pub const MAX_TREE_DEPTH: usize = 4096;
/// Paths longer than this are not walked further (reported like a too-deep tree).
pub const MAX_PATH_BYTES: usize = 16 << 10;
/// A tree met at a new path is walked again there (for path-restricted rules) until
/// it was walked at this many paths.
pub(super) const TREE_PATHS_CHECKED: u32 = 8;

/// The path node of the root of a walk (the empty path).
pub(super) const ROOT_NODE: u32 = 0;

/// The directory paths of one tree walk as parent links: each directory is stored once,
/// as its parent and its own name, so a walk 4096 levels deep holds 4096 names rather
/// than 4096 full paths. A full path is built only for a new blob, a gitlink or an
/// error.
#[derive(Debug, Default)]
pub(super) struct PathArena {
    pub(super) nodes: Vec<PathNode>,
    pub(super) names: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct PathNode {
    pub(super) parent: u32,
    /// The name's bytes in [`PathArena::names`].
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) depth: usize,
    /// Length of the full path in bytes.
    pub(super) len: usize,
}

impl PathArena {
    pub(super) fn reset(&mut self) {
        self.nodes.clear();
        self.names.clear();
        self.nodes.push(PathNode {
            parent: ROOT_NODE,
            start: 0,
            end: 0,
            depth: 0,
            len: 0,
        });
    }

    pub(super) fn depth(&self, node: u32) -> usize {
        self.nodes[node as usize].depth
    }

    /// Length of `node/name` in bytes.
    pub(super) fn child_len(&self, node: u32, name: &[u8]) -> usize {
        let len = self.nodes[node as usize].len;
        len + usize::from(len > 0) + name.len()
    }

    pub(super) fn push(&mut self, parent: u32, name: &[u8]) -> u32 {
        let start = self.names.len();
        self.names.extend_from_slice(name);
        let node = PathNode {
            parent,
            start,
            end: self.names.len(),
            depth: self.depth(parent) + 1,
            len: self.child_len(parent, name),
        };
        self.nodes.push(node);
        (self.nodes.len() - 1) as u32
    }

    /// The path of `node`, followed by `/name` when given.
    pub(super) fn path(&self, node: u32, name: Option<&[u8]>) -> String {
        let mut parts: Vec<&[u8]> = Vec::new();
        if let Some(name) = name {
            parts.push(name);
        }
        let mut n = node;
        while n != ROOT_NODE {
            let p = self.nodes[n as usize];
            parts.push(&self.names[p.start..p.end]);
            n = p.parent;
        }
        parts.reverse();
        String::from_utf8_lossy(&parts.join(&b'/')).into_owned()
    }

    /// ` dir/` for error messages (nothing at the root), shortened.
    pub(super) fn at(&self, node: u32) -> String {
        if node == ROOT_NODE {
            String::new()
        } else {
            format!(" {}/", shorten(&self.path(node, None)))
        }
    }
}

/// A path cut to its first 100 characters for a message (a deep tree's path can be
/// tens of kilobytes).
pub(super) fn shorten(path: &str) -> String {
    const KEEP: usize = 100;
    match path.char_indices().nth(KEEP) {
        Some((cut, _)) => format!("{}…", &path[..cut]),
        None => path.to_string(),
    }
}
