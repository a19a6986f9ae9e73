// nml is a Lua module: it leaves the Lua C API to the interpreter that loads it. The fuzz
// targets are that interpreter, so they link Debian's Lua 5.4.
fn main() {
    println!("cargo:rustc-link-lib=lua5.4");
}
