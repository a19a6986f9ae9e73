//! The envelope every tagged message carries ahead of its payload (docs/wire-format.md):
//!
//! ```text
//! built-in:  [topic] 0xC1 <id> <payload>                 id 1 MessagePack, 2 JSON, 3 string
//! custom:    [topic] 0xC1 0x00 <n> <n bytes of name> <payload>
//! ```
//!
//! 0xC1 never starts MessagePack and never occurs in UTF-8, so the first 0xC1 ends the topic and
//! a tagged message cannot be mistaken for a bare one.

use crate::protocol::{printable_byte, Protocol};

pub const TAG: u8 = 0xC1;

/// The bytes that go before the payload: the topic, then (on tagged sockets, `protocol` given)
/// the tag. Sent with every message, so a short header (all but long topics or protocol names)
/// is kept inline rather than in a heap allocation of its own.
pub fn header(topic: &[u8], protocol: Option<&Protocol>) -> Header {
    let len = header_len(topic, protocol);
    let mut h = match len <= SHORT {
        true => Header::Short([0; SHORT], len as u8),
        false => Header::Long(vec![0; len]),
    };
    write_header(&mut h, topic, protocol);
    h
}

const SHORT: usize = 64;

/// A message's header bytes (see [`header`]), read through `Deref` as a byte slice.
pub enum Header {
    Short([u8; SHORT], u8),
    Long(Vec<u8>),
}

impl std::ops::Deref for Header {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Header::Short(bytes, len) => &bytes[..*len as usize],
            Header::Long(bytes) => bytes,
        }
    }
}

impl std::ops::DerefMut for Header {
    fn deref_mut(&mut self) -> &mut [u8] {
        match self {
            Header::Short(bytes, len) => &mut bytes[..*len as usize],
            Header::Long(bytes) => bytes,
        }
    }
}

fn write_header(dst: &mut [u8], topic: &[u8], protocol: Option<&Protocol>) {
    let (head, tag) = dst.split_at_mut(topic.len());
    head.copy_from_slice(topic);
    let Some(protocol) = protocol else { return };
    tag[0] = TAG;
    tag[1] = protocol.wire_id();
    if let Protocol::Custom(c) = protocol {
        tag[2] = c.name.len() as u8;
        tag[3..].copy_from_slice(c.name.as_bytes());
    }
}

fn header_len(topic: &[u8], protocol: Option<&Protocol>) -> usize {
    topic.len()
        + match protocol {
            None => 0,
            Some(Protocol::Custom(c)) => 3 + c.name.len(),
            Some(_) => 2,
        }
}

/// The protocol a message says it carries.
#[derive(Debug, PartialEq)]
pub enum Tag<'a> {
    /// Not tagged: the whole body is the payload.
    None,
    /// A built-in protocol's id.
    Builtin(u8),
    /// A protocol named on the wire.
    Named(&'a [u8]),
}

#[derive(Debug, PartialEq)]
pub struct Parsed<'a> {
    pub topic: &'a [u8],
    pub tag: Tag<'a>,
    /// Where the payload starts in the body.
    pub payload_at: usize,
}

/// Reads the envelope of `body`. `topics` is true on sockets where a topic may come first
/// (sub); elsewhere a message that does not start with 0xC1 is untagged.
pub fn parse(body: &[u8], topics: bool) -> Result<Parsed<'_>, String> {
    let tag_at = if topics {
        match body.iter().position(|&b| b == TAG) {
            Some(at) if std::str::from_utf8(&body[..at]).is_ok() => at,
            _ => return Ok(untagged()),
        }
    } else if body.first() == Some(&TAG) {
        0
    } else {
        return Ok(untagged());
    };
    let topic = &body[..tag_at];
    let id = *body
        .get(tag_at + 1)
        .ok_or_else(|| format!("the envelope ends after its 0xC1 tag byte (byte {tag_at})"))?;
    if id != 0 {
        return Ok(Parsed {
            topic,
            tag: Tag::Builtin(id),
            payload_at: tag_at + 2,
        });
    }
    let n = *body
        .get(tag_at + 2)
        .ok_or_else(|| "the envelope names a protocol but has no name length".to_string())?
        as usize;
    let name_at = tag_at + 3;
    let name = body.get(name_at..name_at + n).ok_or_else(|| {
        format!(
            "the envelope's protocol name claims {n} bytes but only {} are left",
            body.len() - name_at
        )
    })?;
    if n == 0 {
        return Err("the envelope names a protocol of 0 bytes (names take 1 to 255)".to_string());
    }
    if !name.iter().copied().all(printable_byte) {
        return Err(format!(
            "the envelope's protocol name \"{}\" is not printable ASCII (0x21 to 0x7E)",
            name.escape_ascii()
        ));
    }
    Ok(Parsed {
        topic,
        tag: Tag::Named(name),
        payload_at: name_at + n,
    })
}

fn untagged<'a>() -> Parsed<'a> {
    Parsed {
        topic: &[],
        tag: Tag::None,
        payload_at: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tags_with_and_without_topic() {
        let p = parse(b"\xc1\x01\x93\x01\x02\x03", false).unwrap();
        assert_eq!(
            (p.topic, p.tag, p.payload_at),
            (&b""[..], Tag::Builtin(1), 2)
        );
        let p = parse(b"weather\xc1\x02{}", true).unwrap();
        assert_eq!(
            (p.topic, p.tag, p.payload_at),
            (&b"weather"[..], Tag::Builtin(2), 9)
        );
    }

    #[test]
    fn named_tags() {
        let p = parse(b"\xc1\x00\x03cbor\xa0", false).unwrap();
        assert_eq!(p.tag, Tag::Named(b"cbo"));
        assert_eq!(p.payload_at, 6);
    }

    #[test]
    fn untagged_and_hostile_bodies() {
        assert_eq!(parse(b"\x93\x01", false).unwrap().tag, Tag::None);
        assert_eq!(parse(b"", false).unwrap().tag, Tag::None);
        assert_eq!(parse(b"no tag here", true).unwrap().tag, Tag::None);
        // bytes before the tag that are not UTF-8 are no topic: untagged
        assert_eq!(parse(b"\xff\xc1\x01", true).unwrap().tag, Tag::None);
        assert!(parse(b"\xc1", false).is_err());
        assert!(parse(b"\xc1\x00", false).is_err());
        assert!(parse(b"\xc1\x00\xff", false).is_err());
        assert!(parse(b"\xc1\x00\x05abc", false).is_err());
        // names are 1 to 255 bytes of printable ASCII
        assert!(parse(b"\xc1\x00\x00payload", false).is_err());
        assert!(parse(b"\xc1\x00\x02\x1b[payload", false).is_err());
        assert!(parse(b"\xc1\x00\x03k\xc1vpayload", false).is_err());
        assert!(parse(b"\xc1\x00\x03a bpayload", false).is_err());
        assert!(parse(b"\xc1\x00\x02\xc2\x9bpayload", false).is_err());
        assert_eq!(
            parse(b"\xc1\x00\x03a~!x", false).unwrap().tag,
            Tag::Named(b"a~!")
        );
    }

    #[test]
    fn header_matches_parse() {
        assert_eq!(&*header(b"t", Some(&Protocol::Json)), b"t\xc1\x02");
        assert_eq!(&*header(b"t", None), b"t");
        let long_topic = [b'x'; 100];
        let h = header(&long_topic, Some(&Protocol::MessagePack));
        let p = parse(&h, true).unwrap();
        assert_eq!((p.topic, p.tag), (&long_topic[..], Tag::Builtin(1)));
    }
}
