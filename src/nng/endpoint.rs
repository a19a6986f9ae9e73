//! Listeners and dialers: a socket's endpoints, made, given their TCP options, then started,
//! so that the options hold from the first connection.

#![allow(unsafe_code)] // NNG's C API (see lib.rs)

use std::ffi::{c_int, CStr};

use nng_sys as sys;

use super::address::{self, address_error, is_address, is_tls_scheme, url_host};
use super::tls::{self, AuthMode, TlsConfig, TlsError, TlsOptions};
use super::{check, NngError};

/// Why an endpoint could not be made: NNG's error, and for a TLS setting, which one.
#[derive(Debug)]
pub struct EndpointError {
    pub error: NngError,
    pub detail: Option<String>,
}

impl From<NngError> for EndpointError {
    fn from(error: NngError) -> Self {
        EndpointError {
            error,
            detail: None,
        }
    }
}

impl From<TlsError> for EndpointError {
    fn from(e: TlsError) -> Self {
        EndpointError {
            error: e.error,
            detail: Some(e.detail),
        }
    }
}

/// TCP options of a socket's endpoints; `None` leaves NNG's default (nodelay on, keepalive
/// off, no dead-peer time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpOptions {
    pub nodelay: Option<bool>,
    pub keepalive: Option<bool>,
    /// Milliseconds a peer may answer nothing before its connection ends; 0 for the kernel's
    /// timers (patch 0025).
    pub dead_peer_time: Option<i32>,
}

/// Patch 0025's option (NNG has no name for it: it is nml's).
const TCP_DEAD_PEER_TIME: &CStr = c"tcp-dead-peer-time";

/// NNG's answer to a TCP option: transports without it (ipc, inproc) say "not supported".
fn passed_over_if_unsupported(rv: impl super::Status) -> Result<(), NngError> {
    match check(rv) {
        Err(e) if e.code() == "not_supported" => Ok(()),
        other => other,
    }
}

/// A listener or a dialer of a socket. A plain id: NNG closes it with its socket, and calls on
/// a closed one say so.
#[derive(Clone, Copy, Debug)]
pub enum Endpoint {
    Listener(sys::nng_listener),
    Dialer(sys::nng_dialer),
}

impl Endpoint {
    /// A listener of `socket` on `url`, started.
    pub(super) fn listen(
        socket: sys::nng_socket,
        url: &CStr,
        tcp: TcpOptions,
        tls: Option<&TlsOptions>,
    ) -> Result<Endpoint, EndpointError> {
        let text = url.to_string_lossy();
        address::check(&text, true)?;
        listener_has_cert(&text, tls)?;
        let mut l = sys::nng_listener::default();
        // SAFETY: url is NUL-terminated; NNG writes the new listener's id into `l`.
        check(unsafe { sys::nng_listener_create(&mut l, socket, url.as_ptr()) })
            .map_err(|error| address_error(error, &text, true))?;
        let endpoint = Endpoint::Listener(l);
        let started = endpoint.prepare(tcp, tls, true).and_then(|()| {
            // SAFETY: starting the listener just made.
            check(unsafe { sys::nng_listener_start(l, 0) })
                .map_err(|error| address_error(error, &text, true))
        });
        if let Err(e) = started {
            endpoint.close();
            return Err(e);
        }
        Ok(endpoint)
    }

    /// A dialer of `socket` to `url`, started. Blocking: the first connection attempt must
    /// succeed. Non-blocking: NNG keeps trying in the background.
    pub(super) fn dial(
        socket: sys::nng_socket,
        url: &CStr,
        blocking: bool,
        tcp: TcpOptions,
        tls: Option<&TlsOptions>,
    ) -> Result<Endpoint, EndpointError> {
        address::check(&url.to_string_lossy(), false)?;
        let mut d = sys::nng_dialer::default();
        // SAFETY: url is NUL-terminated; NNG writes the new dialer's id into `d`.
        check(unsafe { sys::nng_dialer_create(&mut d, socket, url.as_ptr()) })
            .map_err(|error| address_error(error, &url.to_string_lossy(), false))?;
        let endpoint = Endpoint::Dialer(d);
        let flags = match blocking {
            true => 0,
            false => sys::NNG_FLAG_NONBLOCK as c_int,
        };
        let url = url.to_string_lossy();
        let tls = dialer_tls(&url, tls);
        let started = endpoint.prepare(tcp, tls.as_ref(), false).and_then(|()| {
            // SAFETY: starting the dialer just made.
            check(unsafe { sys::nng_dialer_start(d, flags) })
                .map_err(|error| dial_error(error, tls.as_ref(), &url))
        });
        if let Err(e) = started {
            endpoint.close();
            return Err(e);
        }
        Ok(endpoint)
    }

    /// Gives a new endpoint its TCP options and TLS settings, before it starts.
    fn prepare(
        &self,
        tcp: TcpOptions,
        tls: Option<&TlsOptions>,
        server: bool,
    ) -> Result<(), EndpointError> {
        self.set_tcp(tcp)?;
        if let Some(options) = tls {
            let config = TlsConfig::new(options, server)?;
            tls::attach(*self, &config).map_err(tls_refused)?;
        }
        Ok(())
    }

    /// Sets the options given; transports without TCP options (ipc, inproc) ignore them.
    pub fn set_tcp(&self, tcp: TcpOptions) -> Result<(), NngError> {
        for (name, value) in [
            (&sys::NNG_OPT_TCP_NODELAY[..], tcp.nodelay),
            (&sys::NNG_OPT_TCP_KEEPALIVE[..], tcp.keepalive),
        ] {
            let Some(value) = value else { continue };
            let name =
                CStr::from_bytes_with_nul(name).expect("NNG option names are NUL-terminated");
            // SAFETY: name is NUL-terminated; the endpoint id came from NNG.
            let rv = unsafe {
                match *self {
                    Endpoint::Listener(l) => sys::nng_listener_set_bool(l, name.as_ptr(), value),
                    Endpoint::Dialer(d) => sys::nng_dialer_set_bool(d, name.as_ptr(), value),
                }
            };
            passed_over_if_unsupported(rv)?;
        }
        if let Some(ms) = tcp.dead_peer_time {
            let name = TCP_DEAD_PEER_TIME.as_ptr();
            // SAFETY: name is NUL-terminated; the endpoint id came from NNG.
            let rv = unsafe {
                match *self {
                    Endpoint::Listener(l) => sys::nng_listener_set_ms(l, name, ms),
                    Endpoint::Dialer(d) => sys::nng_dialer_set_ms(d, name, ms),
                }
            };
            passed_over_if_unsupported(rv)?;
        }
        Ok(())
    }

    /// The TCP port a listener is bound to (the one the system chose for port 0).
    pub fn port(&self) -> Result<u16, NngError> {
        let Endpoint::Listener(l) = *self else {
            return Err(NngError::NOT_SUPPORTED);
        };
        let name = CStr::from_bytes_with_nul(sys::NNG_OPT_BOUND_PORT)
            .expect("NNG option names are NUL-terminated");
        let mut port: c_int = 0;
        // SAFETY: NNG writes one int.
        check(unsafe { sys::nng_listener_get_int(l, name.as_ptr(), &mut port) })?;
        Ok(port as u16)
    }

    /// The URL of a listener, with the port the system chose for port 0.
    pub fn url(&self) -> Result<String, NngError> {
        if super::forked() {
            return Err(NngError(sys::nng_err::NNG_ESTATE)); // the parent's; see forked()
        }
        let mut url = std::ptr::null();
        // SAFETY: NNG points `url` at the endpoint's own URL, alive while the endpoint is.
        check(unsafe {
            match *self {
                Endpoint::Listener(l) => sys::nng_listener_get_url(l, &mut url),
                Endpoint::Dialer(d) => sys::nng_dialer_get_url(d, &mut url),
            }
        })?;
        let mut buf = [0 as std::ffi::c_char; 512];
        // SAFETY: NNG writes at most `buf.len()` bytes, NUL-terminated, into `buf`.
        unsafe { sys::nng_url_sprintf(buf.as_mut_ptr(), buf.len(), url) };
        // SAFETY: a NUL-terminated string in `buf`.
        Ok(unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned())
    }

    pub fn close(&self) {
        if super::forked() {
            return; // the parent's endpoint: NNG may not run here (see forked())
        }
        // SAFETY: closing an id NNG made; one already closed only returns an error.
        unsafe {
            match *self {
                Endpoint::Listener(l) => sys::nng_listener_close(l),
                Endpoint::Dialer(d) => sys::nng_dialer_close(d),
            };
        }
    }
}

/// A TLS listener without a certificate would start, and fail every handshake: refused at
/// once, naming what is missing (NNG says nothing until a client fails).
fn listener_has_cert(url: &str, tls: Option<&TlsOptions>) -> Result<(), EndpointError> {
    let is_tls = url
        .split_once("://")
        .is_some_and(|(scheme, _)| is_tls_scheme(scheme));
    let invalid = |detail: &str| EndpointError {
        error: NngError(sys::nng_err::NNG_EINVAL),
        detail: Some(detail.to_string()),
    };
    if !is_tls {
        return Ok(());
    }
    match tls {
        None
        | Some(TlsOptions {
            cert_file: None, ..
        }) => Err(invalid(
            "a TLS listener needs its certificate: {tls = {cert_file = ..., key_file = ...}}",
        )),
        // It would start, and turn every client away: no CA to check their certificates by.
        Some(TlsOptions {
            auth_mode: Some(AuthMode::Required),
            ca_file: None,
            ..
        }) => Err(invalid(
            "tls.auth_mode = \"required\" needs tls.ca_file, the CAs that vouch for client \
             certificates",
        )),
        Some(_) => Ok(()),
    }
}

/// Why NNG took no TLS settings for an endpoint. Every ws:// and wss:// listener of the process
/// on one port is served by one http server (NNG's), which a second wss:// listener finds
/// started with its first's settings ("busy"): the port is taken as far as TLS goes.
fn tls_refused(error: NngError) -> EndpointError {
    match error.0 {
        sys::nng_err::NNG_EBUSY => EndpointError {
            error: NngError(sys::nng_err::NNG_EADDRINUSE),
            detail: Some(
                "another wss:// listener of this process holds this port, and a wss:// \
                 listener needs a port of its own (NNG serves one TLS setup per port)"
                    .to_string(),
            ),
        },
        _ => EndpointError {
            error,
            detail: Some("TLS settings are for tls+tcp:// and wss:// addresses".to_string()),
        },
    }
}

/// A failed dial, with what to check when TLS refused. NNG reports every failed verification
/// alike (NNG_ECRYPTO, whatever OpenSSL found), so the message names what to
/// check.
fn dial_error(error: NngError, tls: Option<&TlsOptions>, url: &str) -> EndpointError {
    let detail = match (tls, error.code()) {
        (Some(tls), "crypto" | "peer_auth") if tls.ca_file.is_none() => Some(
            "the TLS handshake failed: no tls.ca_file was given, and a dialer verifies the \
             server's certificate against the CAs in it (auth_mode = \"none\" verifies nothing)"
                .to_string(),
        ),
        (Some(tls), "crypto" | "peer_auth") => {
            let name = tls.server_name.as_deref().unwrap_or_default();
            let by_address = is_address(name);
            let whose = match url_host(url.split_once("://").map_or("", |(_, rest)| rest)) {
                Some(host) if host == name => "the URL's host",
                _ => "tls.server_name",
            };
            // An address is matched against the certificate's IP address entries only (NNG
            // patch 0021), never a DNS name spelling it.
            let checked = match by_address {
                true => format!("{whose} {name} among its IP addresses"),
                false => format!("{whose} {name}"),
            };
            // Over TLS 1.3 a server that requires a client certificate refuses one it does not
            // get with an alert this end reads as a failed verification too.
            let refused = match tls.cert_file {
                Some(_) => "the server refused this end's certificate",
                None => {
                    "the server requires a client certificate and this end gave none \
                     (tls.cert_file and tls.key_file)"
                }
            };
            // A server that does not speak TLS answers something OpenSSL reads as a bad
            // record, a failed handshake too (or ends the connection: "reset" below).
            Some(format!(
                "the TLS handshake failed: the server's certificate is not signed by a CA in \
                 tls.ca_file, or does not name {checked}, or {refused}, or the server does not \
                 speak TLS"
            ))
        }
        (Some(_), "reset") => Some(
            "the server ended the TLS handshake: it may require a client certificate \
             (tls.cert_file and tls.key_file) signed by a CA it trusts, or it does not speak \
             TLS"
            .to_string(),
        ),
        // NNG gives a connection 10 s to finish its handshake and SP negotiation.
        (Some(_), "timeout") => Some(
            "the TLS handshake did not finish in 10 s: the server answered nothing, so it \
             does not speak TLS or is stalled"
                .to_string(),
        ),
        _ => return address_error(error, url, false),
    };
    EndpointError { error, detail }
}

/// The TLS settings a dialer of `url` uses: on a TLS scheme, the given ones (or NNG's defaults)
/// with the name the server's certificate must carry defaulting to the URL's host. NNG checks
/// no name unless it is given one, so without this a certificate for any host would do.
fn dialer_tls(url: &str, tls: Option<&TlsOptions>) -> Option<TlsOptions> {
    let (scheme, rest) = url.split_once("://")?;
    if !is_tls_scheme(scheme) {
        return tls.cloned();
    }
    let mut options = tls.cloned().unwrap_or_default();
    if options.server_name.is_none() {
        options.server_name = url_host(rest).map(str::to_string);
    }
    Some(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nng::{Pattern, Socket};

    #[test]
    fn a_tls_dialer_checks_the_urls_host_unless_told_another_name() {
        let name = |url: &str, given: Option<&str>| {
            let tls = TlsOptions {
                server_name: given.map(str::to_string),
                ..TlsOptions::default()
            };
            dialer_tls(url, Some(&tls)).and_then(|t| t.server_name)
        };
        assert_eq!(
            name("tls+tcp://server.example:5555", None).as_deref(),
            Some("server.example")
        );
        assert_eq!(
            name("tls+tcp://127.0.0.1:5555", None).as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(name("wss://[::1]:443/path", None).as_deref(), Some("::1"));
        assert_eq!(
            name("wss://h.example/a:b", None).as_deref(),
            Some("h.example")
        );
        assert_eq!(name("tls+tcp://a:1", Some("b")).as_deref(), Some("b"));
        assert_eq!(name("tcp://a:1", None), None);
        let defaulted = dialer_tls("tls+tcp://a:1", None).unwrap();
        assert_eq!(defaulted.server_name.as_deref(), Some("a"));
    }

    fn listener_bool(e: Endpoint, name: &'static [u8]) -> bool {
        let Endpoint::Listener(l) = e else {
            panic!("a listener")
        };
        let name = CStr::from_bytes_with_nul(name).unwrap();
        let mut v = false;
        // SAFETY: NNG writes one bool.
        check(unsafe { sys::nng_listener_get_bool(l, name.as_ptr(), &mut v) }).unwrap();
        v
    }

    fn listener_ms(e: Endpoint, name: &CStr) -> i32 {
        let Endpoint::Listener(l) = e else {
            panic!("a listener")
        };
        let mut v = 0;
        // SAFETY: NNG writes one duration.
        check(unsafe { sys::nng_listener_get_ms(l, name.as_ptr(), &mut v) }).unwrap();
        v
    }

    #[test]
    fn tcp_options_reach_the_listener_before_it_starts() {
        let socket = Socket::open(Pattern::Pair0, false).unwrap();
        let tcp = TcpOptions {
            nodelay: Some(false),
            keepalive: Some(true),
            dead_peer_time: Some(4000),
        };
        let l = socket.listen(c"tcp://127.0.0.1:0", tcp, None).unwrap();
        assert!(!listener_bool(l, sys::NNG_OPT_TCP_NODELAY));
        assert!(listener_bool(l, sys::NNG_OPT_TCP_KEEPALIVE));
        assert!(l.port().unwrap() > 0);
        assert!(l.url().unwrap().starts_with("tcp://127.0.0.1:"));
        assert_eq!(listener_ms(l, TCP_DEAD_PEER_TIME), 4000);
        l.set_tcp(TcpOptions {
            nodelay: Some(true),
            ..TcpOptions::default()
        })
        .unwrap();
        assert!(listener_bool(l, sys::NNG_OPT_TCP_NODELAY));
        // ipc has no TCP options: they are passed over, not an error.
        let ipc = socket
            .listen(c"ipc:///tmp/nml-endpoint-test.ipc", tcp, None)
            .unwrap();
        assert_eq!(ipc.port().unwrap_err().code(), "not_supported");
    }
}
