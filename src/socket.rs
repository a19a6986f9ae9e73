//! nml sockets: the Lua userdata over an NNG socket, its options and endpoints, and the rules
//! its messages follow. Sending and receiving are in `transfer.rs` (and `compat.rs`).

use std::cell::{Cell, RefCell};
use std::ffi::{c_int, CStr, CString};
use std::rc::Rc;

use crate::codec::Strings;
use crate::envelope;
use crate::error::{bad_argument, Error, Result};
use crate::lua::{Kind, LuaFn, Returns, Stack, Table};
use crate::msgpack;
use crate::msgpack::unpack::SharedRefs;
use crate::nng::{
    Allow, AuthMode, Device, Endpoint, EndpointError, Happened, NngError, Pattern, Socket,
    TcpOptions, TlsOptions,
};
use crate::options::{
    self, OwnOptions, Setting, SocketOption, Value, DEFAULT_RECV_MAX_SIZE, SOCKET_OPTIONS,
};
use crate::protocol::Protocol;
use crate::state::Module;

pub const METATABLE: &CStr = c"nml.socket";

/// The Lua userdata of a socket. Its state is shared with the socket's contexts, which keep
/// the NNG socket open while they live.
pub struct SocketBox(Rc<SocketState>);

impl std::ops::Deref for SocketBox {
    type Target = SocketState;

    fn deref(&self) -> &SocketState {
        &self.0
    }
}

impl SocketBox {
    /// The state, for a context to share.
    pub fn share(&self) -> Rc<SocketState> {
        Rc::clone(&self.0)
    }
}

/// An NNG socket and what nml keeps beside it.
pub struct SocketState {
    socket: RefCell<Socket>,
    pub pattern: Pattern,
    /// What it keeps for nml's own options.
    own: OwnOptions,
    /// The `recv_max_size` in force, which nml checks itself where NNG does not (inproc).
    recv_max_size: Cell<usize>,
    /// What went through this socket, for `stats()`.
    traffic: Cell<Traffic>,
    /// The TCP options set, for every listener and dialer, made before or after.
    tcp: Cell<TcpOptions>,
    /// Its listeners and dialers, to give later TCP options to.
    endpoints: RefCell<Vec<Endpoint>>,
    /// A raw socket (`{raw = true}`): it only forwards, with `nml.forward`.
    pub raw: bool,
    /// The forwarders this socket is the front of; each stops when either socket closes.
    forwarders: RefCell<Vec<Device>>,
    /// In a forwarder (front or back): NNG then adds no endpoint to it.
    forwarding: Cell<bool>,
    /// Topic prefixes a sub socket subscribes to now (none: it receives nothing).
    subscriptions: RefCell<std::collections::HashSet<Vec<u8>>>,
}

/// Messages and bytes (envelopes included) that went each way, and those refused for size.
#[derive(Clone, Copy, Default)]
pub struct Traffic {
    pub sent: u64,
    pub sent_bytes: u64,
    pub received: u64,
    pub received_bytes: u64,
    pub oversize_drops: u64,
}

impl SocketState {
    /// The URLs of its listeners and of its dialers.
    pub fn urls(&self) -> (Vec<String>, Vec<String>) {
        let mut listeners = Vec::new();
        let mut dialers = Vec::new();
        for e in self.endpoints.borrow().iter() {
            let Ok(url) = e.url() else { continue };
            match e {
                Endpoint::Listener(_) => listeners.push(url),
                Endpoint::Dialer(_) => dialers.push(url),
            }
        }
        (listeners, dialers)
    }

    /// What becomes of the shared-buffer references in `msg`: opened only on a socket that
    /// asked for them (`share`), for a message from this host, naming the process it came
    /// from (inproc: this one; ipc: the peer the kernel names). docs/design.md, "Threat model".
    pub fn shared_refs_from(&self, msg: &crate::nng::Message) -> SharedRefs {
        if !self.own.share.get() {
            return SharedRefs::Keep;
        }
        match msg.pipe_scheme().as_deref() {
            Some("inproc") => SharedRefs::OpenFrom(std::process::id()),
            Some(scheme) if crate::nng::is_local_scheme(scheme) => msg
                .pipe_peer_pid()
                .map_or(SharedRefs::Refuse, SharedRefs::OpenFrom),
            Some(_) => SharedRefs::Keep,
            // The pipe has closed since (its sender may have exited): who sent it is no longer
            // known, so it is refused, if it could only have come from this host.
            None if self.local_only() => SharedRefs::Refuse,
            None => SharedRefs::Keep,
        }
    }

    /// Whether every endpoint of this socket stays within this host.
    fn local_only(&self) -> bool {
        self.endpoints
            .borrow()
            .iter()
            .all(|e| e.url().is_ok_and(|url| crate::nng::is_local_url(&url)))
    }

    /// Keeps `device`, a forwarder this socket is the front of and `back` the back of: it runs
    /// until either closes, and neither takes a new endpoint meanwhile.
    pub fn keep_forwarder(&self, back: &SocketState, device: Device) {
        self.forwarding.set(true);
        back.forwarding.set(true);
        let mut forwarders = self.forwarders.borrow_mut();
        forwarders.retain(Device::is_running);
        forwarders.push(device);
    }

    pub fn count(&self, update: impl FnOnce(&mut Traffic)) {
        let mut t = self.traffic.get();
        update(&mut t);
        self.traffic.set(t);
    }
}

/// The socket's rules for its messages: who may send, with which envelope and codec, and what
/// is counted. `transfer.rs` and `compat.rs` follow them; none of them reads the fields.
impl SocketState {
    /// This socket, if it is not raw: raw sockets carry NNG's headers and only forward.
    pub fn cooked(&self, func: &str) -> Result<&SocketState> {
        match self.raw {
            true => Err(Error::raise(format!(
                "{func}: a raw socket only forwards (nml.forward); open it without raw to {func}"
            ))),
            false => Ok(self),
        }
    }

    /// Whether a send with `dontwait` may give up at once. Not a reply (rep, respondent): NNG
    /// forgets the request's return route on the first attempt, so a reply that gave up could
    /// never be sent; it waits instead for the pipe to finish writing the last one (the send
    /// timeout bounds the wait).
    pub fn may_give_up(&self, dontwait: bool) -> bool {
        dontwait && !matches!(self.pattern, Pattern::Rep | Pattern::Respondent)
    }

    /// The protocol `send` encodes with when the call names none.
    pub fn default_protocol(&self) -> Protocol {
        self.own.protocol.borrow().clone()
    }

    /// The envelope of a message on `topic` in `protocol`; none on an untagged socket.
    pub fn envelope(&self, topic: &[u8], protocol: &Protocol) -> envelope::Header {
        envelope::header(topic, self.own.tagged.get().then_some(protocol))
    }

    /// Checks that a send may carry `topic`: only pub sockets, which put it in the envelope.
    pub fn may_carry_topic(&self, func: &str) -> Result<()> {
        if !self.own.tagged.get() {
            return Err(Error::raise(format!(
                "{func}: a topic needs the envelope, and this socket is tagged = false \
                 (it sends bare payloads: put a prefix in the payload itself)"
            )));
        }
        if self.pattern != Pattern::Pub {
            return Err(Error::raise(format!(
                "{func}: topics are for pub sockets, not {}",
                self.pattern.name()
            )));
        }
        Ok(())
    }

    /// The codec a send packs with: the call's `strings`, else the socket's, else
    /// `nml.config`'s; shared buffers as references when the socket says so.
    pub fn codec<'m>(&self, module: &'m Module, strings: Option<Strings>) -> msgpack::Codec<'m> {
        let mut codec = module.codec();
        if let Some(strings) = strings.or(self.own.strings.get()) {
            codec.settings.strings = strings;
        }
        codec.settings.share = self.own.share.get();
        codec
    }

    /// Whether sends carry shared buffers as references (each held until its receivers let go).
    pub fn shares(&self) -> bool {
        self.own.share.get()
    }

    /// How many receivers a send reaches: every peer for the patterns that send to all (pub,
    /// bus, surveyor), else one.
    pub fn receivers(&self) -> Result<u32> {
        Ok(match self.pattern {
            Pattern::Pub | Pattern::Bus | Pattern::Surveyor => {
                // Every pipe NNG may send on is open or being added (a superset: a count too
                // high only holds a buffer longer).
                let c = self.open()?.connections();
                (c.pipes + c.joining).min(u32::MAX as u64) as u32
            }
            _ => 1,
        })
    }

    /// Counts a message of `bytes` sent.
    pub fn count_sent(&self, bytes: u64) {
        self.count(|t| {
            t.sent += 1;
            t.sent_bytes += bytes;
        });
    }

    /// Counts a message of `len` bytes received, or refuses it (counted apart) when it is
    /// larger than `recv_max_size`: NNG enforces the limit on the wire (ipc, tcp), and inproc
    /// hands over any message.
    pub fn admit(&self, len: usize) -> Result<()> {
        let max = self.recv_max_size.get();
        if max > 0 && len > max {
            self.count(|t| t.oversize_drops += 1);
            return Err(Error::returned(
                crate::error::code::TOO_LARGE,
                format!("dropped a message of {len} bytes: larger than recv_max_size ({max})"),
            ));
        }
        self.count(|t| {
            t.received += 1;
            t.received_bytes += len as u64;
        });
        Ok(())
    }

    /// Whether received messages carry the envelope.
    pub fn tagged(&self) -> bool {
        self.own.tagged.get()
    }

    /// A sub socket with no subscription, which nothing reaches.
    pub fn subscribes_to_nothing(&self) -> bool {
        self.pattern == Pattern::Sub && self.subscriptions.borrow().is_empty()
    }
}

impl SocketState {
    /// Gives `tcp` to every listener and dialer made so far (closed ones are passed over).
    fn set_tcp_everywhere(&self, tcp: TcpOptions) -> std::result::Result<(), NngError> {
        for endpoint in self.endpoints.borrow().iter() {
            match endpoint.set_tcp(tcp) {
                Err(e) if e.code() == "closed" => {}
                other => other?,
            }
        }
        Ok(())
    }

    /// The open socket, or `nil, msg, "closed"`.
    pub fn open(&self) -> Result<std::cell::Ref<'_, Socket>> {
        let socket = self.socket.borrow();
        if socket.is_open() {
            Ok(socket)
        } else {
            Err(Error::returned("closed", "the socket is closed"))
        }
    }
}

/// The socket at `idx`, for a method that calls NNG.
pub fn check<'a>(s: &'a Stack, idx: c_int, func: &str) -> Result<&'a SocketBox> {
    crate::error::usable_here(func)?;
    held(s, idx, func)
}

/// The socket at `idx`, for `close` and `tostring`, which work in a forked child too.
fn held<'a>(s: &'a Stack, idx: c_int, func: &str) -> Result<&'a SocketBox> {
    crate::args::check_udata(s, idx, METATABLE, func, "nml socket")
}

crate::lua_functions! {
    socket => socket_impl;
    listen => listen_impl;
    dial => dial_impl;
    setopt => setopt_impl;
    getopt => getopt_impl;
    subscribe => subscribe_impl;
    unsubscribe => unsubscribe_impl;
    pipe_events => pipe_events_impl;
    allow => allow_impl;
    stats => stats_impl;
    close => close_impl;
    describe => describe_impl;
}

/// `nml.socket(kind [, options]) -> socket | nil, err, code`.
fn socket_impl(s: &Stack) -> Returns {
    crate::error::usable_here("socket")?;
    let pattern = socket_kind(s, 1)?;
    let options = match s.kind(2) {
        Kind::None | Kind::Nil => None,
        Kind::Table => s.table(2),
        k => {
            return Err(bad_argument(
                "socket",
                2,
                format!("options table expected, got {}", k.name()),
            ))
        }
    };
    // `raw` decides how the socket opens; the other options are set once it is open.
    let raw = match options {
        Some(options) => crate::args::boolean_field(s, options, "raw", "socket")?.unwrap_or(false),
        None => false,
    };
    let socket = Socket::open(pattern, raw)?;
    set_defaults(&socket)?;
    s.push_udata(
        SocketBox(Rc::new(SocketState::new(socket, pattern, raw))),
        METATABLE,
    )?;
    let at = s.top();
    if let Some(options) = options {
        set_options(s, check(s, at, "socket")?, options)?;
    }
    s.set_top(at);
    Ok(1)
}

/// The socket kind named by argument `idx`.
fn socket_kind(s: &Stack, idx: c_int) -> Result<Pattern> {
    let name = s
        .opt_bytes(idx)
        .ok_or_else(|| bad_argument("socket", idx as usize, "socket kind expected"))?;
    Pattern::from_name(name).ok_or_else(|| {
        bad_argument(
            "socket",
            idx as usize,
            format!(
                "unknown socket kind {:?} (pair, pair1, req, rep, pub, sub, push, pull, bus, \
                 surveyor, respondent)",
                String::from_utf8_lossy(name)
            ),
        )
    })
}

/// Sets the options of `nml.socket`'s table `options` (but `raw`) on the new socket `b`.
fn set_options(s: &Stack, b: &SocketState, options: Table) -> Result<()> {
    s.push_nil();
    while s.next(options) {
        let key = s.top() - 1;
        let name = match s.opt_bytes(key) {
            Some(n) => String::from_utf8_lossy(n).into_owned(),
            None => return Err(bad_argument("socket", 2, "option names must be strings")),
        };
        if name != "raw" {
            let o = options::option(&name, "socket")?;
            b.set_option(s, o, (key + 1, 2), "socket")?;
        }
        s.pop(1);
    }
    Ok(())
}

impl SocketState {
    fn new(socket: Socket, pattern: Pattern, raw: bool) -> SocketState {
        SocketState {
            socket: RefCell::new(socket),
            pattern,
            own: OwnOptions::default(),
            recv_max_size: Cell::new(DEFAULT_RECV_MAX_SIZE),
            traffic: Cell::new(Traffic::default()),
            tcp: Cell::new(TcpOptions::default()),
            endpoints: RefCell::new(Vec::new()),
            forwarding: Cell::new(false),
            subscriptions: RefCell::default(),
            raw,
            forwarders: RefCell::new(Vec::new()),
        }
    }
}

/// `sock:listen(url [, {tls = {...}}])` (also `bind`) -> listener | nil, err, code.
fn listen_impl(s: &Stack) -> Returns {
    let b = check(s, 1, "listen")?;
    let url = check_url(s, 2, "listen")?;
    let tls = match crate::args::options(s, 3, "listen", &["tls"])? {
        Some(opts) => tls_field(s, opts, "listen")?,
        None => None,
    };
    not_forwarding(b, "listen on", &url)?;
    local_if_sharing(b, "listen on", &url)?;
    let endpoint = b
        .open()?
        .listen(&url, b.tcp.get(), tls.as_ref())
        .map_err(|e| endpoint_error(e, "listen on", &url))?;
    b.endpoints.borrow_mut().push(endpoint);
    crate::listener::push(s, endpoint)?;
    Ok(1)
}

/// `sock:dial(url [, {block = false, tls = {...}}])` (also `connect`) -> true | nil, err, code.
/// By default the first connection must succeed (a refused dial is an error); with
/// `block = false` NNG keeps trying in the background.
fn dial_impl(s: &Stack) -> Returns {
    let b = check(s, 1, "dial")?;
    let url = check_url(s, 2, "dial")?;
    let (blocking, tls) = match crate::args::options(s, 3, "dial", &["block", "tls"])? {
        Some(opts) => (
            crate::args::boolean_field(s, opts, "block", "dial")?.unwrap_or(true),
            tls_field(s, opts, "dial")?,
        ),
        None => (true, None),
    };
    not_forwarding(b, "dial", &url)?;
    local_if_sharing(b, "dial", &url)?;
    let endpoint = b
        .open()?
        .dial(&url, blocking, b.tcp.get(), tls.as_ref())
        .map_err(|e| endpoint_error(e, "dial", &url))?;
    b.endpoints.borrow_mut().push(endpoint);
    s.push_bool(true);
    Ok(1)
}

/// A socket with `share` stays on this host: its references would mean nothing elsewhere,
/// and would tell a remote peer this host's pids and descriptors.
fn local_if_sharing(b: &SocketState, what: &str, url: &CStr) -> Result<()> {
    let url = url.to_string_lossy();
    match b.own.share.get() && !crate::nng::is_local_url(&url) {
        true => Err(Error::returned(
            "invalid",
            format!(
                "cannot {what} {url}: a socket with share = true stays on this host (inproc, \
                 ipc, unix, abstract)"
            ),
        )),
        false => Ok(()),
    }
}

/// NNG adds no endpoint to a socket in a forwarder (it says only "Resource busy").
fn not_forwarding(b: &SocketState, what: &str, url: &CStr) -> Result<()> {
    match b.forwarding.get() {
        true => Err(Error::returned(
            "state",
            format!(
                "cannot {what} {}: the socket is in a forwarder (nml.forward), which takes no \
                 new endpoints; give it its listeners and dialers before nml.forward",
                url.to_string_lossy()
            ),
        )),
        false => Ok(()),
    }
}

fn endpoint_error(e: EndpointError, what: &str, url: &CStr) -> Error {
    let url = url.to_string_lossy();
    let message = match e.detail {
        Some(detail) => format!("cannot {what} {url}: {detail} ({})", e.error.describe()),
        None => format!("cannot {what} {url}: {}", e.error.describe()),
    };
    Error::returned(e.error.code(), message)
}

/// Where one TLS setting goes in `TlsOptions`: its text, or what it says (`auth_mode`).
#[derive(Clone, Copy)]
enum TlsSetting {
    Text(fn(&mut TlsOptions) -> &mut Option<String>),
    AuthMode,
}

/// The settings `{tls = {...}}` takes, each a string, and where each goes: the one list of
/// them in Rust (`spec/types_spec.lua` checks library/nml.lua, nml-cat and the manual
/// against it, through the error that lists them).
const TLS_SETTINGS: &[(&str, TlsSetting)] = &[
    ("ca_file", TlsSetting::Text(|o| &mut o.ca_file)),
    ("cert_file", TlsSetting::Text(|o| &mut o.cert_file)),
    ("key_file", TlsSetting::Text(|o| &mut o.key_file)),
    ("key_password", TlsSetting::Text(|o| &mut o.key_password)),
    ("server_name", TlsSetting::Text(|o| &mut o.server_name)),
    ("auth_mode", TlsSetting::AuthMode),
];

/// The settings under `tls` of the options `opts` (see [`TLS_SETTINGS`]).
fn tls_field(s: &Stack, opts: Table, func: &str) -> Result<Option<TlsOptions>> {
    let at = (func, opts.index() as usize);
    s.raw_get_field(opts, "tls");
    let Some(tls) = s.table(-1) else {
        return match s.kind(-1) {
            Kind::Nil => {
                s.pop(1);
                Ok(None)
            }
            k => Err(bad_argument(
                at.0,
                at.1,
                format!("tls must be a table, got {}", k.name()),
            )),
        };
    };
    let known: Vec<&str> = TLS_SETTINGS.iter().map(|(name, _)| *name).collect();
    crate::args::check_keys(s, tls, at, "tls setting", &known)?;
    let mut options = TlsOptions::default();
    for &(name, setting) in TLS_SETTINGS {
        let Some(text) = tls_text(s, tls, name, at)? else {
            continue;
        };
        match setting {
            TlsSetting::Text(field) => *field(&mut options) = Some(text),
            TlsSetting::AuthMode => options.auth_mode = Some(auth_mode(&text, at)?),
        }
    }
    s.pop(1);
    Ok(Some(options))
}

/// The string `tls.<name>` of the table `tls`, if set.
fn tls_text(
    s: &Stack,
    tls: Table,
    name: &str,
    (func, arg): (&str, usize),
) -> Result<Option<String>> {
    let value = match s.raw_get_field(tls, name) {
        Kind::Nil => None,
        Kind::String => Some(String::from_utf8_lossy(s.to_bytes(-1)).into_owned()),
        k => {
            s.pop(1);
            return Err(bad_argument(
                func,
                arg,
                format!("tls.{name} must be a string, got {}", k.name()),
            ));
        }
    };
    s.pop(1);
    Ok(value)
}

fn auth_mode(name: &str, (func, arg): (&str, usize)) -> Result<AuthMode> {
    match name {
        "none" => Ok(AuthMode::None),
        "optional" => Ok(AuthMode::Optional),
        "required" => Ok(AuthMode::Required),
        other => Err(bad_argument(
            func,
            arg,
            format!("tls.auth_mode must be \"none\", \"optional\" or \"required\", not {other:?}"),
        )),
    }
}

fn check_url(s: &Stack, idx: c_int, func: &str) -> Result<CString> {
    let url = s
        .opt_bytes(idx)
        .ok_or_else(|| bad_argument(func, idx as usize, "url string expected"))?;
    CString::new(url).map_err(|_| bad_argument(func, idx as usize, "url contains a NUL byte"))
}

/// `sock:setopt(name, value) -> true | nil, err, code`.
fn setopt_impl(s: &Stack) -> Returns {
    let b = check(s, 1, "setopt")?;
    b.set_option(s, options::named(s, 2, "setopt")?, (3, 3), "setopt")?;
    s.push_bool(true);
    Ok(1)
}

/// Sets nml's defaults on a new socket.
fn set_defaults(socket: &Socket) -> Result<()> {
    for o in SOCKET_OPTIONS {
        if let (Value::Bytes(nng_name), Some(n)) = (o.value, o.default) {
            socket.set_size(nng_name(), n as usize)?;
        }
    }
    Ok(())
}

/// `sock:getopt(name) -> value | nil, err, code`.
fn getopt_impl(s: &Stack) -> Returns {
    let b = check(s, 1, "getopt")?;
    let setting = b.option(s, options::named(s, 2, "getopt")?)?;
    options::push(s, &setting);
    Ok(1)
}

/// What setting an option does to the socket (`options.rs` has the rows and reads the values).
impl SocketState {
    /// Sets option `o` to the value at stack index `at.0`, which came in argument `at.1`.
    pub fn set_option(
        &self,
        s: &Stack,
        o: &SocketOption,
        at: (c_int, usize),
        func: &str,
    ) -> Result<()> {
        let setting = options::read(s, o, at, func)?;
        let socket = self.open()?;
        let nng = |r: std::result::Result<(), NngError>| r.map_err(|e| self.cannot("set", o, e));
        match (o.value, setting) {
            (Value::Ms(nng_name, _), Setting::Integer(n)) => {
                nng(socket.set_ms(nng_name(), n as i32))
            }
            (Value::Bytes(nng_name), Setting::Integer(n)) => {
                nng(socket.set_size(nng_name(), n as usize))?;
                if o.name == "recv_max_size" {
                    self.recv_max_size.set(n as usize);
                }
                Ok(())
            }
            (Value::Messages(nng_name), Setting::Integer(n)) => {
                self.has_queue(o.name)?;
                self.not_forwarding_queue(o.name)?;
                self.may_resize_queue(o.name, socket.get_int(nng_name()).unwrap_or(0), n)?;
                nng(socket.set_int(nng_name(), n as c_int))
            }
            (Value::Protocol, Setting::Protocol(p)) => {
                *self.own.protocol.borrow_mut() = p;
                Ok(())
            }
            (Value::Strings, Setting::Strings(strings)) => {
                self.own.strings.set(Some(strings));
                Ok(())
            }
            (Value::Flag(switch), Setting::Bool(on)) => {
                self.may_switch(o, on)?;
                switch(&self.own).set(on);
                Ok(())
            }
            (Value::Tcp(option), setting) => {
                let mut tcp = self.tcp.get();
                option.set(&mut tcp, &setting);
                self.tcp.set(tcp);
                nng(self.set_tcp_everywhere(tcp))
            }
            _ => Err(Error::raise(format!(
                "nml: {} read as another kind",
                o.name
            ))),
        }
    }

    /// The value of option `o`.
    pub fn option(&self, s: &Stack, o: &SocketOption) -> Result<Setting> {
        let socket = self.open()?;
        let nng = |e: NngError| self.cannot("get", o, e);
        Ok(match o.value {
            Value::Ms(nng_name, _) => {
                Setting::Integer(socket.get_ms(nng_name()).map_err(nng)? as i64)
            }
            Value::Bytes(nng_name) => {
                Setting::Integer(socket.get_size(nng_name()).map_err(nng)? as i64)
            }
            Value::Messages(nng_name) => {
                self.has_queue(o.name)?;
                Setting::Integer(socket.get_int(nng_name()).map_err(nng)? as i64)
            }
            Value::Protocol => Setting::Protocol(self.default_protocol()),
            Value::Strings => match self.own.strings.get() {
                Some(strings) => Setting::Strings(strings),
                None => Setting::Strings(Module::of(s)?.settings().strings),
            },
            Value::Flag(switch) => Setting::Bool(switch(&self.own).get()),
            Value::Tcp(option) => option.get(&self.tcp.get()),
        })
    }

    /// NNG's error setting or getting option `o`, saying which and on what.
    fn cannot(&self, what: &str, o: &SocketOption, e: NngError) -> Error {
        let on = if what == "set" { "on" } else { "of" };
        Error::returned(
            e.code(),
            format!(
                "cannot {what} {} {on} a {} socket: {}",
                o.name,
                self.pattern.name(),
                e.describe()
            ),
        )
    }

    /// Whether the socket keeps the queue `recv_buffer` or `send_buffer` sizes. NNG accepts
    /// both options on every socket, and a protocol without that queue never reads them: a
    /// pull socket with `recv_buffer = 8192` would queue nothing more. Raw sockets use NNG's
    /// socket queues.
    fn has_queue(&self, name: &str) -> Result<()> {
        let has = match name {
            "recv_buffer" => self.pattern.keeps_recv_queue(),
            _ => self.pattern.keeps_send_queue(),
        };
        match has || self.raw {
            true => Ok(()),
            false => Err(Error::returned(
                "not_supported",
                format!(
                    "a {} socket keeps no queue that {name} sizes (recv_buffer: bus, pair, \
                     pair1, sub; send_buffer: bus, pair, pair1, push, pub)",
                    self.pattern.name()
                ),
            )),
        }
    }

    /// Whether queue `name` may go from `now` to `n` messages: it only grows once the socket
    /// has an endpoint, as NNG frees, uncounted, what no longer fits in a queue made smaller.
    fn may_resize_queue(&self, name: &str, now: c_int, n: i64) -> Result<()> {
        if n >= now as i64 || self.endpoints.borrow().is_empty() {
            return Ok(());
        }
        Err(Error::returned(
            "invalid",
            format!(
                "{name} only grows once the socket has a listener or dialer (from {now} to {n} \
                 would drop messages queued now, uncounted): give it in nml.socket's options"
            ),
        ))
    }

    /// NNG resizes no queue of a socket in a forwarder (it says only "Resource busy").
    fn not_forwarding_queue(&self, name: &str) -> Result<()> {
        match self.forwarding.get() {
            true => Err(Error::returned(
                "state",
                format!(
                    "cannot set {name} on a socket in a forwarder (nml.forward), whose queues \
                     stay as they were: give it in nml.socket's options, before nml.forward"
                ),
            )),
            false => Ok(()),
        }
    }

    /// Whether switch `o` may be turned `on` now: `share = true` only where every endpoint
    /// stays on this host.
    fn may_switch(&self, o: &SocketOption, on: bool) -> Result<()> {
        if o.name == "share" && on && !self.local_only() {
            return Err(Error::returned(
                "invalid",
                "share = true needs a socket whose every listener and dialer stays on this \
                 host (inproc, ipc, unix, abstract): a shared buffer's reference means \
                 nothing elsewhere",
            ));
        }
        Ok(())
    }
}

fn subscription(s: &Stack, func: &str, subscribe: bool) -> Returns {
    let b = check(s, 1, func)?;
    let prefix = topic_prefix(s, b, func)?;
    b.open()?.subscription(prefix, subscribe)?;
    match subscribe {
        true => b.subscriptions.borrow_mut().insert(prefix.to_vec()),
        false => b.subscriptions.borrow_mut().remove(prefix),
    };
    s.push_bool(true);
    Ok(1)
}

/// The topic prefix argument of `subscribe` or `unsubscribe` on a sub socket or its context;
/// raises on other patterns.
pub fn topic_prefix<'a>(s: &'a Stack, b: &SocketState, func: &str) -> Result<&'a [u8]> {
    if b.pattern != Pattern::Sub {
        return Err(Error::raise(format!(
            "{func} is for sub sockets and their contexts, not {}",
            b.pattern.name()
        )));
    }
    s.opt_bytes(2)
        .ok_or_else(|| bad_argument(func, 2, "topic prefix string expected"))
}

/// `sub:subscribe(prefix) -> true | nil, err, code`; "" receives everything.
fn subscribe_impl(s: &Stack) -> Returns {
    subscription(s, "subscribe", true)
}

/// `sub:unsubscribe(prefix) -> true | nil, err, code`.
fn unsubscribe_impl(s: &Stack) -> Returns {
    subscription(s, "unsubscribe", false)
}

/// `sock:pipe_events() -> events, dropped | nil, err, code`: the peers that connected, left or
/// were refused since the last call, oldest first, each `{event = "connect" | "disconnect" |
/// "refused", pipe = id, address = text [, why = "allow" | "protocol" | "taken"] [, peer =
/// pattern] [, peer_pid = n, peer_uid = n, peer_gid = n]}`; `dropped` counts events lost
/// because more than 1024 were waiting.
fn pipe_events_impl(s: &Stack) -> Returns {
    let (events, dropped) = check(s, 1, "pipe_events")?.open()?.pipe_events();
    s.protect(0, 2, |p| {
        let list = p.new_table(events.len(), 0);
        for (i, e) in events.iter().enumerate() {
            let t = p.new_table(0, 6);
            p.push_str(match e.happened {
                Happened::Connected => "connect",
                Happened::Disconnected => "disconnect",
                Happened::Refused(_) => "refused",
            });
            p.raw_set_field(t, "event");
            if let Happened::Refused(why) = e.happened {
                p.push_str(why.name());
                p.raw_set_field(t, "why");
            }
            if let Some(peer) = e.peer {
                p.push_str(peer.name());
                p.raw_set_field(t, "peer");
            }
            p.push_int(e.pipe as i64);
            p.raw_set_field(t, "pipe");
            p.push_str(&e.address);
            p.raw_set_field(t, "address");
            for (name, id) in [
                ("peer_pid", e.peer_pid),
                ("peer_uid", e.peer_uid),
                ("peer_gid", e.peer_gid),
            ] {
                if let Some(id) = id {
                    p.push_int(id as i64);
                    p.raw_set_field(t, name);
                }
            }
            p.raw_set_index(list, i as i64 + 1);
        }
        p.push_int(dropped as i64);
        Ok(2)
    })
}

/// `sock:allow({uid = n | {n, ...}, gid = n | {n, ...}}) -> true`: from now on only peers whose
/// uid or gid is listed connect (ipc gives them; peers in this process always connect, peers
/// over transports without credentials never do); the others are refused, and reported by
/// `pipe_events`. `sock:allow(nil)` lets everyone connect again.
fn allow_impl(s: &Stack) -> Returns {
    const F: &str = "allow";
    let b = check(s, 1, F)?;
    let allow = match crate::args::options(s, 2, F, &["uid", "gid"])? {
        None => None,
        Some(opts) => Some(Allow {
            uids: id_list(s, opts, "uid")?,
            gids: id_list(s, opts, "gid")?,
        }),
    };
    b.open()?.set_allow(allow);
    s.push_bool(true);
    Ok(1)
}

/// The ids under `key` of the options `opts`: one integer or a list of them.
fn id_list(s: &Stack, opts: Table, key: &str) -> Result<Vec<u64>> {
    let arg = opts.index() as usize;
    let id = |s: &Stack, idx: c_int| -> Result<u64> {
        match s.to_f64(idx) {
            Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= u32::MAX as f64 => Ok(n as u64),
            _ => Err(bad_argument(
                "allow",
                arg,
                format!("{key} must be an id (a whole number) or a list of ids"),
            )),
        }
    };
    s.raw_get_field(opts, key);
    let ids = match s.table(-1) {
        Some(list) => {
            let mut ids = Vec::new();
            for i in 1..=s.raw_len(list.index()) {
                s.raw_get_index(list, i as i64);
                ids.push(id(s, -1)?);
                s.pop(1);
            }
            ids
        }
        None if s.kind(-1) == Kind::Nil => Vec::new(),
        None => vec![id(s, -1)?],
    };
    s.pop(1);
    Ok(ids)
}

/// `sock:stats() -> {sent, received, ...} | nil, err, code`: what went through the socket and
/// what happened to its connections.
fn stats_impl(s: &Stack) -> Returns {
    let b = check(s, 1, "stats")?;
    let socket = b.open()?;
    let (pipes, drops) = (socket.connections(), socket.drop_stats()?);
    let t = b.traffic.get();
    let fields = [
        ("sent", t.sent),
        ("sent_bytes", t.sent_bytes),
        ("received", t.received),
        ("received_bytes", t.received_bytes),
        ("oversize_drops", t.oversize_drops + drops.oversize_drops),
        ("send_drops", drops.send_drops),
        ("recv_drops", drops.recv_drops),
        ("pipes", pipes.pipes),
        ("connects", pipes.connects),
        ("disconnects", pipes.disconnects),
        ("refused", pipes.refused),
    ];
    let stats = s.new_table(0, fields.len());
    for (name, value) in fields {
        s.push_int(value as i64);
        s.raw_set_field(stats, name);
    }
    Ok(1)
}

/// `sock:close() -> true`; closing again does nothing.
fn close_impl(s: &Stack) -> Returns {
    held(s, 1, "close")?.socket.borrow_mut().close();
    s.push_bool(true);
    Ok(1)
}

fn describe_impl(s: &Stack) -> Returns {
    let b = held(s, 1, "__tostring")?;
    let state = if b.socket.borrow().is_open() {
        ""
    } else {
        ", closed"
    };
    s.push_bytes_protected(format!("nml.socket ({}{state})", b.pattern.name()).as_bytes())?;
    Ok(1)
}

/// The functions of this file, as `nml.<name>`; its methods are module functions too.
pub const FUNCTIONS: &[(&str, LuaFn)] = &[("socket", socket)];

/// Methods of sockets (each also `nml.name(sock, ...)`), and their metamethods. `send` and
/// `recv` are `transfer::SOCKET_METHODS`.
pub const METHODS: &[(&str, LuaFn)] = &[
    ("listen", listen),
    ("bind", listen),
    ("dial", dial),
    ("connect", dial),
    ("setopt", setopt),
    ("getopt", getopt),
    ("subscribe", subscribe),
    ("unsubscribe", unsubscribe),
    ("pipe_events", pipe_events),
    ("allow", allow),
    ("stats", stats),
    ("close", close),
];
pub const METAMETHODS: &[(&str, LuaFn)] = &[("__tostring", describe), ("__close", close)];
