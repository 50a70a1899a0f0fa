//! Property test of the CSV writer: rows written by `CsvStyle` read back with the `csv` crate
//! (an independent RFC 4180 reader) equal what was written (bytes that are not UTF-8 as
//! U+FFFD), and null stays apart from "".

use csv_chunk::csvrow::CsvStyle;
use proptest::prelude::*;

/// A cell: null (None) or any bytes, with delimiters, quotes and line ends made likely.
fn cell() -> impl Strategy<Value = Option<Vec<u8>>> {
    let bytes = prop::collection::vec(
        prop_oneof![
            Just(b','),
            Just(b';'),
            Just(b'"'),
            Just(b'\n'),
            Just(b'\r'),
            Just(b' '),
            any::<u8>(),
        ],
        0..12,
    );
    prop_oneof![1 => Just(None), 6 => bytes.prop_map(Some)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn csv_rows_read_back_equal(
        rows in prop::collection::vec(prop::collection::vec(cell(), 3), 1..8),
        delimiter in prop_oneof![Just(b','), Just(b';'), Just(b'\t'), Just(b'|')],
        null in prop_oneof![Just(Vec::new()), Just(b"\\N".to_vec()), Just(b"NULL".to_vec())],
    ) {
        let style = CsvStyle { delimiter, null: null.clone() };
        let mut out = style.header(&["a", "b,c", "d\"e"]);
        for row in &rows {
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    out.push(delimiter);
                }
                match cell {
                    None => out.extend_from_slice(&null),
                    Some(text) => {
                        let valid = style.text(text, &mut out);
                        prop_assert_eq!(valid, std::str::from_utf8(text).is_ok());
                    }
                }
            }
            out.push(b'\n');
        }
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .from_reader(out.as_slice());
        let header: Vec<Vec<u8>> = reader.byte_headers().unwrap().iter().map(<[u8]>::to_vec).collect();
        prop_assert_eq!(header, vec![b"a".to_vec(), b"b,c".to_vec(), b"d\"e".to_vec()]);
        let mut back = Vec::new();
        for record in reader.byte_records() {
            back.push(record.unwrap());
        }
        prop_assert_eq!(back.len(), rows.len(), "one record per row: {:?}", String::from_utf8_lossy(&out));
        for (record, row) in back.iter().zip(&rows) {
            prop_assert_eq!(record.len(), row.len());
            for (got, want) in record.iter().zip(row) {
                // The csv crate does not tell quoted from unquoted fields, so check the text
                // here and the null/empty distinction on the raw bytes below. Bytes that are
                // not UTF-8 come back as U+FFFD.
                let want = want.as_deref().map(String::from_utf8_lossy);
                prop_assert_eq!(got, want.as_ref().map_or(&null[..], |w| w.as_bytes()));
            }
        }
        // A non-null value equal to the null marker is always quoted, so it cannot be mistaken
        // for null.
        let mut quoted = Vec::new();
        style.text(&null, &mut quoted);
        prop_assert_ne!(quoted, null);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Names built from data (`--by`) can never leave the output directory or hide a file.
    #[test]
    fn family_names_from_data_are_safe(value in prop::collection::vec(
        prop_oneof![Just(b'.'), Just(b'/'), Just(b'\\'), Just(0u8), any::<u8>()], 0..80)
    ) {
        let name = csv_chunk::naming::sanitize_family(&value);
        prop_assert!(!name.is_empty());
        prop_assert!(name.len() <= 64 + 9, "bounded length: {}", name);
        prop_assert!(!name.contains('/') && !name.contains('\\') && !name.contains('\0'));
        prop_assert!(!name.contains(".."), "no parent references: {}", name);
        prop_assert!(!name.starts_with('.'), "no hidden files: {}", name);
        prop_assert!(name.is_ascii());
    }
}
