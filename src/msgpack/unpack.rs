//! MessagePack to Lua values, pushed straight onto the Lua stack.
//!
//! Strict: every length is checked against the bytes that are left before anything is
//! allocated for it (an array of n elements needs at least n bytes, a map 2n), the reserved byte
//! 0xC1 is rejected, and nesting is bounded. Errors say what and at which byte offset.

use std::ffi::c_int;

/// The most entries a map's table is made room for before they come: a map claims `n`
/// entries in as few as `2n` bytes, but one key repeated keeps one, so a table sized for the
/// claim held 192 MiB for 16 MiB of input. Past this, the table grows as distinct keys come.
/// (The LuaJIT codec, `lua/nml/jit_codec.lua`, has the same limit.)
const MAP_PRESIZE_MAX: usize = 1 << 16;

use rmp::Marker;

use super::keys::KeyCache;
use super::Codec;
use crate::codec::{marker, Mark, MAX_SHARED_PER_MESSAGE, SHARED_EXT_TYPE};
use crate::error::{code, Error, Result};
use crate::lua::{Int64, Stack, Table};
use crate::message::{self, MsgBox, SharedMsg, HEADROOM};
use crate::nng::Message;
use crate::shm;

pub struct Unpacker<'a> {
    stack: &'a Stack,
    keys: &'a KeyCache,
    /// The table the key cache keeps its strings in (see `KeyCache::table`).
    key_table: Option<Table>,
    data: &'a [u8],
    pos: usize,
    max_depth: usize,
    buffers: Buffers<'a>,
    /// LuaJIT: makes integers beyond ±2^53 FFI cdata (see `Settings::int64_maker`).
    int64_maker: Option<c_int>,
    /// What becomes of shared-buffer references.
    shared: SharedRefs,
    /// References opened so far in this message.
    opened: usize,
    /// Why a reference of this message was not opened (the first one): the message is refused
    /// once it is decoded, so that its other references are opened and their views given back
    /// at once, not left on their way, which would keep their buffers from their pools.
    refused: Option<Error>,
    /// The views this value opened, freed if it is refused: they are in its tables on the
    /// stack until then, so Lua keeps them (freed by hand, not by a collection, which a peer
    /// could otherwise make this process run for every message it sends).
    views: Vec<&'a MsgBox>,
}

/// What a descriptor's shared-buffer reference becomes (docs/design.md, "Threat model").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharedRefs {
    /// The ext it is on the wire: nothing is opened (the default, and every path but a socket
    /// with `share` receiving from this host).
    Keep,
    /// Opened if it names process `pid`, the peer the message came from.
    OpenFrom(u32),
    /// Refused: the peer it came from is no longer known.
    Refuse,
}

/// What the `buffer` of a descriptor (a map holding `buffer` as bin and `buffer_ud_type`,
/// the wire format's "Buffer descriptors") becomes.
#[derive(Clone, Copy)]
pub enum Buffers<'a> {
    /// A Lua string, as any other bin (the `buffers = "string"` option).
    Strings,
    /// A new nml message holding a copy of the bytes (unpacking from a Lua string).
    Copies,
    /// A view into the message the data is in; the data starts `at` bytes into its body.
    Views(&'a SharedMsg, usize),
}

/// What a descriptor's `buffer` holds on the wire: a bin (`at`, `len` in the data), or a
/// reference to a shared buffer.
enum Under {
    Bin(usize, usize),
    Shared(shm::Reference),
}

/// Key strings of a descriptor as MessagePack fixstr, to spot them in the data itself.
const BUFFER_KEY: &[u8] = b"\xa6buffer";
const TYPE_KEY: &[u8] = b"\xaebuffer_ud_type";

/// Where a value sits: a nil at the top level is Lua's nil; inside a table it is `nml.null`, so
/// that arrays keep their length and maps their keys.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Top,
    Inside,
}

impl<'a> Unpacker<'a> {
    pub fn new(stack: &'a Stack, codec: Codec<'a>, data: &'a [u8], pos: usize) -> Self {
        Unpacker {
            stack,
            keys: &codec.cache.keys,
            key_table: KeyCache::table(stack),
            data,
            pos,
            max_depth: codec.settings.max_depth,
            buffers: match codec.settings.buffers_as_strings {
                true => Buffers::Strings,
                false => Buffers::Copies,
            },
            int64_maker: codec.settings.int64_maker(),
            shared: SharedRefs::Keep,
            opened: 0,
            refused: None,
            views: Vec::new(),
        }
    }

    /// Says what shared-buffer references in descriptors become (opened only for a socket that
    /// asked for them, from a peer of this host: docs/design.md, "Threat model").
    pub fn shared(mut self, shared: SharedRefs) -> Self {
        self.shared = shared;
        self
    }

    /// Says what descriptors' buffers become (the default: copies, or strings if configured).
    pub fn buffers(mut self, buffers: Buffers<'a>) -> Self {
        self.buffers = buffers;
        self
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn int64(&self, value: Int64) -> Result<()> {
        self.stack
            .push_int64(value, self.int64_maker)
            .map_err(Error::raise)
    }

    /// Pushes the next value.
    pub fn value(&mut self) -> Result<()> {
        if !self.stack.check_stack(2) {
            return Err(stack_full(self.pos, 0));
        }
        self.views.clear();
        self.item(0, Place::Top)?;
        if let Some(refused) = self.refused.take() {
            for view in self.views.drain(..) {
                let _ = view.free(); // given back now
            }
            self.stack.pop(1);
            return Err(refused);
        }
        Ok(())
    }

    fn item(&mut self, depth: usize, place: Place) -> Result<()> {
        let s = self.stack;
        let marker = Marker::from_u8(self.byte()?);
        match marker {
            Marker::FixPos(n) => s.push_int(n as i64),
            Marker::FixNeg(n) => s.push_int(n as i64),
            Marker::Null if place == Place::Top => s.push_nil(),
            Marker::Null => s.push_light(std::ptr::null_mut()),
            Marker::False => s.push_bool(false),
            Marker::True => s.push_bool(true),
            Marker::U8 => s.push_int(self.be::<1>()?[0] as i64),
            Marker::U16 => s.push_int(u16::from_be_bytes(self.be()?) as i64),
            Marker::U32 => s.push_int(u32::from_be_bytes(self.be()?) as i64),
            Marker::U64 => {
                let u = u64::from_be_bytes(self.be()?);
                self.int64(Int64::Unsigned(u))?
            }
            Marker::I8 => s.push_int(self.be::<1>()?[0] as i8 as i64),
            Marker::I16 => s.push_int(i16::from_be_bytes(self.be()?) as i64),
            Marker::I32 => s.push_int(i32::from_be_bytes(self.be()?) as i64),
            Marker::I64 => {
                let i = i64::from_be_bytes(self.be()?);
                self.int64(Int64::Signed(i))?
            }
            Marker::F32 => s.push_float(f32::from_be_bytes(self.be()?) as f64),
            Marker::F64 => s.push_float(f64::from_be_bytes(self.be()?)),
            sized => self.sized(sized, depth)?,
        }
        Ok(())
    }

    /// Pushes a value that has a length: a string, an array, a map or an ext.
    fn sized(&mut self, marker: Marker, depth: usize) -> Result<()> {
        let at = self.pos - 1; // its header, for errors about the container
        match marker {
            Marker::FixStr(n) => self.string(n as usize),
            Marker::Str8 | Marker::Bin8 => self.length::<1>().and_then(|n| self.string(n)),
            Marker::Str16 | Marker::Bin16 => self.length::<2>().and_then(|n| self.string(n)),
            Marker::Str32 | Marker::Bin32 => self.length::<4>().and_then(|n| self.string(n)),
            Marker::FixArray(n) => self.array(n as usize, depth, at),
            Marker::Array16 => self.length::<2>().and_then(|n| self.array(n, depth, at)),
            Marker::Array32 => self.length::<4>().and_then(|n| self.array(n, depth, at)),
            Marker::FixMap(n) => self.map(n as usize, depth, at),
            Marker::Map16 => self.length::<2>().and_then(|n| self.map(n, depth, at)),
            Marker::Map32 => self.length::<4>().and_then(|n| self.map(n, depth, at)),
            Marker::FixExt1 => self.ext(1),
            Marker::FixExt2 => self.ext(2),
            Marker::FixExt4 => self.ext(4),
            Marker::FixExt8 => self.ext(8),
            Marker::FixExt16 => self.ext(16),
            Marker::Ext8 => self.length::<1>().and_then(|n| self.ext(n)),
            Marker::Ext16 => self.length::<2>().and_then(|n| self.ext(n)),
            Marker::Ext32 => self.length::<4>().and_then(|n| self.ext(n)),
            _ => {
                // 0xc1, the one byte MessagePack never uses (the scalars were matched above).
                self.pos -= 1;
                Err(self.malformed("invalid byte 0xc1 (never used by MessagePack)"))
            }
        }
    }

    /// Reads a big-endian length of `N` bytes (1, 2 or 4).
    #[inline]
    fn length<const N: usize>(&mut self) -> Result<usize> {
        let bytes: [u8; N] = self.be()?;
        Ok(bytes.iter().fold(0usize, |n, &b| n << 8 | b as usize))
    }

    fn string(&mut self, n: usize) -> Result<()> {
        let bytes = self.take(n)?;
        self.stack.push_bytes(bytes);
        Ok(())
    }

    fn array(&mut self, n: usize, depth: usize, at: usize) -> Result<()> {
        self.enter(n, 1, depth, at)?;
        let s = self.stack;
        let array = s.new_table(n, 0);
        for i in 1..=n {
            self.item(depth + 1, Place::Inside)?;
            s.raw_set_index(array, i as i64);
        }
        Ok(())
    }

    fn map(&mut self, n: usize, depth: usize, at: usize) -> Result<()> {
        self.enter(n, 2, depth, at)?;
        let s = self.stack;
        let map = s.new_table(0, n.min(MAP_PRESIZE_MAX));
        if n == 0 {
            // An empty map comes back marked, so that it packs as a map again.
            s.set_metatable(map.index(), marker(s, Mark::Map)?);
        }
        // A bin under "buffer" is set last, once the map has shown whether it is a descriptor,
        // so that its bytes become a message or a string without being made twice.
        let mut buffer = None;
        let mut typed = false;
        for _ in 0..n {
            let key_at = self.pos;
            let rest = &self.data[key_at..];
            // The first byte tells most keys apart before any comparison: a fixstr of 6 or 14
            // bytes may be a descriptor's key, only a float may be NaN.
            let first = rest.first().copied();
            let is_buffer_key = first == Some(BUFFER_KEY[0]) && rest.starts_with(BUFFER_KEY);
            typed |= first == Some(TYPE_KEY[0]) && rest.starts_with(TYPE_KEY);
            self.key(depth)?;
            if matches!(first, Some(0xca | 0xcb)) && s.to_f64(-1).is_some_and(f64::is_nan) {
                self.pos = key_at;
                return Err(self.malformed("a map key is NaN, which Lua tables cannot hold"));
            }
            if is_buffer_key {
                buffer = match self.bin()? {
                    Some((at, len)) => Some(Under::Bin(at, len)),
                    None => self.shared_reference()?.map(Under::Shared),
                };
                if buffer.is_some() {
                    s.pop(1);
                    continue;
                }
            }
            self.item(depth + 1, Place::Inside)?;
            s.raw_set(map);
        }
        match buffer {
            Some(Under::Bin(at, len)) => {
                s.push_str("buffer");
                self.buffer(at, len, typed)?;
                s.raw_set(map);
            }
            Some(Under::Shared(r)) => {
                s.push_str("buffer");
                self.shared_buffer(&r, typed)?;
                s.raw_set(map);
            }
            None => {}
        }
        Ok(())
    }

    /// Skips a shared buffer's reference (an ext of nml's type and size) at the current
    /// position and gives it; `None` (and nothing read) when the next value is not one.
    fn shared_reference(&mut self) -> Result<Option<shm::Reference>> {
        let head = [0xc7, shm::Reference::WIRE_LEN as u8, SHARED_EXT_TYPE as u8];
        if !self.data[self.pos..].starts_with(&head) {
            return Ok(None);
        }
        self.pos += head.len();
        let bytes = self.take(shm::Reference::WIRE_LEN)?;
        Ok(shm::Reference::from_bytes(bytes))
    }

    /// Pushes a descriptor's shared buffer: a read-only view of the sender's memory, mapped
    /// here (or its bytes as a string with `buffers = "string"`), where references may be
    /// opened; elsewhere, and outside a descriptor, the reference is the ext it is on the wire.
    fn shared_buffer(&mut self, r: &shm::Reference, typed: bool) -> Result<()> {
        let s = self.stack;
        let sender = match (typed, self.shared) {
            (true, SharedRefs::OpenFrom(pid)) => Some(pid),
            (true, SharedRefs::Refuse) => None,
            _ => {
                let ext = s.new_table(0, 2);
                s.push_int(SHARED_EXT_TYPE as i64);
                s.raw_set_field(ext, "type");
                s.push_bytes(&r.to_bytes());
                s.raw_set_field(ext, "data");
                s.set_metatable(ext.index(), marker(s, Mark::Ext)?);
                return Ok(());
            }
        };
        self.opened += 1;
        if self.opened > MAX_SHARED_PER_MESSAGE {
            // Opened no more (that bounds the work a message makes); the others go back.
            return self.refuse(Error::returned(
                code::TOO_LARGE,
                format!("more than {MAX_SHARED_PER_MESSAGE} shared buffers in one message"),
            ));
        }
        // One answer whatever failed, so that a peer learns nothing of this host.
        let Some(segment) = sender.and_then(|pid| shm::Segment::open(r, pid).ok()) else {
            return self.refuse(Error::returned(
                code::GONE,
                "a shared buffer could not be opened: its sender freed it or exited, or the \
                 reference names no nml buffer of this user",
            ));
        };
        match self.buffers {
            Buffers::Strings => s.push_bytes(segment.data()),
            _ => {
                MsgBox::push_mapped(s, segment, None)?;
                self.views
                    .extend(s.test_udata::<MsgBox>(-1, message::METATABLE));
            }
        }
        Ok(())
    }

    /// Notes why the message is refused (the first reason), and goes on decoding it with nil
    /// for this buffer, so that its other references are opened and given back.
    fn refuse(&mut self, why: Error) -> Result<()> {
        self.refused.get_or_insert(why);
        self.stack.push_nil();
        Ok(())
    }

    /// Pushes a map's key: a short string through the key cache, anything else as a value.
    fn key(&mut self, depth: usize) -> Result<()> {
        let n = match self.data.get(self.pos) {
            Some(&b @ 0xa0..=0xbf) => (b & 0x1f) as usize,
            _ => return self.item(depth + 1, Place::Inside),
        };
        self.pos += 1;
        let bytes = self.take(n)?;
        self.keys.push(self.stack, self.key_table, bytes);
        Ok(())
    }

    /// Skips a bin at the current position and gives where its bytes are; `None` (and nothing
    /// read) when the next value is not a bin.
    fn bin(&mut self) -> Result<Option<(usize, usize)>> {
        let Some(&byte) = self.data.get(self.pos) else {
            return Ok(None);
        };
        let n = match Marker::from_u8(byte) {
            Marker::Bin8 => {
                self.pos += 1;
                self.be::<1>()?[0] as usize
            }
            Marker::Bin16 => {
                self.pos += 1;
                u16::from_be_bytes(self.be()?) as usize
            }
            Marker::Bin32 => {
                self.pos += 1;
                u32::from_be_bytes(self.be()?) as usize
            }
            _ => return Ok(None),
        };
        let at = self.pos;
        self.take(n)?;
        Ok(Some((at, n)))
    }

    /// Pushes a descriptor's buffer: `len` bytes at `at` in the data.
    fn buffer(&mut self, at: usize, len: usize, typed: bool) -> Result<()> {
        let s = self.stack;
        let bytes = &self.data[at..at + len];
        match self.buffers {
            Buffers::Strings => s.push_bytes(bytes),
            _ if !typed => s.push_bytes(bytes),
            Buffers::Views(msg, base) => MsgBox::push_view(s, msg, base + at, len)?,
            Buffers::Copies => {
                let mut msg = Message::alloc_with_headroom(len, HEADROOM)?;
                msg.body_mut().copy_from_slice(bytes);
                MsgBox::push(s, msg)?;
            }
        }
        Ok(())
    }

    /// `nml.ext(type, data)`: `{type = t, data = s}` with the ext metatable.
    fn ext(&mut self, n: usize) -> Result<()> {
        let ty = self.be::<1>()?[0] as i8;
        let data = self.take(n)?;
        let s = self.stack;
        let ext = s.new_table(0, 2);
        s.push_int(ty as i64);
        s.raw_set_field(ext, "type");
        s.push_bytes(data);
        s.raw_set_field(ext, "data");
        s.set_metatable(ext.index(), marker(s, Mark::Ext)?);
        Ok(())
    }

    /// Checks a container of `n` entries, each at least `min_bytes` long, before its table is
    /// made: the data must hold that much, and the nesting and the Lua stack must allow it.
    /// Checks a container whose header starts at `at` before anything is made for it: its
    /// depth, its claimed entries against the bytes left, and room on the Lua stack.
    fn enter(&mut self, n: usize, min_bytes: usize, depth: usize, at: usize) -> Result<()> {
        if depth >= self.max_depth {
            let why = format!("nesting deeper than {} levels", self.max_depth);
            return Err(Error::malformed(format!(
                "malformed MessagePack at byte {at}: {why}"
            )));
        }
        let left = self.data.len() - self.pos;
        if n.saturating_mul(min_bytes) > left {
            return Err(self.malformed(&format!(
                "claims {n} entries but only {left} bytes are left"
            )));
        }
        if !self.stack.check_stack(4) {
            return Err(stack_full(at, depth));
        }
        Ok(())
    }

    #[inline]
    fn byte(&mut self) -> Result<u8> {
        Ok(self.be::<1>()?[0])
    }

    #[inline]
    fn be<const N: usize>(&mut self) -> Result<[u8; N]> {
        let bytes = self.take(N)?;
        Ok(bytes.try_into().expect("take returns N bytes"))
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let data: &'a [u8] = self.data;
        match data.get(self.pos..).and_then(|rest| rest.get(..n)) {
            Some(bytes) => {
                self.pos += n;
                Ok(bytes)
            }
            None => Err(self.truncated(n)),
        }
    }

    #[cold]
    fn truncated(&self, n: usize) -> Error {
        let left = self.data.len() - self.pos;
        self.malformed(&format!("truncated: needs {n} bytes, only {left} left"))
    }

    fn malformed(&self, what: &str) -> Error {
        Error::malformed(format!(
            "malformed MessagePack at byte {}: {what}",
            self.pos
        ))
    }
}

/// Valid MessagePack that does not fit on the Lua stack (a C function has at most 8000 slots
/// on Lua 5.1 and LuaJIT): a limit, not malformed bytes.
fn stack_full(at: usize, depth: usize) -> Error {
    let why = match depth {
        0 => {
            "too many values for the Lua stack: unpack them one at a time (nml.unpack_one, or \
              nml.unpacker)"
        }
        _ => "nesting too deep for the Lua stack",
    };
    Error::returned(code::TOO_LARGE, format!("at byte {at}: {why}"))
}

/// Makes the decoded value at the top of the stack the only object of `data`.
pub fn expect_end(u: &Unpacker) -> Result<()> {
    if u.at_end() {
        Ok(())
    } else {
        Err(Error::malformed(format!(
            "malformed MessagePack at byte {}: {} trailing bytes after the value",
            u.pos(),
            u.data.len() - u.pos()
        )))
    }
}
