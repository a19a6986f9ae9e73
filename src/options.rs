//! Socket options as data: one row per option (its name, the kind of value it takes, whether
//! each context has its own, nml's default), how a value of each kind is read from Lua and
//! checked, and how one is given back. What setting an option does to a socket is the
//! socket's (`SocketState::set_option`, `SocketState::option`); the manual's table of socket
//! options lists the same rows.

use std::cell::{Cell, RefCell};
use std::ffi::{c_int, CStr};

use crate::codec::Strings;
use crate::error::{bad_argument, Result};
use crate::lua::{Kind, Number, Stack};
use crate::nng::{opt, TcpOptions};
use crate::protocol::Protocol;
use crate::state::Module;

/// NNG's default receive limit is 1 MiB; nml's is 64 MiB (the manual's socket options).
pub const DEFAULT_RECV_MAX_SIZE: usize = 64 << 20;

/// What a socket option's value is, and where it lives: NNG's options in nml's names and
/// units (the function gives NNG's name), then nml's own.
#[derive(Clone, Copy)]
pub enum Value {
    /// Milliseconds, in the span the option takes.
    Ms(fn() -> &'static CStr, Span),
    /// Bytes, 0 for no limit.
    Bytes(fn() -> &'static CStr),
    /// A number of messages, 0 to 8192.
    Messages(fn() -> &'static CStr),
    /// The protocol `send` encodes with when none is given.
    Protocol,
    /// How `send` packs strings.
    Strings,
    /// One of nml's own switches: where a socket keeps it.
    Flag(fn(&OwnOptions) -> &Cell<bool>),
    /// A TCP option of every listener and dialer, made before or after.
    Tcp(TcpOption),
}

/// The TCP options a socket gives its listeners and dialers.
#[derive(Clone, Copy)]
pub enum TcpOption {
    /// NNG's `tcp-nodelay`: no Nagle delay (NNG's default: on).
    NoDelay,
    /// NNG's `tcp-keepalive` (NNG's default: off).
    KeepAlive,
    /// Patch 0025's `tcp-dead-peer-time`, milliseconds (default 0: the kernel's timers).
    DeadPeerTime,
}

impl TcpOption {
    /// Whether the option is a switch (else milliseconds).
    pub fn is_bool(self) -> bool {
        !matches!(self, TcpOption::DeadPeerTime)
    }

    /// Keeps `setting` among the socket's TCP options.
    pub fn set(self, tcp: &mut TcpOptions, setting: &Setting) {
        match (self, setting) {
            (TcpOption::NoDelay, Setting::Bool(on)) => tcp.nodelay = Some(*on),
            (TcpOption::KeepAlive, Setting::Bool(on)) => tcp.keepalive = Some(*on),
            (TcpOption::DeadPeerTime, Setting::Integer(ms)) => {
                tcp.dead_peer_time = Some(*ms as i32)
            }
            _ => unreachable!("options::read gives each option its kind"),
        }
    }

    /// The value the socket's listeners and dialers get: the one set, or the default.
    pub fn get(self, tcp: &TcpOptions) -> Setting {
        match self {
            TcpOption::NoDelay => Setting::Bool(tcp.nodelay.unwrap_or(true)),
            TcpOption::KeepAlive => Setting::Bool(tcp.keepalive.unwrap_or(false)),
            TcpOption::DeadPeerTime => Setting::Integer(tcp.dead_peer_time.unwrap_or(0) as i64),
        }
    }
}

/// A socket option: its name, its value, whether each context has its own (else a context
/// reads the socket's, and setting it there raises), and nml's default where nml sets one
/// (else NNG's default stands until the option is set).
pub struct SocketOption {
    pub name: &'static str,
    pub value: Value,
    pub per_context: bool,
    pub default: Option<i64>,
}

/// Every option `setopt`, `getopt` and `nml.socket(kind, options)` take; the manual's table
/// of socket options lists the same.
pub const SOCKET_OPTIONS: &[SocketOption] = &[
    SocketOption {
        name: "recv_timeout",
        value: Value::Ms(opt::recv_timeout, Span::OrForever),
        per_context: true,
        default: None,
    },
    SocketOption {
        name: "send_timeout",
        value: Value::Ms(opt::send_timeout, Span::OrForever),
        per_context: true,
        default: None,
    },
    SocketOption {
        name: "recv_max_size",
        value: Value::Bytes(opt::recv_max_size),
        per_context: false,
        default: Some(DEFAULT_RECV_MAX_SIZE as i64),
    },
    SocketOption {
        name: "recv_buffer",
        value: Value::Messages(opt::recv_buffer),
        per_context: false,
        default: None,
    },
    SocketOption {
        name: "send_buffer",
        value: Value::Messages(opt::send_buffer),
        per_context: false,
        default: None,
    },
    SocketOption {
        name: "reconnect_min",
        value: Value::Ms(opt::reconnect_min, Span::Redial),
        per_context: false,
        default: None,
    },
    SocketOption {
        name: "reconnect_max",
        value: Value::Ms(opt::reconnect_max, Span::Backoff),
        per_context: false,
        default: None,
    },
    SocketOption {
        name: "survey_time",
        value: Value::Ms(opt::survey_time, Span::Survey),
        per_context: true,
        default: None,
    },
    SocketOption {
        name: "resend_time",
        value: Value::Ms(opt::resend_time, Span::OrForever),
        per_context: true,
        default: None,
    },
    SocketOption {
        name: "protocol",
        value: Value::Protocol,
        per_context: false,
        default: None,
    },
    SocketOption {
        name: "tagged",
        value: Value::Flag(|own| &own.tagged),
        per_context: false,
        default: None,
    },
    SocketOption {
        name: "strings",
        value: Value::Strings,
        per_context: false,
        default: None,
    },
    SocketOption {
        name: "share",
        value: Value::Flag(|own| &own.share),
        per_context: false,
        default: None,
    },
    SocketOption {
        name: "tcp_nodelay",
        value: Value::Tcp(TcpOption::NoDelay),
        per_context: false,
        default: None,
    },
    SocketOption {
        name: "tcp_keepalive",
        value: Value::Tcp(TcpOption::KeepAlive),
        per_context: false,
        default: None,
    },
    SocketOption {
        name: "tcp_dead_peer_time",
        value: Value::Tcp(TcpOption::DeadPeerTime),
        per_context: false,
        default: None,
    },
];

impl Value {
    /// The integers NNG's options take, and how the error says so.
    pub fn range(self) -> Option<(std::ops::RangeInclusive<i64>, &'static str)> {
        match self {
            Value::Ms(_, Span::OrForever) => Some((
                -1..=i32::MAX as i64,
                "milliseconds: -1 for forever, or 0 to 2^31 - 1",
            )),
            // NNG ends a survey at the clock plus survey_time: -1 and 0 would end it at once.
            Value::Ms(_, Span::Survey) => Some((
                1..=i32::MAX as i64,
                "milliseconds: 1 to 2^31 - 1; a survey cannot wait forever",
            )),
            // A dial that fails is tried again after this: 0 redialed in a loop that took a
            // core (so do 1 or 2: each try costs about 1.4 ms of CPU), -1 never tried again.
            Value::Ms(_, Span::Redial) => Some((
                1..=i32::MAX as i64,
                "milliseconds: 1 to 2^31 - 1 (under 10, redials take most of a core)",
            )),
            Value::Ms(_, Span::Backoff) => Some((
                0..=i32::MAX as i64,
                "milliseconds: 0 to keep reconnect_min, or up to 2^31 - 1",
            )),
            // NNG's limit: stream transports keep the length's top 4 bits.
            Value::Bytes(_) => Some((
                0..=(1 << 60) - 1,
                "bytes: 0 for no limit, or up to 2^60 - 1",
            )),
            Value::Messages(_) => Some((0..=8192, "messages: 0 to 8192")),
            // Under a second, one retransmission (200 ms at the least) would end a connection;
            // 3 is more likely seconds meant than milliseconds. 0 is allowed too (`allows`).
            Value::Tcp(TcpOption::DeadPeerTime) => Some((
                1000..=i32::MAX as i64,
                "milliseconds: 0 for the kernel's timers, or 1000 to 2^31 - 1",
            )),
            Value::Protocol | Value::Strings | Value::Flag(_) | Value::Tcp(_) => None,
        }
    }
}

impl Value {
    /// Whether the integer `n` is a value this option takes.
    pub fn allows(self, n: i64) -> bool {
        let in_range = self.range().is_some_and(|(range, _)| range.contains(&n));
        in_range || matches!((self, n), (Value::Tcp(TcpOption::DeadPeerTime), 0))
    }
}

/// The milliseconds an option takes.
#[derive(Clone, Copy)]
pub enum Span {
    /// -1 for forever, or 0 and up.
    OrForever,
    /// 1 and up (survey_time).
    Survey,
    /// 1 and up (reconnect_min).
    Redial,
    /// 0, or up to the most (reconnect_max).
    Backoff,
}

/// What a socket keeps for the options that are nml's own (NNG keeps the others). A new
/// switch is a field here and a row in `SOCKET_OPTIONS`; `setopt` and `getopt` need nothing
/// more.
pub struct OwnOptions {
    /// The protocol `send` encodes with when none is given.
    pub protocol: RefCell<Protocol>,
    /// How `send` packs strings; `None` follows `nml.config`.
    pub strings: Cell<Option<Strings>>,
    /// Whether messages carry the envelope (false: bare payloads, for peers that know no nml).
    pub tagged: Cell<bool>,
    /// Whether shared buffers go as references to their memory (peers are nml, on this host).
    pub share: Cell<bool>,
}

impl Default for OwnOptions {
    fn default() -> Self {
        OwnOptions {
            protocol: RefCell::new(Protocol::MessagePack),
            strings: Cell::new(None),
            tagged: Cell::new(true),
            share: Cell::new(false),
        }
    }
}

/// An option's value, read from Lua and checked, or to be given back.
pub enum Setting {
    /// Milliseconds, bytes or messages.
    Integer(i64),
    Bool(bool),
    Protocol(Protocol),
    Strings(Strings),
}

/// Reads the value at stack index `value` (which came in argument `arg`) for option `o`.
pub fn read(
    s: &Stack,
    o: &SocketOption,
    (value, arg): (c_int, usize),
    func: &str,
) -> Result<Setting> {
    Ok(match o.value {
        Value::Ms(..) | Value::Bytes(_) | Value::Messages(_) => {
            Setting::Integer(integer(s, o, value, (func, arg))?)
        }
        Value::Tcp(option) if !option.is_bool() => {
            Setting::Integer(integer(s, o, value, (func, arg))?)
        }
        Value::Protocol => {
            let name = s
                .opt_bytes(value)
                .ok_or_else(|| bad_argument(func, arg, "protocol name expected"))?;
            let resolved = Module::of(s)?.protocols.borrow().resolve(name);
            Setting::Protocol(resolved.ok_or_else(|| crate::protocol::unknown(name))?)
        }
        Value::Strings => Setting::Strings(Strings::from_arg(s, value, arg, func)?),
        Value::Flag(_) | Value::Tcp(_) => {
            if s.kind(value) != Kind::Boolean {
                return Err(bad_argument(
                    func,
                    arg,
                    format!("{} must be a boolean", o.name),
                ));
            }
            Setting::Bool(s.to_bool(value))
        }
    })
}

/// Pushes `setting` as Lua sees it.
pub fn push(s: &Stack, setting: &Setting) {
    match setting {
        Setting::Integer(n) => s.push_int(*n),
        Setting::Bool(b) => s.push_bool(*b),
        Setting::Protocol(p) => s.push_str(p.name()),
        Setting::Strings(strings) => s.push_str(strings.name()),
    }
}

/// The option named by argument `idx`, or a raised error.
pub fn named(s: &Stack, idx: c_int, func: &str) -> Result<&'static SocketOption> {
    let name = s
        .opt_bytes(idx)
        .ok_or_else(|| bad_argument(func, idx as usize, "option name expected"))?;
    option(&String::from_utf8_lossy(name), func)
}

/// The option called `name`, or a raised error listing them all.
pub fn option(name: &str, func: &str) -> Result<&'static SocketOption> {
    SOCKET_OPTIONS
        .iter()
        .find(|o| o.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = SOCKET_OPTIONS.iter().map(|o| o.name).collect();
            crate::args::unknown_option(func, 2, name, &names)
        })
}

/// The integer at stack index `value` for option `o`, checked against its range. `arg` is the
/// argument of `func` it came in, for the error: 3 for `setopt`'s value, 2 for `nml.socket`'s
/// options.
fn integer(s: &Stack, o: &SocketOption, value: c_int, (func, arg): (&str, usize)) -> Result<i64> {
    let (_, what) = o.value.range().expect("an NNG option");
    let (n, shown) = match s.kind(value) {
        Kind::Number => match s.to_number(value) {
            Number::Int(i) => (Some(i), i.to_string()),
            // Whole floats as far as i64 goes (Lua 5.1 and LuaJIT have no other numbers).
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => {
                (Some(f as i64), (f as i64).to_string())
            }
            Number::Float(f) => (None, f.to_string()),
        },
        k => {
            return Err(bad_argument(
                func,
                arg,
                format!("{} must be a number ({what}), got {}", o.name, k.name()),
            ))
        }
    };
    match n {
        Some(n) if o.value.allows(n) => Ok(n),
        Some(_) => Err(bad_argument(
            func,
            arg,
            format!("{} is out of range ({what}), got {shown}", o.name),
        )),
        None => Err(bad_argument(
            func,
            arg,
            format!("{} must be a whole number ({what}), got {shown}", o.name),
        )),
    }
}
