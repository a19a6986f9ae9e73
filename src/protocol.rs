//! Protocols: the encodings a message can carry, found by loose names (the manual's
//! "Protocols").
//!
//! Three are built in, each with a one-byte wire id; more can be registered from Lua with an
//! encode and a decode function. A protocol may also have a frame type, the byte that names it
//! in typed frames (`nml.framer{type_byte = true}`): 0 JSON, 1 MessagePack, others registered. Names are matched loosely: case and punctuation do not count,
//! nor a leading "lua", nor the "c" of C bindings ("lua-cjson" is "json").

use std::collections::HashMap;
use std::ffi::c_int;
use std::rc::Rc;

use crate::error::{code, Error, Result};
use crate::lua::{Kind, Stack};
use crate::msgpack::unpack::{Buffers, SharedRefs, Unpacker};
use crate::nng::Message;
use crate::{json, msgpack};

#[derive(Clone, Debug)]
pub enum Protocol {
    MessagePack,
    Json,
    String,
    Custom(Rc<Custom>),
}

/// A protocol registered from Lua: its functions live in the Lua registry.
#[derive(Debug)]
pub struct Custom {
    pub name: String,
    encode: c_int,
    decode: c_int,
    frame_type: Option<u8>,
}

/// The frame types of the built-in protocols; registered ones take any other byte.
pub const JSON_FRAME_TYPE: u8 = 0;
pub const MSGPACK_FRAME_TYPE: u8 = 1;

impl Protocol {
    pub fn name(&self) -> &str {
        match self {
            Protocol::MessagePack => "MessagePack",
            Protocol::Json => "JSON",
            Protocol::String => "string",
            Protocol::Custom(c) => &c.name,
        }
    }

    /// The byte that names a built-in protocol on the wire; 0 means "a name follows".
    pub fn wire_id(&self) -> u8 {
        match self {
            Protocol::MessagePack => 1,
            Protocol::Json => 2,
            Protocol::String => 3,
            Protocol::Custom(_) => 0,
        }
    }

    /// The byte that names this protocol in a typed frame, if it has one.
    pub fn frame_type(&self) -> Option<u8> {
        match self {
            Protocol::MessagePack => Some(MSGPACK_FRAME_TYPE),
            Protocol::Json => Some(JSON_FRAME_TYPE),
            Protocol::String => None,
            Protocol::Custom(c) => c.frame_type,
        }
    }

    pub fn from_wire_id(id: u8) -> Option<Protocol> {
        match id {
            1 => Some(Protocol::MessagePack),
            2 => Some(Protocol::Json),
            3 => Some(Protocol::String),
            _ => None,
        }
    }

    /// Appends the encoding of the value at `idx` to `out`.
    pub fn encode(
        &self,
        stack: &Stack,
        codec: msgpack::Codec<'_>,
        idx: c_int,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        match self {
            Protocol::MessagePack => msgpack::pack_values(stack, codec, idx, idx, out),
            Protocol::Json => json::encode(stack, &codec.settings, idx, out),
            Protocol::String => match stack.kind(idx) {
                Kind::String => {
                    out.extend_from_slice(stack.to_bytes(idx));
                    Ok(())
                }
                k => Err(Error::raise(format!(
                    "the string protocol carries strings, not a {} value",
                    k.name()
                ))),
            },
            Protocol::Custom(c) => c.encode(stack, idx, out),
        }
    }

    /// A message holding `header`, then the encoding of the value at `idx`. MessagePack is
    /// sized by a counting pass and packed straight into the message; LuaJIT's Lua codec and
    /// the other protocols encode into `scratch`, copied once into the message.
    pub fn encode_message(
        &self,
        stack: &Stack,
        codec: msgpack::Codec<'_>,
        header: &[u8],
        idx: c_int,
        scratch: &mut Vec<u8>,
    ) -> Result<Message> {
        let Protocol::MessagePack = self else {
            self.encode(stack, codec, idx, scratch)?;
            return bytes_message(header, scratch);
        };
        if let Some((pack, auto_strings)) = codec.settings.lua_packer() {
            // LuaJIT: the Lua codec packs into its own buffer; it leaves buffer descriptors
            // (and anything else it does not take) to the Rust codec.
            if let Some(bytes) = stack.lua_packed(pack, idx, auto_strings) {
                return bytes_message(header, bytes);
            }
        }
        let Some(measured) = msgpack::stage(stack, codec, idx, scratch)? else {
            return bytes_message(header, scratch); // packed into `scratch` already
        };
        let mut msg = Message::alloc(header.len() + measured.size)?;
        let (head, payload) = msg.body_mut().split_at_mut(header.len());
        head.copy_from_slice(header);
        msgpack::pack_measured(stack, codec, idx, idx, measured, payload)?;
        Ok(msg)
    }

    /// Pushes the value a received message's `payload` holds. MessagePack's buffers come
    /// back as `buffers` says (views into the message, copies, or strings), and shared
    /// buffers' references as `shared` says; LuaJIT's Lua codec reads what holds no buffer.
    pub fn decode_received(
        &self,
        stack: &Stack,
        codec: msgpack::Codec<'_>,
        payload: &[u8],
        buffers: Buffers,
        shared: SharedRefs,
    ) -> Result<()> {
        let Protocol::MessagePack = self else {
            return self.decode(stack, codec, payload);
        };
        let lua_unpacker = codec.settings.lua_unpacker();
        if lua_unpacker.is_some_and(|f| stack.lua_unpacked(f, payload)) {
            return Ok(());
        }
        let mut unpacker = Unpacker::new(stack, codec, payload, 0)
            .buffers(buffers)
            .shared(shared);
        unpacker.value()?;
        msgpack::unpack::expect_end(&unpacker)
    }

    /// Pushes the value `data` holds.
    pub fn decode(&self, stack: &Stack, codec: msgpack::Codec<'_>, data: &[u8]) -> Result<()> {
        match self {
            Protocol::MessagePack => msgpack::decode_one(stack, codec, data),
            Protocol::Json => json::decode(stack, &codec.settings, data),
            Protocol::String => {
                stack.push_bytes(data);
                Ok(())
            }
            Protocol::Custom(c) => c.decode(stack, data),
        }
    }
}

/// A message holding `header` then `payload`.
pub fn bytes_message(header: &[u8], payload: &[u8]) -> Result<Message> {
    let mut msg = Message::alloc(header.len() + payload.len())?;
    let body = msg.body_mut();
    body[..header.len()].copy_from_slice(header);
    body[header.len()..].copy_from_slice(payload);
    Ok(msg)
}

impl Custom {
    fn encode(&self, stack: &Stack, idx: c_int, out: &mut Vec<u8>) -> Result<()> {
        let idx = stack.abs(idx);
        stack.push_ref(self.encode);
        stack.push_value(idx);
        stack
            .pcall(1, 1)
            .map_err(|e| Error::raise(format!("protocol {}: encode failed: {e}", self.name)))?;
        let result = match stack.kind(-1) {
            Kind::String => {
                out.extend_from_slice(stack.to_bytes(-1));
                Ok(())
            }
            k => Err(Error::raise(format!(
                "protocol {}: encode returned a {} value, not a string",
                self.name,
                k.name()
            ))),
        };
        stack.pop(1);
        result
    }

    /// Calls the protocol's decode function, leaving its value. One that returns `nil, err`,
    /// as Lua functions report failure, has failed: its message is the error's.
    fn decode(&self, stack: &Stack, data: &[u8]) -> Result<()> {
        let failed =
            |why: &str| Error::malformed(format!("protocol {}: decode failed: {why}", self.name));
        stack.push_ref(self.decode);
        stack.push_bytes(data);
        stack.pcall(1, 2).map_err(|e| failed(&e))?;
        if stack.kind(-2) == Kind::Nil && stack.kind(-1) != Kind::Nil {
            let why = match stack.kind(-1) {
                Kind::String => String::from_utf8_lossy(stack.to_bytes(-1)).into_owned(),
                k => format!("it returned nil and a {} value", k.name()),
            };
            stack.pop(2);
            return Err(failed(&why));
        }
        stack.pop(1);
        Ok(())
    }
}

/// The protocols registered from Lua, by normalized name and alias.
#[derive(Default)]
pub struct Registry {
    by_name: HashMap<String, Rc<Custom>>,
}

impl Registry {
    pub fn resolve(&self, name: &[u8]) -> Option<Protocol> {
        let key = normalize(name);
        let lookup = |k: &str| {
            builtin(k).or_else(|| self.by_name.get(k).map(|c| Protocol::Custom(c.clone())))
        };
        lookup(&key).or_else(|| key.strip_prefix('c').and_then(lookup))
    }

    /// The protocol whose frame type is `t`.
    pub fn by_frame_type(&self, t: u8) -> Option<Protocol> {
        match t {
            JSON_FRAME_TYPE => Some(Protocol::Json),
            MSGPACK_FRAME_TYPE => Some(Protocol::MessagePack),
            _ => self
                .by_name
                .values()
                .find(|c| c.frame_type == Some(t))
                .map(|c| Protocol::Custom(c.clone())),
        }
    }

    /// Registers a protocol whose encode and decode functions are registry references.
    /// Names that already mean a built-in protocol are refused; a custom one is replaced. A
    /// frame type another protocol has is refused.
    pub fn register(
        &mut self,
        stack: &Stack,
        name: &str,
        aliases: &[String],
        functions: (c_int, c_int),
        frame_type: Option<u8>,
    ) -> Result<()> {
        let (encode, decode) = functions;
        if name.len() > 255 {
            return Err(Error::raise(
                "a protocol name travels in one length byte: 255 bytes at most",
            ));
        }
        for n in std::iter::once(name).chain(aliases.iter().map(String::as_str)) {
            check_new_name(n)?;
        }
        if let Some(t) = frame_type {
            if let Some(other) = self.by_frame_type(t) {
                if normalize(other.name().as_bytes()) != normalize(name.as_bytes()) {
                    return Err(Error::raise(format!(
                        "frame type {t} already means {}",
                        other.name()
                    )));
                }
            }
        }
        // Forget the functions of any protocol this one replaces under the same name.
        if let Some(old) = self.by_name.get(&normalize(name.as_bytes())).cloned() {
            self.by_name.retain(|_, c| !Rc::ptr_eq(c, &old));
            if Rc::strong_count(&old) == 1 {
                stack.drop_ref(old.encode);
                stack.drop_ref(old.decode);
            }
        }
        let custom = Rc::new(Custom {
            name: name.to_string(),
            encode,
            decode,
            frame_type,
        });
        for n in std::iter::once(name).chain(aliases.iter().map(String::as_str)) {
            self.by_name.insert(normalize(n.as_bytes()), custom.clone());
        }
        Ok(())
    }
}

/// Refuses a name a protocol cannot be registered under: not printable, without letters or
/// digits, or one that already means a built-in protocol.
fn check_new_name(n: &str) -> Result<()> {
    if !n.bytes().all(printable_byte) {
        return Err(Error::raise(format!(
            "protocol name \"{}\" is not printable: names are ASCII from '!' to '~' (0x21 to \
             0x7E)",
            n.escape_default()
        )));
    }
    let key = normalize(n.as_bytes());
    if key.is_empty() {
        return Err(Error::raise(format!(
            "protocol name {n:?} has no letters or digits"
        )));
    }
    match builtin(&key).or_else(|| key.strip_prefix('c').and_then(builtin)) {
        Some(p) => Err(Error::raise(format!(
            "protocol name {n:?} already means {}",
            p.name()
        ))),
        None => Ok(()),
    }
}

/// Whether `b` may be in a protocol name: printable ASCII without the space, 0x21 to 0x7E
/// (docs/wire-format.md), so that a name shown anywhere is what it says.
pub fn printable_byte(b: u8) -> bool {
    (0x21..=0x7E).contains(&b)
}

/// Lower case, letters and digits only, without a leading "lua".
pub fn normalize(name: &[u8]) -> String {
    let folded: String = name
        .iter()
        .filter(|b| b.is_ascii_alphanumeric())
        .map(|b| b.to_ascii_lowercase() as char)
        .collect();
    match folded.strip_prefix("lua") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => folded,
    }
}

fn builtin(key: &str) -> Option<Protocol> {
    match key {
        "messagepack" | "msgpack" | "mpack" => Some(Protocol::MessagePack),
        "json" | "dkjson" => Some(Protocol::Json),
        "string" | "raw" | "bytes" | "binary" | "text" => Some(Protocol::String),
        _ => None,
    }
}

/// The error for a frame type no protocol has.
pub fn unknown_frame_type(t: i64) -> Error {
    Error::returned(
        code::UNKNOWN_PROTOCOL,
        format!(
            "no protocol has frame type {t} (0 is JSON, 1 MessagePack; others come with \
             nml.register_protocol's frame_type)"
        ),
    )
}

/// The error for a name that resolves to nothing.
pub fn unknown(name: &[u8]) -> Error {
    Error::returned(
        code::UNKNOWN_PROTOCOL,
        format!(
            "unknown protocol {:?} (built in: MessagePack, JSON, string; or nml.register_protocol)",
            String::from_utf8_lossy(name)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(name: &str) -> Option<&'static str> {
        let r = Registry::default();
        r.resolve(name.as_bytes()).map(|p| match p {
            Protocol::MessagePack => "MessagePack",
            Protocol::Json => "JSON",
            Protocol::String => "string",
            Protocol::Custom(_) => "custom",
        })
    }

    #[test]
    fn every_alias_of_the_contract_resolves() {
        for n in [
            "MessagePack",
            "messagepack",
            "msgpack",
            "MSGPACK",
            "lua-messagepack",
            "lua-cmessagepack",
            "cmsgpack",
            "lua-cmsgpack",
            "mpack",
        ] {
            assert_eq!(canonical(n), Some("MessagePack"), "{n}");
        }
        for n in ["json", "JSON", "cjson", "lua-cjson", "dkjson"] {
            assert_eq!(canonical(n), Some("JSON"), "{n}");
        }
        for n in ["string", "raw", "bytes", "binary", "text"] {
            assert_eq!(canonical(n), Some("string"), "{n}");
        }
    }

    #[test]
    fn unknown_names_do_not_resolve() {
        for n in ["", "lua", "cbor", "jsonx", "c"] {
            assert_eq!(canonical(n), None, "{n}");
        }
    }

    #[test]
    fn wire_ids_round_trip() {
        for p in [Protocol::MessagePack, Protocol::Json, Protocol::String] {
            assert_eq!(
                Protocol::from_wire_id(p.wire_id()).unwrap().name(),
                p.name()
            );
        }
        assert!(Protocol::from_wire_id(0).is_none());
    }
}
