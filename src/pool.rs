//! `nml.shm_pool`: a fixed set of shared buffers (the manual's "Shared buffers"), lent one at a
//! time and lent again only once no one holds it: the message it was lent as is freed or
//! collected, and every receiver it was sent to has let go of its view.

use std::cell::RefCell;
use std::ffi::{c_int, CStr};
use std::rc::Rc;

use crate::error::{bad_argument, code, Error, Result};
use crate::lua::{Kind, LuaFn, Number, Returns, Stack};
use crate::message::{MsgBox, PoolHome};
use crate::shm::{Control, Segment};

pub const METATABLE: &CStr = c"nml.shm_pool";

pub struct PoolBox {
    /// The segments not lent now.
    home: PoolHome,
    /// Every segment's control page, to count what receivers hold.
    controls: Vec<Rc<Control>>,
    size: usize,
    /// The process that made it: a forked child shares its memory but not its bookkeeping.
    made_by: u32,
}

crate::lua_functions! {
    shm_pool => new_impl;
    take => take_impl;
    available => available_impl;
    describe => describe_impl;
}

pub const FUNCTIONS: &[(&str, LuaFn)] = &[("shm_pool", shm_pool)];
pub const METHODS: &[(&str, LuaFn)] = &[("take", take), ("available", available)];
pub const METAMETHODS: &[(&str, LuaFn)] = &[("__tostring", describe)];

fn check<'a>(s: &'a Stack, idx: c_int, func: &str) -> Result<&'a PoolBox> {
    crate::args::check_udata(s, idx, METATABLE, func, "nml shm_pool")
}

/// A whole number field of the options at 1, required.
fn count_field(s: &Stack, opts: crate::lua::Table, key: &str) -> Result<usize> {
    let n = match (s.raw_get_field(opts, key), s.to_number(-1)) {
        (Kind::Number, Number::Int(n)) if n > 0 => n as usize,
        _ => {
            return Err(bad_argument(
                "shm_pool",
                1,
                format!("{key} must be a whole number above 0"),
            ))
        }
    };
    s.pop(1);
    Ok(n)
}

/// `nml.shm_pool{size = bytes, count = n} -> pool | nil, err, code`.
fn new_impl(s: &Stack) -> Returns {
    let Some(opts) = crate::args::options(s, 1, "shm_pool", &["size", "count"])? else {
        return Err(bad_argument(
            "shm_pool",
            1,
            "{size = bytes, count = n} expected",
        ));
    };
    let size = count_field(s, opts, "size")?;
    let count = count_field(s, opts, "count")?;
    let mut segments = Vec::with_capacity(count);
    for _ in 0..count {
        segments.push(Segment::create(size).map_err(|e| {
            Error::returned(
                code::NOMEM,
                format!("cannot make {count} shared buffers of {size} bytes: {e}"),
            )
        })?);
    }
    let controls = segments.iter().map(Segment::control).collect();
    s.push_udata(
        PoolBox {
            home: Rc::new(RefCell::new(segments)),
            controls,
            size,
            made_by: std::process::id(),
        },
        METATABLE,
    )?;
    Ok(1)
}

/// `pool:take() -> buffer | nil, err, "again"`: a buffer no one holds, lent as an nml.msg
/// until it is freed or collected.
fn take_impl(s: &Stack) -> Returns {
    let pool = check(s, 1, "take")?;
    if pool.made_by != std::process::id() {
        // Both processes would lend the same buffers: the memory is shared, the free list not.
        return Err(Error::raise(
            "take: this pool was made by the process this one was forked from, which lends the \
             same buffers: make pools after the fork, in the process that uses them",
        ));
    }
    // The free list is let go of before the message is made: making it may run the collector,
    // which brings other lent buffers home.
    let segment = {
        let mut free = pool.home.try_borrow_mut().map_err(|_| busy())?;
        // Lent under a new token, so that a reference to what it held before no longer opens.
        let unheld = free.iter_mut().position(Segment::renew);
        unheld.map(|i| free.swap_remove(i))
    };
    let Some(segment) = segment else {
        return Err(Error::returned(code::AGAIN, all_in_use(pool)));
    };
    MsgBox::push_mapped(s, segment, Some(&pool.home))?;
    Ok(1)
}

/// Why `take` found nothing: how many buffers are lent here, and which receiving processes
/// hold the others (the first few, by pid).
fn all_in_use(pool: &PoolBox) -> String {
    let held = pool.controls.iter().filter(|c| c.is_held()).count();
    let mut by_pid: Vec<(u32, u32)> = Vec::new();
    for (pid, views) in pool.controls.iter().flat_map(|c| c.holders()) {
        match by_pid.iter_mut().find(|(p, _)| *p == pid) {
            Some(entry) => entry.1 += views,
            None => by_pid.push((pid, views)),
        }
    }
    let named: Vec<String> = (by_pid.iter().take(8))
        .map(|(pid, views)| format!("pid {pid}: {views}"))
        .collect();
    let who = match named.is_empty() {
        true => String::new(),
        false => format!("; views open by {}", named.join(", ")),
    };
    let unopened = pool.controls.iter().filter(|c| c.has_in_flight()).count();
    let unopened = match unopened {
        0 => String::new(),
        n => format!(", {n} of them by references sent and not opened"),
    };
    format!(
        "every buffer of the pool is in use ({} lent here, {held} held by receivers{unopened}{who}): \
         a receiver gives a buffer back when it frees its view or the view is collected; a \
         reference that is never opened (lost, refused, or received without share) keeps its \
         buffer for as long as this process lives",
        pool.controls.len() - pool.home.borrow().len()
    )
}

/// `pool:available() -> n`: buffers `take` could lend now.
fn available_impl(s: &Stack) -> Returns {
    let pool = check(s, 1, "available")?;
    let free = pool.home.try_borrow().map_err(|_| busy())?;
    let n = free.iter().filter(|seg| !seg.control().is_held()).count();
    s.push_int(n as i64);
    Ok(1)
}

fn describe_impl(s: &Stack) -> Returns {
    let pool = check(s, 1, "tostring")?;
    let text = format!(
        "nml.shm_pool ({} buffers of {} bytes)",
        pool.controls.len(),
        pool.size
    );
    s.push_str(&text);
    Ok(1)
}

fn busy() -> Error {
    Error::raise("nml.shm_pool: used again while it is lending a buffer")
}
