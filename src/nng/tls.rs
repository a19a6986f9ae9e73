//! TLS for `tls+tcp://` and `wss://` endpoints: the settings a listener or dialer is given,
//! made into an NNG TLS configuration (OpenSSL 3.5 underneath). Every failure says which setting
//! caused it.

#![allow(unsafe_code)] // NNG's C API (see lib.rs)

use std::ffi::CString;
use std::ptr::NonNull;

use nng_sys as sys;

use super::{check, NngError};

/// Whether the peer must show a certificate the CA vouches for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    None,
    Optional,
    Required,
}

/// The TLS settings of one listener or dialer. Paths name PEM files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// The CA certificates that vouch for peers.
    pub ca_file: Option<String>,
    /// This end's certificate (chain) and its private key.
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    /// The password of an encrypted key.
    pub key_password: Option<String>,
    /// The name the server's certificate must carry (dialers; default: the URL's host).
    pub server_name: Option<String>,
    /// NNG's defaults: required for dialers, none for listeners.
    pub auth_mode: Option<AuthMode>,
}

/// A failed TLS setting: NNG's error and which setting it is about.
#[derive(Debug)]
pub struct TlsError {
    pub error: NngError,
    pub detail: String,
}

/// An NNG TLS configuration, released on drop (an endpoint given it keeps its own hold).
pub(super) struct TlsConfig(NonNull<sys::nng_tls_config>);

impl TlsConfig {
    /// The configuration for a listener (`server`) or a dialer.
    pub(super) fn new(options: &TlsOptions, server: bool) -> Result<TlsConfig, TlsError> {
        let mode = match server {
            true => sys::nng_tls_mode::NNG_TLS_MODE_SERVER,
            false => sys::nng_tls_mode::NNG_TLS_MODE_CLIENT,
        };
        let mut raw = std::ptr::null_mut();
        // SAFETY: NNG writes a new configuration into `raw`.
        check(unsafe { sys::nng_tls_config_alloc(&mut raw, mode) })
            .map_err(|error| failed(error, "TLS is not available"))?;
        let config = TlsConfig(NonNull::new(raw).expect("NNG returned a null TLS config"));
        config.apply(options)?;
        Ok(config)
    }

    pub(super) fn as_ptr(&self) -> *mut sys::nng_tls_config {
        self.0.as_ptr()
    }

    fn apply(&self, o: &TlsOptions) -> Result<(), TlsError> {
        if let Some(mode) = o.auth_mode {
            self.set_auth_mode(mode)?;
        }
        if let Some(path) = &o.ca_file {
            self.set_ca_file(path)?;
        }
        match (&o.cert_file, &o.key_file) {
            (Some(cert), Some(key)) => self.set_own_cert(cert, key, o.key_password.as_deref())?,
            (None, None) => {}
            _ => return Err(invalid("tls.cert_file and tls.key_file go together")),
        }
        if let Some(name) = &o.server_name {
            self.set_server_name(name)?;
        }
        Ok(())
    }

    fn set_auth_mode(&self, mode: AuthMode) -> Result<(), TlsError> {
        let mode = match mode {
            AuthMode::None => sys::nng_tls_auth_mode::NNG_TLS_AUTH_MODE_NONE,
            AuthMode::Optional => sys::nng_tls_auth_mode::NNG_TLS_AUTH_MODE_OPTIONAL,
            AuthMode::Required => sys::nng_tls_auth_mode::NNG_TLS_AUTH_MODE_REQUIRED,
        };
        // SAFETY: a configuration we hold.
        check(unsafe { sys::nng_tls_config_auth_mode(self.as_ptr(), mode) })
            .map_err(|e| failed(e, "tls.auth_mode"))
    }

    fn set_ca_file(&self, path: &str) -> Result<(), TlsError> {
        // Read here (read_pem's checks), then given to NNG as text. A file with no certificate
        // is refused: OpenSSL takes it as an empty list, and every handshake would fail, the
        // message blaming the CA or the name. CRLs in it are not read.
        let pem = read_pem(path, "tls.ca_file")?;
        if !holds_certificate(pem.as_bytes()) {
            return Err(invalid(&format!(
                "tls.ca_file {path}: no certificate in it (PEM \"BEGIN CERTIFICATE\" blocks of \
                 the CAs to trust)"
            )));
        }
        // SAFETY: a configuration we hold and the NUL-terminated PEM text, which NNG parses and
        // copies; no CRL.
        check(unsafe {
            sys::nng_tls_config_ca_chain(self.as_ptr(), pem.as_ptr(), std::ptr::null())
        })
        .map_err(|e| {
            failed(
                e,
                &format!("tls.ca_file {path}: not a usable CA certificate"),
            )
        })
    }

    fn set_own_cert(
        &self,
        cert_path: &str,
        key_path: &str,
        password: Option<&str>,
    ) -> Result<(), TlsError> {
        let cert = read_pem(cert_path, "tls.cert_file")?;
        let key = read_pem(key_path, "tls.key_file")?;
        let c_password = match password {
            Some(p) => Some(c_string(p, "tls.key_password")?),
            None => None,
        };
        // SAFETY: NUL-terminated PEM texts that NNG parses and copies; a null password means
        // none.
        let rv = unsafe {
            sys::nng_tls_config_own_cert(
                self.as_ptr(),
                cert.as_ptr(),
                key.as_ptr(),
                c_password.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
            )
        };
        check(rv).map_err(|e| {
            let why = match (is_encrypted(key.as_bytes()), password) {
                (true, None) => {
                    format!("tls.key_file {key_path} is encrypted: give its tls.key_password")
                }
                (true, Some(_)) => format!(
                    "tls.key_file {key_path} is encrypted and tls.key_password does not open it, \
                     or it is encrypted with an algorithm nml's OpenSSL does not read (RC2 or DES: \
                     re-encrypt it with openssl pkcs8 -topk8 -v2 aes-256-cbc), or it is not the \
                     key of tls.cert_file {cert_path}"
                ),
                (false, _) => format!(
                    "tls.cert_file {cert_path} and tls.key_file {key_path}: not a certificate \
                     and its private key"
                ),
            };
            failed(e, &why)
        })
    }

    fn set_server_name(&self, name: &str) -> Result<(), TlsError> {
        check_server_name(name)?;
        let c_name = c_string(name, "tls.server_name")?;
        // SAFETY: a configuration we hold and a NUL-terminated name.
        check(unsafe { sys::nng_tls_config_server_name(self.as_ptr(), c_name.as_ptr()) })
            .map_err(|e| failed(e, "tls.server_name"))
    }
}

impl Drop for TlsConfig {
    fn drop(&mut self) {
        if super::forked() {
            return; // the parent's NNG made it; the child may not call NNG
        }
        // SAFETY: releasing the hold nng_tls_config_alloc gave us, once.
        unsafe { sys::nng_tls_config_free(self.as_ptr()) };
    }
}

fn failed(error: NngError, detail: &str) -> TlsError {
    TlsError {
        error,
        detail: detail.to_string(),
    }
}

/// A setting NNG would take and that cannot work (`"invalid"`).
fn invalid(detail: &str) -> TlsError {
    failed(NngError(sys::nng_err::NNG_EINVAL), detail)
}

fn c_string(text: &str, what: &str) -> Result<CString, TlsError> {
    CString::new(text).map_err(|_| invalid(&format!("{what} holds a NUL byte")))
}

/// The PEM text of the file at `path`, NUL-terminated for NNG.
fn read_pem(path: &str, what: &str) -> Result<CString, TlsError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let io_error = |e: std::io::Error| {
        let error = match e.kind() {
            std::io::ErrorKind::NotFound => sys::nng_err::NNG_ENOENT,
            std::io::ErrorKind::PermissionDenied => sys::nng_err::NNG_EPERM,
            _ => sys::nng_err::NNG_EINVAL,
        };
        failed(NngError(error), &format!("{what} {path}: {e}"))
    };
    let not_pem = |why: String| invalid(&format!("{what} {path}: {why}"));
    // Without blocking (a FIFO would wait for a writer), a regular file only (/dev/zero
    // would be read until memory ran out), and of the size a PEM file has.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io_error)?;
    let meta = file.metadata().map_err(io_error)?;
    if !meta.is_file() {
        return Err(not_pem("not a regular file".to_string()));
    }
    if meta.len() > MAX_PEM_SIZE {
        return Err(not_pem(format!(
            "{} bytes, more than a PEM file of certificates or a key holds ({} MiB at most)",
            meta.len(),
            MAX_PEM_SIZE >> 20
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_PEM_SIZE)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    CString::new(bytes).map_err(|_| {
        invalid(&format!(
            "{what} {path}: not a PEM file (it holds a NUL byte)"
        ))
    })
}

/// A server name is a host: a DNS name of at most 253 bytes, or an address. OpenSSL reads a
/// name with a leading dot as "any host in this domain", and NNG reported an empty or a long
/// one as out of memory.
fn check_server_name(name: &str) -> Result<(), TlsError> {
    let why = if name.is_empty() {
        "is empty (leave it out to check the URL's host)"
    } else if name.starts_with('.') {
        "starts with a dot: it names one host, not a domain"
    } else if name.len() > 253 {
        "is longer than a DNS name can be (253 bytes)"
    } else {
        return Ok(());
    };
    Err(invalid(&format!("tls.server_name {why}")))
}

/// The largest certificate, key or CA file read: a CA bundle of every public CA is about
/// 200 KiB.
const MAX_PEM_SIZE: u64 = 16 << 20;

/// Whether a PEM text holds a certificate (OpenSSL also writes "TRUSTED CERTIFICATE" and
/// reads the old "X509 CERTIFICATE").
fn holds_certificate(pem: &[u8]) -> bool {
    [
        &b"-----BEGIN CERTIFICATE-----"[..],
        b"-----BEGIN TRUSTED CERTIFICATE-----",
        b"-----BEGIN X509 CERTIFICATE-----",
    ]
    .iter()
    .any(|marker| contains(pem, marker))
}

/// Whether a PEM key is encrypted: PKCS#8 ("ENCRYPTED PRIVATE KEY") or the older
/// "Proc-Type: 4,ENCRYPTED" header.
fn is_encrypted(pem: &[u8]) -> bool {
    contains(pem, b"-----BEGIN ENCRYPTED PRIVATE KEY-----") || contains(pem, b"4,ENCRYPTED")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Gives `config` to the endpoint (which takes its own hold).
pub(super) fn attach(endpoint: super::Endpoint, config: &TlsConfig) -> Result<(), NngError> {
    // SAFETY: an endpoint id NNG made and a configuration we hold; NNG holds it in turn.
    unsafe {
        match endpoint {
            super::Endpoint::Listener(l) => check(sys::nng_listener_set_tls(l, config.as_ptr())),
            super::Endpoint::Dialer(d) => check(sys::nng_dialer_set_tls(d, config.as_ptr())),
        }
    }
}
