//! TSV cells: unescaping any bytes never panics, and escape-then-unescape gives the bytes back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onebox::tsv::{escape_into, unescape_into};

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    unescape_into(data, &mut out);
    assert!(out.len() <= data.len());
    let mut cell = Vec::new();
    escape_into(data, &mut cell);
    assert!(!cell.contains(&b'\t') && !cell.contains(&b'\n'));
    out.clear();
    unescape_into(&cell, &mut out);
    assert_eq!(out, data);
});
