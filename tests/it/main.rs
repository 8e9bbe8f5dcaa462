//! The integration tests, in one binary (as ripgrep has it): one link step for the
//! whole suite, and shared helpers in `support/` instead of copies.

mod support;

mod cli;
mod git;
mod lint;
mod revoke;
mod rules;
mod schema;
mod staged;
mod verify;
