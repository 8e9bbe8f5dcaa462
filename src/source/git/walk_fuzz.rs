//! Property tests (a fixed-seed fuzzer that runs on stable, in CI) for the raw tree
//! parser: any bytes, from any git object database, give entries or a `None` that stops
//! the walk; never a panic, never an entry that points outside the data.

use super::RawTree;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// Cases per run: `LEAKSCOPE_FUZZ_CASES` for a longer run, a few thousand by default.
fn cases() -> u32 {
    std::env::var("LEAKSCOPE_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(4000)
}

fn runner() -> TestRunner {
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7u8; 32]))
}

/// Bytes that look like tree entries often enough to get past the first field: real
/// entries with random corruption, and plain random bytes.
fn tree_bytes() -> impl Strategy<Value = Vec<u8>> {
    let entry = (
        prop::sample::select(vec![
            &b"100644"[..],
            b"100755",
            b"40000",
            b"120000",
            b"160000",
            b"7777777777777",
        ]),
        prop::collection::vec(any::<u8>(), 0..12),
        prop::collection::vec(any::<u8>(), 0..24),
    )
        .prop_map(|(mode, name, id)| {
            let mut e = mode.to_vec();
            e.push(b' ');
            e.extend(name);
            e.push(0);
            e.extend(id);
            e
        });
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        prop::collection::vec(entry, 0..8).prop_map(|es| es.concat()),
    ]
}

#[test]
fn raw_tree_parser_never_panics_and_stays_in_bounds() {
    runner()
        .run(
            &(tree_bytes(), prop::sample::select(vec![20usize, 32])),
            |(data, id_len)| {
                let mut total = 0usize;
                let mut failed = false;
                for item in RawTree::new(&data, id_len) {
                    prop_assert!(!failed, "an entry after a failure");
                    match item {
                        Some(entry) => {
                            prop_assert_eq!(entry.id.len(), id_len);
                            prop_assert!(!entry.name.contains(&0));
                            total += entry.name.len() + id_len + 2;
                            prop_assert!(total <= data.len());
                        }
                        None => failed = true,
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}
