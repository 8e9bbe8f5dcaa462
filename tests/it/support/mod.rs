//! Helpers shared by the integration tests: a runner for the binary, a generator of
//! never-issued tokens, and a loopback fake of the providers' APIs.

#![allow(dead_code)]

pub mod fake_api;
pub mod run;
pub mod tokens;
