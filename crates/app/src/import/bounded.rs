//! A bound on how much of a CSV file one record may take. The `csv` reader holds a record's cells in memory whole
//! until the record ends, so a file with a cell that never ends (a quote left open, or a multi-gigabyte line)
//! would otherwise be read into memory entirely before any error.

use std::io::{self, Read};

/// The most bytes one record (the header row included) may span.
pub const MAX_RECORD_BYTES: u64 = 1 << 20;

/// A reader that refuses to read further than [`MAX_RECORD_BYTES`] past the end of the last whole record.
pub struct Bounded<R> {
    inner: R,
    /// Bytes handed out so far.
    read: u64,
    /// Bytes that may be handed out before the next record ends.
    allowed: u64,
}

impl<R: Read> Bounded<R> {
    pub fn new(inner: R) -> Self {
        Bounded {
            inner,
            read: 0,
            allowed: MAX_RECORD_BYTES,
        }
    }

    /// A record ended at byte `end` of the input: the next one may reach `MAX_RECORD_BYTES` past it.
    pub fn record_ended(&mut self, end: u64) {
        self.allowed = end.saturating_add(MAX_RECORD_BYTES);
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let room = self.allowed.saturating_sub(self.read);
        if room == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a record longer than {MAX_RECORD_BYTES} bytes (a quote left open?)"),
            ));
        }
        let take = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..take])?;
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Reads every record as the import does, telling the bound where each ended.
    fn records(input: &[u8]) -> Result<usize, csv::Error> {
        let mut reader = csv::ReaderBuilder::new().from_reader(Bounded::new(input));
        let mut n = 0;
        let mut record = csv::StringRecord::new();
        while reader.read_record(&mut record)? {
            let end = reader.position().byte();
            reader.get_mut().record_ended(end);
            n += 1;
        }
        Ok(n)
    }

    #[test]
    fn many_short_records_pass_whatever_the_file_size() {
        // 3 MB of rows, each short: the bound is per record, not per file.
        let mut file = b"name,notes\n".to_vec();
        for i in 0..100_000 {
            file.extend_from_slice(format!("Org {i},\"a note, with a comma\"\n").as_bytes());
        }
        assert!(file.len() as u64 > 2 * MAX_RECORD_BYTES);
        assert_eq!(records(&file).unwrap(), 100_000);
    }

    #[test]
    fn a_record_past_the_bound_is_refused() {
        let mut file = b"name,notes\nAcme,ok\n".to_vec();
        file.extend_from_slice(b"Globex,\"");
        file.extend(std::iter::repeat_n(b'x', (MAX_RECORD_BYTES + 10) as usize));
        file.extend_from_slice(b"\"\nInitech,ok\n");
        let e = records(&file).unwrap_err();
        assert!(e.to_string().contains("longer than"), "{e}");
        // Just under the bound still passes.
        let mut file = b"name,notes\n".to_vec();
        file.extend_from_slice(b"Globex,\"");
        file.extend(std::iter::repeat_n(b'x', (MAX_RECORD_BYTES - 100) as usize));
        file.extend_from_slice(b"\"\n");
        assert_eq!(records(&file).unwrap(), 1);
    }
}
