//! The integration tests, in one binary (as ripgrep has it): one link step for the
//! whole suite, and shared helpers in `support/` instead of copies.

mod support;

mod archives;
mod audit;
mod ci;
mod cli;
mod encoded;
mod git;
mod hostile;
mod hostile_git;
mod lint;
mod manners;
mod org;
mod revoke;
mod rules;
mod rules_export;
mod schema;
mod snapshots;
mod staged;
mod tree_skips;
mod verify;
