//! onebox-gen: deterministic sample data for the onebox tools.
//!
//! Every byte written is a pure function of the command-line options and `--seed`, so
//! test fixtures and benchmarks can be regenerated anywhere instead of being stored.

pub mod bad;
pub mod clock;
pub mod cloudfront;
pub mod output;
pub mod rng;
pub mod size;
pub mod telemetry;
pub mod zipf;
