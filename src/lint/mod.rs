//! Token-hygiene lints. (Being built: issue 6.)
