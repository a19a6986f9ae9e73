//! The ceiling for benches/messaging.lua: the same tests through raw NNG from Rust, against the
//! same nng-sys, allocating an `nng_msg` per message. Sender and receiver run on two threads
//! (nml's bench uses two processes). Prints one line per figure:
//!   raw <transport> <test> <value> <unit>
//! Usage: cargo bench --bench raw_nng -- <transport> [<url>]
//!        cargo bench --bench raw_nng -- memcpy <MiB>   (the fresh-page copy rate, for copies.lua)

use std::ffi::CString;
use std::time::Instant;

use nng_sys as sys;

fn socket(open: Opener) -> sys::nng_socket {
    let mut s = sys::nng_socket::default();
    // SAFETY: the opener writes the socket id.
    assert_eq!(unsafe { open(&mut s) }, 0);
    // SAFETY: plain option setters on a socket we own.
    unsafe {
        sys::nng_socket_set_ms(s, sys::NNG_OPT_RECVTIMEO.as_ptr() as *const _, 10_000);
        sys::nng_socket_set_ms(s, sys::NNG_OPT_SENDTIMEO.as_ptr() as *const _, 10_000);
        sys::nng_socket_set_size(s, sys::NNG_OPT_RECVMAXSZ.as_ptr() as *const _, 64 << 20);
    }
    s
}

fn send_bytes(s: sys::nng_socket, payload: &[u8], copy: bool) {
    let mut msg = std::ptr::null_mut();
    // SAFETY: a fresh message of the payload's size, filled (or not, for the no-copy case)
    // and handed to NNG, which frees it.
    unsafe {
        assert_eq!(sys::nng_msg_alloc(&mut msg, payload.len()), 0);
        if copy {
            std::ptr::copy_nonoverlapping(
                payload.as_ptr(),
                sys::nng_msg_body(msg) as *mut u8,
                payload.len(),
            );
        }
        assert_eq!(sys::nng_sendmsg(s, msg, 0), 0);
    }
}

fn recv_len(s: sys::nng_socket) -> usize {
    let mut msg = std::ptr::null_mut();
    // SAFETY: a received message is ours to free.
    unsafe {
        assert_eq!(sys::nng_recvmsg(s, &mut msg, 0), 0);
        let n = sys::nng_msg_len(msg);
        sys::nng_msg_free(msg);
        n
    }
}

/// Median rate of copying `n` bytes into memory just allocated (so its pages are faulted in by
/// the copy, as a new message's are), over 21 runs.
fn fresh_page_memcpy(n: usize) -> f64 {
    let src = vec![7u8; n];
    let mut rates: Vec<f64> = (0..21)
        .map(|_| {
            let start = Instant::now();
            // SAFETY: a private anonymous mapping of n bytes, written within its length, then
            // unmapped; mmap (not malloc, which may hand back pages it kept) makes them fresh.
            unsafe {
                let dst = libc::mmap(
                    std::ptr::null_mut(),
                    n,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                );
                assert_ne!(dst, libc::MAP_FAILED);
                std::ptr::copy_nonoverlapping(src.as_ptr(), dst as *mut u8, n);
                let elapsed = start.elapsed().as_secs_f64();
                libc::munmap(dst, n);
                n as f64 / elapsed / 1e9
            }
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

type Opener = unsafe extern "C" fn(*mut sys::nng_socket) -> i32;

/// A listening socket and a socket dialed to it, both with the bench's options.
fn connected(url: &str, listener: Opener, dialer: Opener) -> (sys::nng_socket, sys::nng_socket) {
    let url = CString::new(url).unwrap();
    let (l, d) = (socket(listener), socket(dialer));
    // SAFETY: listen/dial with a NUL-terminated url on sockets we own.
    unsafe {
        assert_eq!(sys::nng_listen(l, url.as_ptr(), std::ptr::null_mut(), 0), 0);
        assert_eq!(sys::nng_dial(d, url.as_ptr(), std::ptr::null_mut(), 0), 0);
    }
    (l, d)
}

/// Messages per second from the first received to the last, `count` messages of `payload`.
fn one_way(url: &str, payload: Vec<u8>, count: usize, copy: bool) -> f64 {
    let (pull, push) = connected(url, sys::nng_pull0_open, sys::nng_push0_open);
    let sender = std::thread::spawn(move || {
        for _ in 0..count + 1 {
            send_bytes(push, &payload, copy);
        }
        push
    });
    recv_len(pull); // the clock starts at the first message
    let start = Instant::now();
    for _ in 0..count {
        recv_len(pull);
    }
    let rate = count as f64 / start.elapsed().as_secs_f64();
    let push = sender.join().unwrap();
    // SAFETY: closing sockets we own.
    unsafe {
        sys::nng_close(push);
        sys::nng_close(pull);
    }
    rate
}

/// Round-trip times in microseconds, sorted.
fn round_trips(url: &str, count: usize) -> Vec<f64> {
    let (rep, req) = connected(url, sys::nng_rep0_open, sys::nng_req0_open);
    let server = std::thread::spawn(move || {
        for _ in 0..count + 10 {
            let n = recv_len(rep);
            send_bytes(rep, &vec![0; n], true);
        }
        rep
    });
    let payload = vec![7u8; 64];
    let mut times = Vec::with_capacity(count);
    for i in 0..count + 10 {
        let start = Instant::now();
        send_bytes(req, &payload, true);
        recv_len(req);
        if i >= 10 {
            times.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    let rep = server.join().unwrap();
    // SAFETY: closing sockets we own.
    unsafe {
        sys::nng_close(req);
        sys::nng_close(rep);
    }
    times.sort_by(f64::total_cmp);
    times
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let transport = args.first().map(String::as_str).unwrap_or("inproc");
    if transport == "memcpy" {
        let mib: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(16);
        println!(
            "raw memcpy {mib}MiB {:.2} GB/s",
            fresh_page_memcpy(mib << 20)
        );
        return;
    }
    let base = args.get(1).cloned().unwrap_or_else(|| match transport {
        "inproc" => "inproc://raw-bench".into(),
        "ipc" => format!("ipc:///tmp/nml-raw-bench-{}", std::process::id()),
        _ => "tcp://127.0.0.1:25713".into(),
    });
    let url = |n: u32| match transport {
        "tcp" => format!("{}{}", &base[..base.len() - 1], n),
        _ => format!("{base}-{n}"),
    };
    // The small request map of issue 2 as nml packs it (122 bytes with the envelope).
    let small_map = vec![0x5a; 122];
    let count = 20_000;
    println!(
        "raw {transport} one_way_64B {:.0} msg/s",
        one_way(&url(1), vec![1; 64], count, true)
    );
    println!(
        "raw {transport} one_way_map {:.0} msg/s",
        one_way(&url(2), small_map, count, true)
    );
    let mib = 1 << 20;
    for (name, copy) in [("one_way_1MiB_copy", true), ("one_way_1MiB_nn_msg", false)] {
        let rate = one_way(&url(if copy { 3 } else { 4 }), vec![3; mib], 300, copy);
        println!("raw {transport} {name} {:.2} GB/s", rate * mib as f64 / 1e9);
    }
    let rtt = round_trips(&url(5), 5000);
    println!("raw {transport} rtt_median {:.1} us", rtt[rtt.len() / 2]);
    println!(
        "raw {transport} rtt_p99 {:.1} us",
        rtt[rtt.len() * 99 / 100]
    );
}
