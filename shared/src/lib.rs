//! The shared pipeline library of the onebox tools.
//!
//! Data flows one way: sources ([`input`], small gzip files decoded whole by [`gunzip`]) are cut into blocks of whole lines ([`chunk`]), blocks
//! are handed to worker threads and their output is written back in input order ([`par`]). Records
//! inside a block are read and written by [`record`] (NDJSON via [`json`], TSV via [`tsv`]). Every
//! step counts what it did in named atomic counters ([`counters`]), which are published through
//! `--stats`, `--progress` and `--metrics-addr`. [`cli`] holds the flags every tool shares and the
//! one exit-status policy.
//!
//! A tool is a [`par::Worker`]: it turns one block into output bytes and reject lines.

pub mod append;
pub mod bytescan;
pub mod chunk;
pub mod civil;
pub mod cli;
pub mod counters;
pub mod gunzip;
pub mod input;
pub mod json;
pub mod par;
pub mod prefetch;
pub mod record;
pub mod s3;
pub mod size;
pub mod tsv;
