//! The ceiling for benches/messaging.lua: the same tests through raw NNG from Rust, against the
//! same nng-sys, allocating an `nng_msg` per message. Each figure is measured twice:
//!
//! - `raw`: laid out as nml's bench must be. Over ipc and tcp the other side is a second
//!   process (this binary run as `peer`); over inproc one thread sends a batch and then
//!   receives it. This is the figure nml is compared with: the difference is nml's own cost.
//! - `raw-threads`: sender (or echo server) and receiver on two threads of one process, the
//!   layout a Rust or C program would choose, which a Lua program cannot.
//!
//! Prints one line per figure: `raw|raw-threads <transport> <test> <value> <unit>`.
//! Usage: cargo bench --bench raw_nng -- <transport> [<part of a test's name>]
//!        cargo bench --bench raw_nng -- memcpy <MiB>   (the fresh-page copy rate, for copies.lua)
//!        raw_nng peer <test> <url> <n>                 (the second process, started by the above)
//!        cargo bench --bench raw_nng -- latency <bytes> <rounds>
//!            (the anchor of benches/shm.lua: one-way latency of a <bytes> message copied into a
//!            fresh nng_msg, over ipc between two processes, one message in flight; prints
//!            `shm raw <bytes> <median µs> <p99 µs> <GB/s> sender <x> receiver <y>`)
//!        raw_nng latency-peer <url> <bytes> <rounds>       (its sender)
//!        cargo bench --bench raw_nng -- clients <url> <n> <seconds>
//!            (n req clients, one thread each, against the server of benches/contexts.*: prints
//!            `clients <n> <requests/s> <median µs> <p99 µs>`)

use std::ffi::CString;
use std::process::{Child, Command};
use std::time::Instant;

use nng_sys as sys;

const MIB: usize = 1 << 20;

/// One of the one-way tests: the message sent and how many are timed. As in messaging.lua,
/// the receiver starts the clock after the first `warmup()` messages.
#[derive(Clone, Copy)]
struct Test {
    name: &'static str,
    size: usize,
    /// false: the message is allocated and sent as it is (nml.allocmsg with NN_MSG).
    copy: bool,
    count: usize,
}

impl Test {
    /// The messages timed: a hundredth under BENCH_QUICK (benches/run's smoke, in make test).
    fn count(&self) -> usize {
        self.count / quick_divisor()
    }

    fn warmup(&self) -> usize {
        self.count() / 20
    }
}

/// 100 when BENCH_QUICK is set (every test once at its smallest, to show the bench runs), else 1.
fn quick_divisor() -> usize {
    match std::env::var_os("BENCH_QUICK") {
        Some(_) => 100,
        None => 1,
    }
}

const TESTS: [Test; 4] = [
    Test {
        name: "one_way_64B",
        size: 64,
        copy: true,
        count: 60_000,
    },
    // The small request map of the codec bench as nml packs it (122 bytes with the envelope).
    Test {
        name: "one_way_map",
        size: 122,
        copy: true,
        count: 60_000,
    },
    Test {
        name: "one_way_1MiB_copy",
        size: MIB,
        copy: true,
        count: 2_000,
    },
    Test {
        name: "one_way_1MiB_nn_msg",
        size: MIB,
        copy: false,
        count: 2_000,
    },
];
const ROUND_TRIPS: usize = 5_000;

fn round_trip_count() -> usize {
    ROUND_TRIPS / quick_divisor()
}
const RTT_WARMUP: usize = 10;

type Opener = unsafe extern "C" fn(*mut sys::nng_socket) -> i32;

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

fn set_buffers(s: sys::nng_socket, depth: i32) {
    // SAFETY: plain option setters on a socket we own.
    unsafe {
        sys::nng_socket_set_int(s, sys::NNG_OPT_SENDBUF.as_ptr() as *const _, depth);
        sys::nng_socket_set_int(s, sys::NNG_OPT_RECVBUF.as_ptr() as *const _, depth);
    }
}

fn listen(s: sys::nng_socket, url: &str) {
    let url = CString::new(url).unwrap();
    // SAFETY: a NUL-terminated url on a socket we own.
    assert_eq!(
        unsafe { sys::nng_listen(s, url.as_ptr(), std::ptr::null_mut(), 0) },
        0
    );
}

fn dial(s: sys::nng_socket, url: &str) {
    let url = CString::new(url).unwrap();
    // SAFETY: a NUL-terminated url on a socket we own.
    assert_eq!(
        unsafe { sys::nng_dial(s, url.as_ptr(), std::ptr::null_mut(), 0) },
        0
    );
}

fn close(s: sys::nng_socket) {
    // SAFETY: closing a socket we own, once.
    unsafe { sys::nng_socket_close(s) };
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

/// The url on which a peer process waits to be told the receiver has everything (closing a
/// push socket earlier would drop what it still queues), as messaging.lua's `done_url`.
fn done_url(url: &str) -> String {
    match url.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => {
            format!("{host}:{}", port.parse::<u16>().unwrap() + 50)
        }
        _ => format!("{url}-done"),
    }
}

fn spawn_peer(test: &str, url: &str, n: usize) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["peer", test, url, &n.to_string()])
        .spawn()
        .unwrap()
}

/// The second process: sends `n` messages of a test, or echoes `n` requests.
fn peer(test: &str, url: &str, n: usize) {
    if test == "echo" {
        let rep = socket(sys::nng_rep0_open);
        dial(rep, url);
        for _ in 0..n {
            let len = recv_len(rep);
            send_bytes(rep, &vec![0; len], true);
        }
        // NNG keeps no linger: closing at once could drop the last reply before it is written,
        // and the requester would wait out its 10 s timeout (the bench then failed, 1 run in
        // about 15 at BENCH_QUICK's 60 round trips). Give the reply time to go.
        std::thread::sleep(std::time::Duration::from_millis(200));
        close(rep);
        return;
    }
    let t = TESTS.iter().find(|t| t.name == test).unwrap();
    let push = socket(sys::nng_push0_open);
    dial(push, url);
    let done = socket(sys::nng_pair0_open);
    dial(done, &done_url(url));
    let payload = vec![3u8; t.size];
    for _ in 0..n {
        send_bytes(push, &payload, t.copy);
    }
    recv_len(done);
    close(push);
    close(done);
}

/// Receives `t.warmup()` messages, then times `t.count()` more: messages per second.
fn receive_timed(pull: sys::nng_socket, t: &Test) -> f64 {
    for _ in 0..t.warmup() {
        recv_len(pull);
    }
    let start = Instant::now();
    for _ in 0..t.count() {
        recv_len(pull);
    }
    t.count() as f64 / start.elapsed().as_secs_f64()
}

fn one_way_processes(url: &str, t: &Test) -> f64 {
    let pull = socket(sys::nng_pull0_open);
    listen(pull, url);
    let done = socket(sys::nng_pair0_open);
    listen(done, &done_url(url));
    let mut child = spawn_peer(t.name, url, t.warmup() + t.count());
    let rate = receive_timed(pull, t);
    send_bytes(done, b"done", true);
    assert!(child.wait().unwrap().success());
    close(done);
    close(pull);
    rate
}

fn one_way_threads(url: &str, t: &Test) -> f64 {
    let pull = socket(sys::nng_pull0_open);
    listen(pull, url);
    let push = socket(sys::nng_push0_open);
    dial(push, url);
    let t = *t;
    let sender = std::thread::spawn(move || {
        let payload = vec![3u8; t.size];
        for _ in 0..t.warmup() + t.count() {
            send_bytes(push, &payload, t.copy);
        }
        push
    });
    let rate = receive_timed(pull, &t);
    close(sender.join().unwrap());
    close(pull);
    rate
}

/// inproc as nml's single Lua thread does it: a batch sent, then received (small messages in
/// batches of 4,000, 1 MiB ones one at a time).
fn one_way_one_thread(url: &str, t: &Test) -> f64 {
    let pull = socket(sys::nng_pull0_open);
    set_buffers(pull, 8192);
    listen(pull, url);
    let push = socket(sys::nng_push0_open);
    set_buffers(push, 8192);
    dial(push, url);
    let payload = vec![3u8; t.size];
    let batch = if t.size >= MIB { 1 } else { 4_000 };
    let run = |n: usize| {
        let mut left = n;
        while left > 0 {
            let k = batch.min(left);
            (0..k).for_each(|_| send_bytes(push, &payload, t.copy));
            (0..k).for_each(|_| {
                recv_len(pull);
            });
            left -= k;
        }
    };
    run(t.warmup());
    let start = Instant::now();
    run(t.count());
    let rate = t.count() as f64 / start.elapsed().as_secs_f64();
    close(push);
    close(pull);
    rate
}

/// Round-trip times in microseconds, sorted, of 64-byte requests on `req`; `serve` runs
/// between each request and its reply (to answer it in line, or not at all).
fn time_round_trips(req: sys::nng_socket, mut serve: impl FnMut()) -> Vec<f64> {
    let payload = vec![7u8; 64];
    let mut times = Vec::with_capacity(ROUND_TRIPS);
    for i in 0..round_trip_count() + RTT_WARMUP {
        let start = Instant::now();
        send_bytes(req, &payload, true);
        serve();
        recv_len(req);
        if i >= RTT_WARMUP {
            times.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    times.sort_by(f64::total_cmp);
    times
}

/// Round trips to an echo that `echo` starts serving on a socket dialed to `url`, in a thread
/// or in a process (which it returns).
fn round_trips(url: &str, echo: impl FnOnce(&str, usize) -> Option<Child>) -> Vec<f64> {
    let req = socket(sys::nng_req0_open);
    listen(req, url);
    let child = echo(url, round_trip_count() + RTT_WARMUP);
    let times = time_round_trips(req, || {});
    if let Some(mut child) = child {
        assert!(child.wait().unwrap().success());
    }
    close(req);
    times
}

fn echo_thread(url: &str, n: usize) -> Option<Child> {
    let url = url.to_string();
    std::thread::spawn(move || peer("echo", &url, n));
    None
}

fn echo_process(url: &str, n: usize) -> Option<Child> {
    Some(spawn_peer("echo", url, n))
}

/// inproc over one thread: the echo is served in line, as nml's bench does it.
fn round_trips_one_thread(url: &str) -> Vec<f64> {
    let req = socket(sys::nng_req0_open);
    listen(req, url);
    let rep = socket(sys::nng_rep0_open);
    dial(rep, url);
    let times = time_round_trips(req, || {
        let len = recv_len(rep);
        send_bytes(rep, &vec![0; len], true);
    });
    close(rep);
    close(req);
    times
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

fn print_one_way(who: &str, transport: &str, t: &Test, rate: f64) {
    if t.size >= MIB {
        let gbs = rate * t.size as f64 / 1e9;
        println!("{who} {transport} {} {gbs:.2} GB/s", t.name);
    } else {
        println!("{who} {transport} {} {rate:.0} msg/s", t.name);
    }
}

fn print_round_trips(who: &str, transport: &str, times: &[f64]) {
    println!(
        "{who} {transport} rtt_median {:.1} us",
        times[times.len() / 2]
    );
    println!(
        "{who} {transport} rtt_p99 {:.1} us",
        times[times.len() * 99 / 100]
    );
}

/// Every test whose name contains `only` (all of them for ""), on one transport.
fn bench(transport: &str, only: &str) {
    let url = |n: usize| match transport {
        "inproc" => format!("inproc://raw-bench-{n}"),
        "ipc" => format!("ipc:///tmp/nml-raw-bench-{}-{n}", std::process::id()),
        _ => format!("tcp://127.0.0.1:{}", 25700 + n),
    };
    // RAW_SAME_LAYOUT=1: only nml's layout, for counting what one run costs (`perf stat`).
    let same_layout_only = std::env::var_os("RAW_SAME_LAYOUT").is_some();
    for (i, t) in TESTS.iter().enumerate() {
        if !t.name.contains(only) {
            continue;
        }
        let rate = if transport == "inproc" {
            one_way_one_thread(&url(i), t)
        } else {
            one_way_processes(&url(i), t)
        };
        print_one_way("raw", transport, t, rate);
        if !same_layout_only {
            let rate = one_way_threads(&url(10 + i), t);
            print_one_way("raw-threads", transport, t, rate);
        }
    }
    if !"rtt".contains(only) {
        return;
    }
    let times = if transport == "inproc" {
        round_trips_one_thread(&url(5))
    } else {
        round_trips(&url(5), echo_process)
    };
    print_round_trips("raw", transport, &times);
    if !same_layout_only {
        let times = round_trips(&url(15), echo_thread);
        print_round_trips("raw-threads", transport, &times);
    }
}

fn main() {
    // SAFETY: NNG 2.0 is initialised once, with its defaults, before any other call.
    unsafe { sys::nng_init(std::ptr::null()) };
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    match arg(0) {
        "peer" => peer(arg(1), arg(2), arg(3).parse().unwrap()),
        "memcpy" => {
            let mib: usize = arg(1).parse().unwrap_or(16);
            let rate = fresh_page_memcpy(mib * MIB);
            println!("raw memcpy {mib}MiB {rate:.2} GB/s");
        }
        "clients" => clients(arg(1), arg(2).parse().unwrap(), arg(3).parse().unwrap()),
        "latency" => latency(arg(1).parse().unwrap(), arg(2).parse().unwrap()),
        "latency-peer" => latency_peer(arg(1), arg(2).parse().unwrap(), arg(3).parse().unwrap()),
        "" => bench("inproc", ""),
        transport => bench(transport, arg(1)),
    }
}

/// The request of the contexts bench: the small request map, tagged as nml sends it.
fn tagged_request() -> Vec<u8> {
    let mut out = vec![0xC1, 0x01];
    rmp::encode::write_map_len(&mut out, 3).unwrap();
    rmp::encode::write_str(&mut out, "op").unwrap();
    rmp::encode::write_str(&mut out, "add").unwrap();
    rmp::encode::write_str(&mut out, "id").unwrap();
    rmp::encode::write_uint(&mut out, 1).unwrap();
    rmp::encode::write_str(&mut out, "args").unwrap();
    rmp::encode::write_array_len(&mut out, 2).unwrap();
    rmp::encode::write_uint(&mut out, 2).unwrap();
    rmp::encode::write_uint(&mut out, 3).unwrap();
    out
}

/// `n` req clients, a thread and a socket each, sending requests back to back to `url` for
/// `seconds` (after a fifth of that to warm up); prints the rate and the latencies.
fn clients(url: &str, n: usize, seconds: f64) {
    let request = tagged_request();
    let warmup = std::time::Duration::from_secs_f64(seconds / 5.0);
    let measure = std::time::Duration::from_secs_f64(seconds);
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (url, request) = (url.to_string(), request.clone());
            std::thread::spawn(move || {
                let req = socket(sys::nng_req0_open);
                dial(req, &url);
                let mut times = Vec::new();
                let start = Instant::now();
                while start.elapsed() < warmup + measure {
                    let t = Instant::now();
                    send_bytes(req, &request, true);
                    recv_len(req);
                    if start.elapsed() > warmup {
                        times.push(t.elapsed().as_secs_f64() * 1e6);
                    }
                }
                close(req);
                times
            })
        })
        .collect();
    let mut times: Vec<f64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "clients {n} {:.0} {:.1} {:.1}",
        times.len() as f64 / seconds,
        at(0.5),
        at(0.99)
    );
}

/// Peak resident memory of this process, in bytes (VmHWM).
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .unwrap_or(0)
        * 1024
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// The receiver of the latency test: starts the sender, notes when each message arrives.
fn latency(size: usize, rounds: usize) {
    let url = format!("ipc:///tmp/nml-raw-latency-{}.ipc", std::process::id());
    let pair = socket(sys::nng_pair0_open);
    // SAFETY: a plain option setter on a socket we own: no size limit.
    unsafe { sys::nng_socket_set_size(pair, sys::NNG_OPT_RECVMAXSZ.as_ptr() as *const _, 0) };
    listen(pair, &url);
    let mut peer = Command::new(std::env::current_exe().unwrap())
        .args(["latency-peer", &url, &size.to_string(), &rounds.to_string()])
        .spawn()
        .unwrap();
    let before = peak_rss();
    let mut latencies = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let mut msg = std::ptr::null_mut();
        // SAFETY: a received message is ours to read and free; it holds at least 8 bytes.
        let sent = unsafe {
            assert_eq!(sys::nng_recvmsg(pair, &mut msg, 0), 0);
            let arrived = now_ns();
            let body = std::slice::from_raw_parts(sys::nng_msg_body(msg) as *const u8, 8);
            let sent = u64::from_be_bytes(body.try_into().unwrap());
            sys::nng_msg_free(msg);
            arrived.saturating_sub(sent)
        };
        latencies.push(sent as f64 / 1e3);
        send_bytes(pair, b"next", true);
    }
    let receiver_growth = peak_rss().saturating_sub(before) as f64 / size as f64;
    let mut report = [0u8; 8];
    let mut msg = std::ptr::null_mut();
    // SAFETY: the sender's report: its growth as f64 bits in 8 bytes.
    unsafe {
        assert_eq!(sys::nng_recvmsg(pair, &mut msg, 0), 0);
        report.copy_from_slice(std::slice::from_raw_parts(
            sys::nng_msg_body(msg) as *const u8,
            8,
        ));
        sys::nng_msg_free(msg);
    }
    send_bytes(pair, b"bye", true);
    peer.wait().unwrap();
    close(pair);
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = latencies[latencies.len().div_ceil(2) - 1];
    let p99 = latencies[((latencies.len() as f64 * 0.99).ceil() as usize).max(1) - 1];
    println!(
        "shm raw {size} {median:.0} {p99:.0} {:.2} sender {:.3} receiver {receiver_growth:.3}",
        size as f64 / (median * 1e3),
        f64::from_be_bytes(report)
    );
}

/// The sender of the latency test: one payload, copied into a fresh message each round.
fn latency_peer(url: &str, size: usize, rounds: usize) {
    let pair = socket(sys::nng_pair0_open);
    dial(pair, url);
    let before = peak_rss();
    let mut payload = vec![7u8; size];
    for _ in 0..rounds {
        payload[..8].copy_from_slice(&now_ns().to_be_bytes());
        send_bytes(pair, &payload, true);
        recv_len(pair);
    }
    let growth = peak_rss().saturating_sub(before).saturating_sub(size) as f64 / size as f64;
    send_bytes(pair, &growth.to_be_bytes(), true);
    recv_len(pair);
    close(pair);
}
