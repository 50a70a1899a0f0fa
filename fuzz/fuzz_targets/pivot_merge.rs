//! `pivot-count --merge` input: any bytes are merged or refused with an error, never a panic,
//! with and without spilling to disk.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use onebox::input::Source;
use pivot_count::merge::{read_into, Wanted};
use pivot_count::table::Table;

fuzz_target!(|data: &[u8]| {
    for limit in [usize::MAX, 64] {
        let mut table = Table::new(0, limit);
        let mut want = Wanted::default();
        let reader: Box<dyn std::io::Read + Send> = Box::new(Cursor::new(data.to_vec()));
        if read_into(&Source::Stdin, reader, &mut want, &mut table).is_err() {
            return;
        }
        if let Ok(groups) = table.into_sorted() {
            for g in groups {
                let _ = g;
            }
        }
    }
});
