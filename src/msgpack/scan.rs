//! Where MessagePack values end in a stream of bytes that arrives in pieces: a scanner that
//! reads each byte once, however the stream is cut, and remembers where it stopped.
//!
//! It reads headers only: the bytes of strings, bins and extensions are stepped over by their
//! length, so a 1 MiB string fed one byte at a time costs one step per byte, not a re-parse of
//! everything held. What the scanner accepts the decoder can read (the same formats, 0xC1
//! refused, nesting bounded).

use std::collections::VecDeque;

/// How many complete values the scanner finds ahead of those taken before it pauses.
pub const MAX_QUEUED: usize = 1024;

/// Why the stream cannot be read on.
#[derive(Debug, PartialEq, Eq)]
pub enum ScanError {
    /// A value is, or claims to be, longer than the limit.
    TooLarge(String),
    /// Bytes no MessagePack encoder writes, or nesting past the limit.
    Malformed(String),
}

pub struct Scanner {
    /// The next byte to read, counted from the start of the stream.
    pos: u64,
    /// Where the value being read starts.
    value_start: u64,
    /// Bytes of a str, bin or ext body (or a number) still to step over.
    skip: u64,
    /// Items still to come in each open array or map, outermost first (a map's are 2n).
    open: Vec<u64>,
    /// Where each complete value ends, oldest first, not yet taken: at most `MAX_QUEUED`, the
    /// scan pausing there, so that many small values held cost no more than their bytes.
    ends: VecDeque<u64>,
    max_size: u64,
    max_depth: usize,
}

/// What a format byte says: how long its header is (the byte included), then what follows.
enum Header {
    /// `len` bytes of header, then `body` bytes.
    Scalar { len: usize, body: u64 },
    /// `len` bytes of header holding the body's length.
    Sized { len: usize },
    /// `len` bytes of header, then entries of `items_per_entry` values (1 for an array, 2 for
    /// a map): `fixed` of them, or as many as the header's bytes after the first say.
    Container {
        len: usize,
        items_per_entry: u64,
        fixed: Option<u64>,
    },
}

fn header(b: u8) -> Option<Header> {
    use Header::*;
    Some(match b {
        0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => Scalar { len: 1, body: 0 },
        0x80..=0x8f => Header::map(1, Some((b & 0x0f) as u64)),
        0x90..=0x9f => Header::array(1, Some((b & 0x0f) as u64)),
        0xa0..=0xbf => Scalar {
            len: 1,
            body: (b & 0x1f) as u64,
        },
        0xc1 => return None,
        0xc4 | 0xd9 => Sized { len: 2 },
        0xc5 | 0xda => Sized { len: 3 },
        0xc6 | 0xdb => Sized { len: 5 },
        // ext 8/16/32: the length, then a type byte, then the data
        0xc7 => Sized { len: 3 },
        0xc8 => Sized { len: 4 },
        0xc9 => Sized { len: 6 },
        0xca => Scalar { len: 5, body: 0 },
        0xcb => Scalar { len: 9, body: 0 },
        0xcc | 0xd0 => Scalar { len: 2, body: 0 },
        0xcd | 0xd1 => Scalar { len: 3, body: 0 },
        0xce | 0xd2 => Scalar { len: 5, body: 0 },
        0xcf | 0xd3 => Scalar { len: 9, body: 0 },
        // fixext 1, 2, 4, 8, 16: a type byte, then the data
        0xd4..=0xd8 => Scalar {
            len: 2,
            body: 1 << (b - 0xd4),
        },
        0xdc => Header::array(3, None),
        0xdd => Header::array(5, None),
        0xde => Header::map(3, None),
        0xdf => Header::map(5, None),
    })
}

impl Header {
    fn array(len: usize, fixed: Option<u64>) -> Header {
        Header::Container {
            len,
            items_per_entry: 1,
            fixed,
        }
    }

    fn map(len: usize, fixed: Option<u64>) -> Header {
        Header::Container {
            len,
            items_per_entry: 2,
            fixed,
        }
    }

    fn len(&self) -> usize {
        match *self {
            Header::Scalar { len, .. } | Header::Sized { len } | Header::Container { len, .. } => {
                len
            }
        }
    }
}

/// The big-endian number in `bytes` (1 to 4 of them).
fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |n, &b| n << 8 | b as u64)
}

impl Scanner {
    pub fn new(max_size: u64, max_depth: usize) -> Scanner {
        Scanner {
            pos: 0,
            value_start: 0,
            skip: 0,
            open: Vec::new(),
            ends: VecDeque::new(),
            max_size,
            max_depth,
        }
    }

    /// Reads on through `held`, the bytes of the stream from `held_from` to what has arrived.
    /// Every value that completes is queued for [`Scanner::next_end`], up to `MAX_QUEUED`;
    /// then it pauses, to go on when called again.
    pub fn scan(&mut self, held: &[u8], held_from: u64) -> Result<(), ScanError> {
        let end = held_from + held.len() as u64;
        loop {
            if self.ends.len() >= MAX_QUEUED {
                return Ok(());
            }
            if self.skip > 0 {
                let step = self.skip.min(end - self.pos);
                self.pos += step;
                self.skip -= step;
                if self.skip > 0 {
                    return self.check_size(end);
                }
                self.item_done();
                continue;
            }
            if self.pos == end {
                return self.check_size(end);
            }
            let at = (self.pos - held_from) as usize;
            let b = held[at];
            let Some(h) = header(b) else {
                return Err(self.reserved());
            };
            let len = h.len();
            if held.len() - at < len {
                return self.check_size(end); // the header is cut: wait for the rest
            }
            let fields = &held[at + 1..at + len];
            self.pos += len as u64;
            match h {
                Header::Scalar { body, .. } => self.skip = body,
                // ext's length field is all but its last header byte (the type)
                Header::Sized { .. } if (0xc7..=0xc9).contains(&b) => {
                    self.skip = be(&fields[..len - 2])
                }
                Header::Sized { .. } => self.skip = be(fields),
                Header::Container {
                    items_per_entry,
                    fixed,
                    ..
                } => {
                    let items = fixed.unwrap_or_else(|| be(fields)) * items_per_entry;
                    if items > 0 {
                        self.open_container(items, self.pos - len as u64)?;
                        continue;
                    }
                }
            }
            if self.skip > 0 {
                self.check_claimed()?;
                continue;
            }
            self.item_done();
        }
    }

    /// The byte at the current position is 0xc1, which no encoder writes.
    fn reserved(&self) -> ScanError {
        ScanError::Malformed(format!(
            "malformed MessagePack at byte {} of the stream: 0xc1 is never used",
            self.pos
        ))
    }

    /// An array or map of `items` values (2 per map entry) starts, its header at `at`.
    fn open_container(&mut self, items: u64, at: u64) -> Result<(), ScanError> {
        if self.open.len() >= self.max_depth {
            return Err(ScanError::Malformed(format!(
                "malformed MessagePack at byte {at} of the stream: nesting deeper than max_depth \
                 ({})",
                self.max_depth
            )));
        }
        self.open.push(items);
        // What is held of this value so far (later bytes may be other values).
        self.check_size(self.pos)
    }

    /// A claimed length is checked before its bytes are waited for.
    fn check_claimed(&self) -> Result<(), ScanError> {
        let claimed = self.pos - self.value_start + self.skip;
        match claimed > self.max_size {
            true => Err(self.too_large(claimed)),
            false => Ok(()),
        }
    }

    /// One item of the innermost open container is complete (or a top-level value is).
    fn item_done(&mut self) {
        while let Some(left) = self.open.last_mut() {
            *left -= 1;
            if *left > 0 {
                return;
            }
            self.open.pop();
        }
        self.ends.push_back(self.pos);
        self.value_start = self.pos;
    }

    /// Fails when the value being read, from its start to `upto`, is over the limit.
    fn check_size(&self, upto: u64) -> Result<(), ScanError> {
        match upto - self.value_start > self.max_size {
            true => Err(self.too_large(upto - self.value_start)),
            false => Ok(()),
        }
    }

    fn too_large(&self, size: u64) -> ScanError {
        ScanError::TooLarge(format!(
            "a value of {size} bytes or more, max_size is {}",
            self.max_size
        ))
    }

    /// How many complete values are found and not yet taken.
    pub fn queued(&self) -> usize {
        self.ends.len()
    }

    /// Where the oldest complete value not yet taken ends, in stream bytes.
    pub fn next_end(&mut self) -> Option<u64> {
        self.ends.pop_front()
    }

    /// Where the first value not yet complete starts: bytes before it can be let go of once
    /// the complete values are taken.
    pub fn value_start(&self) -> u64 {
        self.value_start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `stream` in pieces of `size`; returns the end of every value.
    fn ends(stream: &[u8], size: usize) -> Result<Vec<u64>, ScanError> {
        let mut scanner = Scanner::new(1 << 20, 64);
        let mut found = Vec::new();
        for (i, piece) in stream.chunks(size).enumerate() {
            // the scanner is given everything from the start, as the unpacker keeps it
            let upto = (i * size + piece.len()).min(stream.len());
            scanner.scan(&stream[..upto], 0)?;
            while let Some(e) = scanner.next_end() {
                found.push(e);
            }
        }
        Ok(found)
    }

    #[test]
    fn finds_each_value_whatever_the_pieces() {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for value in [
            &[0x01][..],                                       // fixint
            &[0x93, 0x01, 0xa1, b'x', 0xc0],                   // [1, "x", nil]
            &[0x81, 0xa1, b'k', 0xcb, 0, 0, 0, 0, 0, 0, 0, 0], // {k = 0.0}
            &[0xc4, 0x03, 1, 2, 3],                            // bin 8
            &[0xd6, 0x05, 1, 2, 3, 4],                         // fixext 4
            &[0xc7, 0x02, 0x07, 9, 9],                         // ext 8
            &[0xdc, 0x00, 0x02, 0xc3, 0xc2],                   // array 16 of two
            &[0x90],                                           // []
            &[0xda, 0x00, 0x02, b'h', b'i'],                   // str 16
        ] {
            stream.extend_from_slice(value);
            expected.push(stream.len() as u64);
        }
        for size in 1..=stream.len() {
            assert_eq!(ends(&stream, size).unwrap(), expected, "pieces of {size}");
        }
    }

    #[test]
    fn refuses_what_no_encoder_writes_and_what_is_too_large() {
        assert!(matches!(
            ends(&[0x91, 0xc1], 1),
            Err(ScanError::Malformed(_))
        ));
        let deep = vec![0x91; 65];
        assert!(matches!(ends(&deep, 3), Err(ScanError::Malformed(_))));
        // a str 32 claiming 4 GiB is refused on its header, before its bytes come
        assert!(matches!(
            ends(&[0xdb, 0xff, 0xff, 0xff, 0xff, b'a'], 1),
            Err(ScanError::TooLarge(_))
        ));
        // an array whose items keep coming is refused once it passes max_size, in one piece
        // or in many
        let mut long = vec![0xdd, 0xff, 0xff, 0xff, 0xff];
        long.extend([0x01; 20]);
        let mut scanner = Scanner::new(10, 64);
        assert!(matches!(
            scanner.scan(&long, 0),
            Err(ScanError::TooLarge(_))
        ));
        let mut scanner = Scanner::new(10, 64);
        let refused_at = (1..=long.len()).find(|&n| scanner.scan(&long[..n], 0).is_err());
        assert_eq!(refused_at, Some(11));
    }

    #[test]
    fn small_values_fed_with_many_more_bytes_are_not_one_large_value() {
        let mut many = Vec::new();
        for _ in 0..100 {
            many.extend_from_slice(&[0x92, 0x01, 0x02]); // [1, 2]
        }
        let mut scanner = Scanner::new(10, 64);
        scanner.scan(&many, 0).unwrap();
        assert_eq!(std::iter::from_fn(|| scanner.next_end()).count(), 100);
    }
}
