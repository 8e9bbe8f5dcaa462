//! Helpers shared by the integration tests: a runner for the binary, a git repository builder, a generator of
//! never-issued tokens, and a loopback fake of the providers' APIs.

#![allow(dead_code)]

pub mod fake_api;
pub mod repo;
pub mod run;
pub mod tokens;
