//! What an address (a URL) says: its transport, host, port and path; whether a dialer of one
//! reaches a listener of another; and, when NNG refuses one or would take it to mean what
//! was not meant, what is wrong with it in words a user can act on.

#![allow(unsafe_code)] // inet_aton, glibc's (see lib.rs)

use std::ffi::c_int;
use std::net::ToSocketAddrs;

use nng_sys as sys;

use super::endpoint::EndpointError;
use super::NngError;

/// What is wrong with `url` before NNG is asked: NNG answers "Invalid argument" or "Address
/// invalid" for these, and takes a TCP listen without a port as a listen on any port, which
/// a dialer told the same URL then cannot find.
pub(super) fn check(url: &str, listening: bool) -> Result<(), EndpointError> {
    let wrong = |detail: String| {
        Err(EndpointError {
            error: NngError(sys::nng_err::NNG_EADDRINVAL),
            detail: Some(detail),
        })
    };
    let Some((scheme, rest)) = url.split_once("://") else {
        let example = match url.split_once(':') {
            Some(("ipc" | "unix", path)) => format!("ipc://{}", path.trim_start_matches('/')),
            _ => "tcp://127.0.0.1:5555".to_string(),
        };
        let example = example.replacen("ipc://", "ipc:///", 1);
        return wrong(format!(
            "not a URL: a transport, ://, then an address, as in {example}"
        ));
    };
    let (host, port, path) = host_port_path(rest);
    if let Some(why) = family_mismatch(scheme, host) {
        return wrong(why);
    }
    match family(scheme) {
        "ipc" | "abstract" if rest.is_empty() => wrong(format!(
            "{scheme}:// needs a path after it, as in {scheme}:///tmp/nml.ipc"
        )),
        "tcp" | "tls" | "ws" | "wss"
            if !port.is_empty() && (port.len() > 5 || port.parse::<u16>().is_err()) =>
        {
            wrong(format!("{port} is no TCP port: a port is 0 to 65535"))
        }
        "tcp" | "tls" if listening && port.is_empty() => wrong(format!(
            "the URL needs a port, as in {scheme}://{}:5555, or :0 for any free one \
             (listener:port() tells which)",
            match url_host(rest).unwrap_or("127.0.0.1") {
                v6 if v6.contains(':') => format!("[{v6}]"),
                host => host.to_string(),
            }
        )),
        // NNG takes these, and a dialer's HTTP request line would carry them raw
        "ws" | "wss"
            if path
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) =>
        {
            wrong(format!(
                "a {scheme}:// path cannot hold spaces or control characters: write a space as %20"
            ))
        }
        _ => Ok(()),
    }
}

/// Why a scheme of one address family (`tcp6://`, `ws4://`) cannot take `host`, an address
/// literal of the other: NNG answers that with an unknown error.
fn family_mismatch(scheme: &str, host: &str) -> Option<String> {
    let base = scheme.trim_end_matches(['4', '6']);
    let v6 = host.contains(':');
    let v4 = !v6 && host.parse::<std::net::Ipv4Addr>().is_ok();
    match scheme.chars().last() {
        Some('6') if v4 => Some(format!(
            "{scheme}:// takes IPv6 addresses and names; {host} is IPv4: use {base}:// or {base}4://"
        )),
        Some('4') if v6 => Some(format!(
            "{scheme}:// takes IPv4 addresses and names; [{host}] is IPv6: use {base}:// or {base}6://"
        )),
        _ => None,
    }
}

/// Whether `host` resolves to an address (DNS, /etc/hosts, or an address already).
fn resolves(host: &str) -> bool {
    (host, 0)
        .to_socket_addrs()
        .is_ok_and(|mut addresses| addresses.next().is_some())
}

/// Whether a URL scheme is a transport over TLS.
pub(super) fn is_tls_scheme(scheme: &str) -> bool {
    matches!(
        scheme,
        "tls+tcp" | "tls+tcp4" | "tls+tcp6" | "wss" | "wss4" | "wss6"
    )
}

/// A failed listen or dial, with what to check when NNG found the address wrong (NNG says
/// only "Address invalid", for a missing port as for a host that does not resolve).
pub(super) fn address_error(error: NngError, url: &str, listening: bool) -> EndpointError {
    let scheme = url.split_once("://").map_or(url, |(scheme, _)| scheme);
    let known = |s: &str| {
        matches!(
            family(s),
            "tcp" | "tls" | "ws" | "wss" | "ipc" | "inproc" | "abstract" | "socket"
        )
    };
    let detail = match error.code() {
        "not_supported" if !known(scheme) => Some(format!(
            "no transport {scheme}:// (tcp, ipc, inproc, ws, wss, tls+tcp, unix, abstract, and \
             tcp4, tcp6 and the like)"
        )),
        "refused" if !listening && matches!(family(scheme), "ws" | "wss") => Some(
            "nothing listens there (yet), or not at this path, or not for this host name: a \
             ws listener on a named address answers requests for that name only (listen on \
             0.0.0.0 to answer any); or dial with {block = false} and NNG keeps trying"
                .to_string(),
        ),
        "refused" if !listening => Some(
            "nothing listens there (yet): listen first, or dial with {block = false} and NNG \
             keeps trying in the background"
                .to_string(),
        ),
        "address_in_use" if listening && matches!(family(scheme), "ws" | "wss") => Some(
            "another program listens on this port, or a listener of this process on this path, \
             or one of another kind: ws:// listeners of one process share a port with ws:// \
             listeners only, on other paths, and a wss:// listener needs a port of its own"
                .to_string(),
        ),
        "reset" if !listening && family(scheme) == "ws" => Some(
            "the server ended the connection in the WebSocket handshake: it may be a wss:// \
             listener, which speaks TLS (dial wss:// with {tls = {...}})"
                .to_string(),
        ),
        "bad_address" => address_hint(url, listening),
        _ => None,
    };
    EndpointError { error, detail }
}

/// What to check in an address NNG found invalid: a missing port, a host that does not
/// resolve, one that is not this machine's.
fn address_hint(url: &str, listening: bool) -> Option<String> {
    url.split_once("://").and_then(|(scheme, rest)| {
        let (host, port, path) = host_port_path(rest);
        if host.is_empty() {
            return Some(format!(
                "the URL names no host: {scheme}://0.0.0.0:port listens on every address, \
                 {scheme}://127.0.0.1:port on this machine alone"
            ));
        }
        let resolved = resolves(host);
        let bracketed = format!("[{host}]");
        let host = if host.contains(':') { &bracketed } else { host };
        match (family(scheme), listening) {
            ("tcp" | "tls", _) if !path.is_empty() => Some(format!(
                "a {scheme} URL has no path: {scheme}://host:port ({path} is left over)"
            )),
            ("tcp" | "tls" | "ws" | "wss", false) if port == "0" => Some(format!(
                "port 0 means \"any\" only to listen: dial the listener's port \
                 ({scheme}://{host}:5555; listener:port() tells it)"
            )),
            ("tcp" | "tls", _) if port.is_empty() || port.parse::<u16>().is_err() => Some(format!(
                "the URL needs a port, as in {scheme}://{host}:5555"
            )),
            ("tcp" | "tls" | "ws" | "wss", _) if !resolved => Some(format!(
                "the host {host} does not resolve to an address: check its name (and this \
                 machine's DNS)"
            )),
            ("tcp" | "tls" | "ws" | "wss", false) => Some(format!(
                "NNG cannot use {host}'s address: check the URL's form, {scheme}://host:port"
            )),
            ("tcp" | "tls" | "ws" | "wss", true) => Some(format!(
                "{host} is not an address of this machine: listen on 0.0.0.0 (every address), \
                 127.0.0.1, or one of this machine's own"
            )),
            _ => None,
        }
    })
}

/// Whether a server name is an IP address as the resolver (and patch 0012) reads it: any form
/// inet_aton takes (127.1, 2130706433), or IPv6 with or without a zone.
pub(super) fn is_address(name: &str) -> bool {
    if name.contains(char::is_whitespace) {
        return false; // inet_aton would stop at the space and take the rest for nothing
    }
    let v6 = name.split('%').next().unwrap_or(name);
    if v6.parse::<std::net::Ipv6Addr>().is_ok() {
        return true;
    }
    let Ok(c_name) = std::ffi::CString::new(name) else {
        return false;
    };
    extern "C" {
        // glibc's; the libc crate does not declare it.
        fn inet_aton(cp: *const std::ffi::c_char, inp: *mut libc::in_addr) -> c_int;
    }
    let mut addr = libc::in_addr { s_addr: 0 };
    // SAFETY: inet_aton reads a NUL-terminated string and writes one in_addr, a local.
    unsafe { inet_aton(c_name.as_ptr(), &mut addr) != 0 }
}

/// Whether a dialer of `dialed` reaches a listener of `listened` (the same transport, path and
/// port; the same host, or a listener on every address, or loopback both; for ipc, the same
/// file however its path is spelled). For spotting a forwarder that would feed itself; a tcp
/// listener reached under another host name is not seen.
pub fn reaches(dialed: &str, listened: &str) -> bool {
    let (Some((ds, drest)), Some((ls, lrest))) =
        (dialed.split_once("://"), listened.split_once("://"))
    else {
        return false;
    };
    if family(ds) != family(ls) {
        return false;
    }
    if family(ds) == "ipc" {
        return drest == lrest || ipc_file(drest).is_some_and(|d| Some(d) == ipc_file(lrest));
    }
    if matches!(family(ds), "inproc" | "abstract" | "socket") {
        return drest == lrest;
    }
    let (dhost, dport, dpath) = host_port_path(drest);
    let (lhost, lport, lpath) = host_port_path(lrest);
    let wildcard = |h: &str| matches!(h, "" | "*" | "0.0.0.0" | "::");
    let loopback = |h: &str| h == "localhost" || h == "::1" || h.starts_with("127.");
    dport == lport
        && dpath == lpath
        && (dhost == lhost || wildcard(lhost) || (loopback(dhost) && loopback(lhost)))
}

/// The file an ipc path names, as the kernel would find it now: a relative path taken from the
/// working directory, then the whole path resolved (symbolic links, `.`, `..`) if it exists, as
/// a listener's socket file does; else its directory resolved, with the file name kept; else
/// the path with `.` and repeated slashes dropped. None for a path that names no file.
fn ipc_file(path: &str) -> Option<std::path::PathBuf> {
    let path = std::path::Path::new(path);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    if let Ok(file) = std::fs::canonicalize(&absolute) {
        return Some(file);
    }
    let name = absolute.file_name()?;
    let dir = absolute.parent()?;
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.components().collect());
    Some(dir.join(name))
}

/// A scheme's transport, under its several names.
pub(super) fn family(scheme: &str) -> &str {
    match scheme {
        "tcp" | "tcp4" | "tcp6" => "tcp",
        "tls+tcp" | "tls+tcp4" | "tls+tcp6" => "tls",
        "ws" | "ws4" | "ws6" => "ws",
        "wss" | "wss4" | "wss6" => "wss",
        "ipc" | "unix" => "ipc",
        other => other,
    }
}

/// `host:port/path` (or `[v6]:port/path`) as its three parts.
fn host_port_path(rest: &str) -> (&str, &str, &str) {
    let authority = rest.split('/').next().unwrap_or("");
    let path = &rest[authority.len()..];
    let host = url_host(rest).unwrap_or("");
    // the port follows the host's last ':', or the ']' of an IPv6 address
    let after_host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(_, after)| after),
        None => authority,
    };
    let port = after_host.rsplit_once(':').map_or("", |(_, p)| p);
    (host, port, path)
}

/// The host of a URL's part after `scheme://`: `host`, `host:port`, `[v6]:port`, then a path.
pub(super) fn url_host(rest: &str) -> Option<&str> {
    let authority = rest.split('/').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.split(':').next()?,
    };
    (!host.is_empty() && host != "*").then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_of_the_other_family_is_named() {
        let v4 = family_mismatch("tcp6", "127.0.0.1").unwrap();
        assert!(
            v4.contains("127.0.0.1 is IPv4: use tcp:// or tcp4://"),
            "{v4}"
        );
        let v6 = family_mismatch("tls+tcp4", "::1").unwrap();
        assert!(
            v6.contains("[::1] is IPv6: use tls+tcp:// or tls+tcp6://"),
            "{v6}"
        );
        assert!(family_mismatch("tcp6", "::1").is_none());
        assert!(family_mismatch("tcp4", "localhost").is_none());
        assert!(family_mismatch("tcp", "127.0.0.1").is_none());
        assert!(check("tcp://127.0.0.1:00000000000000000000080", true).is_err());
    }

    #[test]
    fn a_dialer_reaches_the_listener_it_names() {
        assert!(reaches("tcp://127.0.0.1:5555", "tcp://0.0.0.0:5555"));
        assert!(reaches("tcp://localhost:5555", "tcp4://127.0.0.1:5555"));
        assert!(reaches("ipc:///tmp/a.ipc", "unix:///tmp/a.ipc"));
        assert!(!reaches("tcp://127.0.0.1:5556", "tcp://127.0.0.1:5555"));
        assert!(!reaches("ws://127.0.0.1:80/a", "ws://127.0.0.1:80/b"));
        assert!(!reaches("inproc://a", "inproc://b"));
    }

    #[test]
    fn an_ipc_path_reaches_its_file_however_spelled() {
        let dir = std::env::temp_dir().join(format!("nml-reaches-{}", std::process::id()));
        let link = dir.with_extension("link");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let (d, l) = (dir.display(), link.display());
        let listened = format!("ipc://{d}/fw.ipc");
        // Not made: the directory part is resolved, the file name kept.
        for dialed in [
            format!("ipc://{d}/./fw.ipc"),
            format!("ipc://{d}//fw.ipc"),
            format!("ipc://{d}/sub/../fw.ipc"),
            format!("unix://{l}/fw.ipc"),
        ] {
            assert!(reaches(&dialed, &listened), "{dialed}");
        }
        assert!(!reaches(&format!("ipc://{l}/other.ipc"), &listened));
        assert!(!reaches(&format!("ipc://{d}/nowhere/../fw.ipc"), &listened));
        // Made, and reached through a link to the file itself.
        std::fs::write(dir.join("fw.ipc"), b"").unwrap();
        std::os::unix::fs::symlink(dir.join("fw.ipc"), dir.join("alias.ipc")).unwrap();
        assert!(reaches(&format!("ipc://{l}/alias.ipc"), &listened));
        // Relative to the working directory.
        let cwd = std::env::current_dir().unwrap();
        let up = cwd
            .components()
            .skip(1)
            .map(|_| "..")
            .collect::<Vec<_>>()
            .join("/");
        assert!(reaches(&format!("ipc://{up}{d}/fw.ipc"), &listened));
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_file(&link).unwrap();
    }

    #[test]
    fn addresses_nng_would_misread_are_refused_first() {
        let detail =
            |url: &str, listening: bool| check(url, listening).err().and_then(|e| e.detail);
        let said = |url: &str, listening: bool, part: &str| {
            let d = detail(url, listening).unwrap_or_default();
            assert!(d.contains(part), "{url}: {d}");
        };
        said(
            "ipc:/tmp/x.ipc",
            true,
            "not a URL: a transport, ://, then an address, as in ipc:///tmp/x.ipc",
        );
        said("tcp//127.0.0.1:1", false, "as in tcp://127.0.0.1:5555");
        said("ipc://", true, "ipc:// needs a path after it");
        said("tcp://127.0.0.1:99999", false, "99999 is no TCP port");
        said("ws://127.0.0.1:0/a b", true, "cannot hold spaces");
        said(
            "wss://h:1/a\x7fb",
            false,
            "cannot hold spaces or control characters",
        );
        said(
            "tcp://127.0.0.1",
            true,
            "the URL needs a port, as in tcp://127.0.0.1:5555, or :0",
        );
        assert!(
            check("tcp://127.0.0.1", false).is_ok(),
            "a dial says so when NNG refuses it"
        );
        assert!(check("tcp://127.0.0.1:0", true).is_ok());
        assert!(
            check("ws://127.0.0.1/path", true).is_ok(),
            "ws has a default port"
        );
        assert!(check("inproc://", true).is_ok());
    }
}
