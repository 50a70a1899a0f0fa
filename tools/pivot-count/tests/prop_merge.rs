//! Property tests of `--merge` input: any bytes are read or refused with an error (never a
//! panic), and partial outputs written in any format merge back to the totals of one pass.

use std::collections::BTreeMap;
use std::io::Cursor;

use onebox::input::Source;
use pivot_count::merge::{read_into, Wanted};
use pivot_count::output::{GroupWriter, OutputFormat};
use pivot_count::sum::Sum;
use pivot_count::table::{Agg, Table};
use proptest::prelude::*;

fn merge_bytes(inputs: &[Vec<u8>], limit: usize) -> anyhow::Result<BTreeMap<Vec<u8>, Agg>> {
    let mut table = Table::new(0, limit);
    let mut want = Wanted::default();
    for bytes in inputs {
        let reader: Box<dyn std::io::Read + Send> = Box::new(Cursor::new(bytes.clone()));
        read_into(&Source::Stdin, reader, &mut want, &mut table)?;
    }
    let mut out = BTreeMap::new();
    for group in table.into_sorted()? {
        let (key, agg) = group?;
        assert!(out.insert(key, agg).is_none(), "a key is output once");
    }
    Ok(out)
}

fn write_part(format: OutputFormat, groups: &BTreeMap<Vec<u8>, Agg>) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut w = GroupWriter::new(
        &mut bytes,
        format,
        &["host".to_string(), "path".to_string()],
        &["sum_bytes".to_string()],
    );
    w.header().unwrap();
    for (key, agg) in groups {
        w.row(key, agg).unwrap();
    }
    w.finish().unwrap();
    bytes
}

/// One group's key: two TSV-escaped values joined by TAB, from a small pool (so parts share
/// keys) and with the bytes formats must escape.
fn key() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        "[ab]{0,2}",
        Just("a,b".to_string()),
        Just("say \"hi\"".to_string()),
        Just("tab\there\nnl".to_string()),
        Just("é".to_string()),
    ];
    (value.clone(), value).prop_map(|(a, b)| {
        let mut key = Vec::new();
        onebox::tsv::escape_into(a.as_bytes(), &mut key);
        key.push(b'\t');
        onebox::tsv::escape_into(b.as_bytes(), &mut key);
        key
    })
}

fn part() -> impl Strategy<Value = (OutputFormat, Vec<(Vec<u8>, u64, i64)>)> {
    (
        prop_oneof![
            Just(OutputFormat::Csv),
            Just(OutputFormat::Tsv),
            Just(OutputFormat::Ndjson)
        ],
        prop::collection::vec((key(), 1u64..1000, -1_000_000i64..1_000_000), 0..12),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(
        first in prop_oneof![Just(b'{'), Just(b'c'), Just(b'\t'), any::<u8>()],
        rest in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut bytes = vec![first];
        bytes.extend(rest);
        let _ = merge_bytes(&[bytes], usize::MAX);
    }

    #[test]
    fn mutated_outputs_never_panic(
        (format, rows) in part(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut groups: BTreeMap<Vec<u8>, Agg> = BTreeMap::new();
        for (k, c, s) in rows {
            groups.entry(k).or_default().add(&Agg { count: c, sums: vec![Sum::Exact(s as i128)] }).unwrap();
        }
        let mut bytes = write_part(format, &groups);
        if !bytes.is_empty() {
            for (at, b) in flips {
                let i = at.index(bytes.len());
                bytes[i] = b;
            }
        }
        let _ = merge_bytes(&[bytes], 64);
    }

    #[test]
    fn merged_parts_equal_one_pass(parts in prop::collection::vec(part(), 1..4), small_memory in any::<bool>()) {
        let mut one_pass: BTreeMap<Vec<u8>, Agg> = BTreeMap::new();
        let mut files = Vec::new();
        for (format, rows) in &parts {
            let mut groups: BTreeMap<Vec<u8>, Agg> = BTreeMap::new();
            for (k, c, s) in rows {
                let agg = Agg { count: *c, sums: vec![Sum::Exact(*s as i128 * 1_000)] };
                groups.entry(k.clone()).or_default().add(&agg).unwrap();
                one_pass.entry(k.clone()).or_default().add(&agg).unwrap();
            }
            files.push(write_part(*format, &groups));
        }
        // A tiny budget forces spill runs, which must merge to the same totals.
        let limit = if small_memory { 1 } else { usize::MAX };
        let merged = merge_bytes(&files, limit).unwrap();
        prop_assert_eq!(merged, one_pass);
    }
}

/// Regression: two partial outputs whose counts add up past u64::MAX panicked in Agg::add
/// (debug) or wrapped around to a wrong count (release). Now an error naming the cause.
#[test]
fn counts_past_u64_do_not_panic() {
    let big = format!("host,count\nx,{}\n", u64::MAX).into_bytes();
    for limit in [usize::MAX, 1] {
        let err = merge_bytes(&[big.clone(), big.clone()], limit).unwrap_err();
        assert!(format!("{err:#}").contains("2^64"), "{err:#}");
    }
    // Just below the limit still adds up exactly.
    let half = format!("host,count\nx,{}\n", u64::MAX / 2).into_bytes();
    let merged = merge_bytes(&[half.clone(), half], usize::MAX).unwrap();
    assert_eq!(merged[&b"x"[..]].count, u64::MAX - 1);
}
