//! `--list-fields FILE`: the columns a log file announces and the names they get.

use std::io::{BufReader, Write};
use std::path::Path;

use anyhow::Context;
use onebox::chunk::ReadLines;
use onebox::input::{self, Source};

use crate::schema::{kind_of, known_fields, Columns};

/// Lines read looking for the first `#Fields:` before giving up.
const MAX_LINES: usize = 1000;

/// Writes a TSV table (position, logged name, field name, type) for the first `#Fields:` line
/// of `path`, or for the current 33-field layout when the file has none before its data.
pub fn list_fields(path: &Path, out: &mut dyn Write) -> anyhow::Result<()> {
    let source = Source::Path(path.to_path_buf());
    let reader = input::open(&source).with_context(|| path.display().to_string())?;
    let mut lines = ReadLines::new(BufReader::new(reader));
    let mut columns = None;
    for _ in 0..MAX_LINES {
        let Some((_, text)) = lines
            .next_line()
            .with_context(|| path.display().to_string())?
        else {
            break;
        };
        if text.starts_with(b"#Fields:") {
            columns = Some(Columns::parse(text));
            break;
        }
        if !text.is_empty() && text[0] != b'#' {
            break;
        }
    }
    let columns = columns.unwrap_or_else(|| {
        onebox::cli::note(&format!(
            "{}: no #Fields line before the data; showing the current 33-field layout it is read with",
            path.display()
        ));
        Columns::standard()
    });
    if !columns.is_web_log() {
        onebox::cli::note(&format!(
            "{}: this is not a web distribution's access log; its lines would be rejected (not_web_log)",
            path.display()
        ));
    }
    let mut table = b"position\tlogged\tfield\ttype\n".to_vec();
    let known = known_fields();
    for (i, (logged, name)) in columns.logged.iter().zip(&columns.names).enumerate() {
        // A column with no field of that name is not read (see --fields): say so.
        let label = if known.contains(name) {
            kind_of(name).label()
        } else {
            "(no such field: left out of the output)"
        };
        table.extend_from_slice(format!("{}\t{logged}\t{name}\t{label}\n", i + 1).as_bytes());
    }
    table.extend_from_slice(b"-\t(date time)\ttimestamp\tstring (derived, YYYY-MM-DDTHH:MM:SSZ)\n");
    out.write_all(&table)?;
    out.flush()?;
    Ok(())
}
