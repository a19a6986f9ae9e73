//! JSON through serde_json, read from and written to the Lua stack directly.
//!
//! serde_json does the text (escapes, exact number formatting and parsing, UTF-8 checks); this
//! file only walks Lua values for it (`Serialize`) and builds Lua values from its events
//! (`DeserializeSeed`), so no tree of `serde_json::Value` is built in between.
//!
//! Mapping: tables as for MessagePack (1..n keys give an array, `nml.map`/`nml.array` marks
//! are honoured), `nml.null` is `null`, map keys must be strings or numbers (numbers become
//! their decimal text, as lua-cjson does). NaN and infinities, invalid UTF-8, userdata and
//! functions are errors, never silently `null`.

use std::cell::RefCell;
use std::ffi::c_int;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::codec::{self, marker, Mark, Marks, Settings};
use crate::error::{out_of_memory, Error, Result};
use crate::lua::{Int64, Kind, Number, Stack, Table};

/// Appends the JSON text of the value at `idx` to `out`.
pub fn encode(stack: &Stack, settings: &Settings, idx: c_int, out: &mut Vec<u8>) -> Result<()> {
    let ctx = Ctx {
        stack,
        marks: settings.marks,
        max_depth: settings.max_depth,
        int64_parts: settings.int64_cdata.map(|c| c.parts),
        path: RefCell::new(Vec::new()),
    };
    let value = LuaValue {
        ctx: &ctx,
        idx: stack.abs(idx),
    };
    let mut writer = FallibleVec(out);
    serde_json::to_writer(&mut writer, &value).map_err(|e| match e.io_error_kind() {
        Some(std::io::ErrorKind::OutOfMemory) => out_of_memory("the JSON text does not fit"),
        _ => Error::raise(format!("cannot encode JSON: {e}")),
    })
}

/// A vector written to as `io::Write`, which grows fallibly: out of memory is an error to
/// return, where `Vec`'s own `Write` would abort the process.
struct FallibleVec<'a>(&'a mut Vec<u8>);

impl std::io::Write for FallibleVec<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .try_reserve(bytes.len())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::OutOfMemory))?;
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Pushes the value the JSON text `data` holds (one value, surrounding white space allowed).
pub fn decode(stack: &Stack, settings: &Settings, data: &[u8]) -> Result<()> {
    let mut de = serde_json::Deserializer::from_slice(data);
    // nml bounds nesting itself (max_depth), so serde_json's fixed limit of 128 is lifted.
    de.disable_recursion_limit();
    let seed = Seed {
        stack,
        depth: 0,
        max_depth: settings.max_depth,
        top: true,
        int64_maker: settings.int64_maker(),
    };
    seed.deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| Error::malformed(format!("malformed JSON: {e}")))
}

// --- encoding ------------------------------------------------------------------------------

struct Ctx<'a> {
    stack: &'a Stack,
    marks: Marks,
    max_depth: usize,
    /// LuaJIT: reads the FFI's 64-bit integers (see `Settings::int64_cdata`).
    int64_parts: Option<c_int>,
    /// Tables being written, for cycle checks.
    path: RefCell<Vec<*const std::ffi::c_void>>,
}

struct LuaValue<'a> {
    ctx: &'a Ctx<'a>,
    idx: c_int,
}

impl Serialize for LuaValue<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> std::result::Result<S::Ok, S::Error> {
        let s = self.ctx.stack;
        match s.kind(self.idx) {
            Kind::Nil => ser.serialize_unit(),
            Kind::LightUserdata if s.to_userdata(self.idx).is_null() => ser.serialize_unit(),
            Kind::Boolean => ser.serialize_bool(s.to_bool(self.idx)),
            Kind::Number => match s.to_number(self.idx) {
                Number::Int(i) => ser.serialize_i64(i),
                Number::Float(f) if f.is_finite() => ser.serialize_f64(f),
                Number::Float(f) => Err(ser::Error::custom(format!("{f} has no JSON form"))),
            },
            Kind::String => ser.serialize_str(utf8(s.to_bytes(self.idx))?),
            Kind::Table => match s.table(self.idx) {
                Some(t) => self.table(ser, t),
                None => Err(ser::Error::custom("the value changed while it was encoded")),
            },
            Kind::Other => self.cdata(ser),
            k => Err(ser::Error::custom(format!(
                "a {} value has no JSON form",
                k.name()
            ))),
        }
    }
}

impl LuaValue<'_> {
    /// LuaJIT's FFI cdata: an `int64_t` or `uint64_t` is a JSON integer, exact.
    fn cdata<S: Serializer>(&self, ser: S) -> std::result::Result<S::Ok, S::Error> {
        let int = match self.ctx.int64_parts {
            Some(parts) => self
                .ctx
                .stack
                .luajit_int64(self.idx, parts)
                .map_err(ser::Error::custom)?,
            None => None,
        };
        match int {
            Some(Int64::Signed(i)) => ser.serialize_i64(i),
            Some(Int64::Unsigned(u)) => ser.serialize_u64(u),
            None => Err(ser::Error::custom("a cdata value has no JSON form")),
        }
    }
}

impl LuaValue<'_> {
    fn table<S: Serializer>(&self, ser: S, t: Table) -> std::result::Result<S::Ok, S::Error> {
        let ctx = self.ctx;
        let s = ctx.stack;
        let id = s.to_pointer(self.idx);
        if ctx.path.borrow().contains(&id) {
            return Err(ser::Error::custom("a table contains itself (cycle)"));
        }
        if ctx.path.borrow().len() >= ctx.max_depth {
            return Err(ser::Error::custom(format!(
                "nested deeper than {} levels",
                ctx.max_depth
            )));
        }
        if !s.check_stack(4) {
            return Err(ser::Error::custom("Lua stack exhausted"));
        }
        let mark = match s.get_metatable(self.idx) {
            true => {
                let m = ctx.marks.of(s.to_pointer(-1));
                s.pop(1);
                m
            }
            false => Mark::None,
        };
        ctx.path.borrow_mut().push(id);
        let result = match mark {
            Mark::Map => self.map(ser, t),
            Mark::Array => self.array(ser, t, s.raw_len(self.idx)),
            Mark::Bin => match s.raw_get_index(t, 1) {
                Kind::String => {
                    let r = utf8(s.to_bytes(-1)).and_then(|t| ser.serialize_str(t));
                    s.pop(1);
                    r
                }
                _ => Err(ser::Error::custom("nml.bin value holds no string")),
            },
            Mark::Ext => Err(ser::Error::custom("an nml.ext value has no JSON form")),
            Mark::None => match codec::sequence_length(s, t) {
                Some(n) => self.array(ser, t, n),
                None => self.map(ser, t),
            },
        };
        ctx.path.borrow_mut().pop();
        result
    }

    fn array<S: Serializer>(
        &self,
        ser: S,
        t: Table,
        n: usize,
    ) -> std::result::Result<S::Ok, S::Error> {
        let s = self.ctx.stack;
        let mut seq = ser.serialize_seq(Some(n))?;
        for i in 1..=n {
            s.raw_get_index(t, i as i64);
            let r = seq.serialize_element(&LuaValue {
                ctx: self.ctx,
                idx: s.top(),
            });
            s.pop(1);
            r?;
        }
        seq.end()
    }

    fn map<S: Serializer>(&self, ser: S, t: Table) -> std::result::Result<S::Ok, S::Error> {
        let s = self.ctx.stack;
        let mut map = ser.serialize_map(None)?;
        s.push_nil();
        while s.next(t) {
            let key = s.abs(-2);
            let r = map.serialize_entry(
                &Key { stack: s, idx: key },
                &LuaValue {
                    ctx: self.ctx,
                    idx: key + 1,
                },
            );
            s.pop(1);
            if let Err(e) = r {
                s.pop(1);
                return Err(e);
            }
        }
        map.end()
    }
}

/// A map key: JSON keys are strings, so numbers are written as their decimal text.
struct Key<'a> {
    stack: &'a Stack,
    idx: c_int,
}

impl Serialize for Key<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> std::result::Result<S::Ok, S::Error> {
        let s = self.stack;
        match s.kind(self.idx) {
            Kind::String => ser.serialize_str(utf8(s.to_bytes(self.idx))?),
            Kind::Number => match s.to_number(self.idx) {
                Number::Int(i) => ser.serialize_str(&i.to_string()),
                Number::Float(f) => ser.serialize_str(&f.to_string()),
            },
            k => Err(ser::Error::custom(format!(
                "a {} key has no JSON form",
                k.name()
            ))),
        }
    }
}

fn utf8<E: ser::Error>(bytes: &[u8]) -> std::result::Result<&str, E> {
    std::str::from_utf8(bytes).map_err(|e| {
        E::custom(format!(
            "string is not valid UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}

// --- decoding ------------------------------------------------------------------------------

/// Pushes one JSON value. `top` is false inside arrays and objects, where `null` becomes
/// `nml.null` so that arrays keep their length.
struct Seed<'a> {
    stack: &'a Stack,
    depth: usize,
    max_depth: usize,
    top: bool,
    /// LuaJIT: makes integers beyond ±2^53 FFI cdata (see `Settings::int64_maker`).
    int64_maker: Option<c_int>,
}

impl<'a> Seed<'a> {
    fn inner(&self) -> Seed<'a> {
        Seed {
            stack: self.stack,
            depth: self.depth + 1,
            max_depth: self.max_depth,
            top: false,
            int64_maker: self.int64_maker,
        }
    }

    fn enter<E: de::Error>(&self) -> std::result::Result<(), E> {
        if self.depth >= self.max_depth {
            return Err(E::custom(format!(
                "nesting deeper than {} levels",
                self.max_depth
            )));
        }
        if !self.stack.check_stack(4) {
            return Err(E::custom("nesting too deep for the Lua stack"));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> std::result::Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<(), E> {
        match self.top {
            true => self.stack.push_nil(),
            false => self.stack.push_light(std::ptr::null_mut()),
        }
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<(), E> {
        self.stack.push_bool(v);
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<(), E> {
        self.stack
            .push_int64(Int64::Signed(v), self.int64_maker)
            .map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<(), E> {
        self.stack
            .push_int64(Int64::Unsigned(v), self.int64_maker)
            .map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<(), E> {
        self.stack.push_float(v);
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<(), E> {
        self.stack.push_str(v);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        self.enter()?;
        let s = self.stack;
        let array = s.new_table(seq.size_hint().unwrap_or(0), 0);
        let mut i = 0;
        while let Some(()) = seq.next_element_seed(self.inner())? {
            i += 1;
            s.raw_set_index(array, i);
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        self.enter()?;
        let s = self.stack;
        let table = s.new_table(0, 0);
        let mut empty = true;
        while let Some(()) = map.next_key_seed(self.inner())? {
            map.next_value_seed(self.inner())?;
            s.raw_set(table);
            empty = false;
        }
        if empty {
            // An empty object comes back marked, so that it encodes as {} again.
            let marked = marker(s, Mark::Map).map_err(|e| de::Error::custom(e.message()))?;
            s.set_metatable(table.index(), marked);
        }
        Ok(())
    }
}
