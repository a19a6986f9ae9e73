//! Time for scripts: `nml.clock()`, `nml.time()` and `nml.sleep(ms)`. Lua itself has only CPU time and
//! whole seconds, and no way to wait without busy looping.

use crate::error::{bad_argument, Error, Result};
use crate::lua::{LuaFn, Returns, Stack};

crate::lua_functions! {
    clock => clock_impl;
    time => time_impl;
    sleep => sleep_impl;
}

/// The functions of this file, as `nml.<name>`.
pub const FUNCTIONS: &[(&str, LuaFn)] = &[("clock", clock), ("time", time), ("sleep", sleep)];

/// `nml.clock() -> seconds`: a monotonic clock with sub-microsecond resolution, for timeouts in
/// poll loops and for measuring.
fn clock_impl(s: &Stack) -> Returns {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let start = START.get_or_init(std::time::Instant::now);
    s.push_float(start.elapsed().as_secs_f64());
    Ok(1)
}

/// `nml.time() -> seconds`: the wall clock, seconds since 1970 with the fraction (`os.time()`
/// has whole seconds), for timestamps; it jumps when the system clock is set.
fn time_impl(s: &Stack) -> Returns {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    s.push_float(since_epoch.as_secs_f64());
    Ok(1)
}

/// `nml.sleep(ms) [-> nil, msg, "interrupted"]`: blocks the calling thread for `ms`
/// milliseconds (0 yields the processor); Ctrl-C ends it early.
fn sleep_impl(s: &Stack) -> Returns {
    let ms = milliseconds(s, 1)?;
    if ms == 0 {
        std::thread::yield_now();
        return Ok(0);
    }
    let until = std::time::Instant::now() + std::time::Duration::from_millis(ms);
    loop {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(0);
        }
        let slice = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        if let Err(e) = crate::nng::poll_readable(&[], slice) {
            let code = match e.kind() {
                std::io::ErrorKind::Interrupted => "interrupted",
                _ => "invalid",
            };
            return Err(Error::returned(code, format!("sleep: {e}")));
        }
    }
}

fn milliseconds(s: &Stack, idx: i32) -> Result<u64> {
    match s.to_f64(idx) {
        Some(ms) if ms.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&ms) => Ok(ms as u64),
        _ => Err(bad_argument(
            "sleep",
            idx as usize,
            "milliseconds expected: a whole number from 0 to 2^32 - 1",
        )),
    }
}
