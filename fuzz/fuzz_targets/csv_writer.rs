//! The CSV writer round trip: the input is cut into cells at 0xFF bytes (rows of 3 cells), the
//! cells are written as CSV and read back with the csv crate; they must come back equal (bytes
//! that are not UTF-8 as U+FFFD, and `text` says so).
#![no_main]

use csv_chunk::csvrow::CsvStyle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&d, rest)) = data.split_first() else {
        return;
    };
    let delimiter = [b',', b';', b'\t', b'|'][usize::from(d % 4)];
    let style = CsvStyle {
        delimiter,
        null: if d & 4 == 0 {
            Vec::new()
        } else {
            b"\\N".to_vec()
        },
    };
    let cells: Vec<&[u8]> = rest.split(|&b| b == 0xff).collect();
    let mut out = style.header(&["a", "b", "c"]);
    let rows: Vec<&[&[u8]]> = cells.chunks(3).filter(|r| r.len() == 3).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                out.push(delimiter);
            }
            let valid = style.text(cell, &mut out);
            assert_eq!(valid, std::str::from_utf8(cell).is_ok());
        }
        out.push(b'\n');
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(out.as_slice());
    let back: Vec<csv::ByteRecord> = reader.byte_records().map(Result::unwrap).collect();
    assert_eq!(back.len(), rows.len());
    for (record, row) in back.iter().zip(&rows) {
        let want: Vec<_> = row
            .iter()
            .map(|cell| String::from_utf8_lossy(cell))
            .collect();
        let want: Vec<&[u8]> = want.iter().map(|cell| cell.as_bytes()).collect();
        assert_eq!(record.iter().collect::<Vec<_>>(), want);
    }
});
