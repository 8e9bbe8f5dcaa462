//! leakscope: finds GitHub and Anaconda access tokens before they leak, cleans up after
//! they did, and lints token hygiene.
//!
//! The pipeline, one module per stage: [`source`] (working tree, git history, staged
//! index) → [`blob`] (bytes to findings) → [`matcher`] (keyword prefilter, then
//! [`rules`]' regexes and [`validators`]) → [`finding`] → [`verify`] (verdict) →
//! [`report`]. [`lint`] checks token hygiene beside it.

pub mod archive;
pub mod baseline;
pub mod blob;
pub mod cli;
pub mod commands;
pub mod config;
pub mod decode;
pub mod finding;
pub mod input;
pub mod lint;
pub mod matcher;
pub mod org;
pub mod redact;
pub mod report;
pub mod rules;
pub mod shape;
pub mod source;
pub mod ui;
pub mod validators;
pub mod verdict;
pub mod verify;
