use std::env;
use std::path::{Path, PathBuf};

/// Environment variables that control NNG discovery and build
const ENV_VARS: &[&str] = &[
    "NNG_DIR",         // Root installation directory
    "NNG_LIB_DIR",     // Library directory
    "NNG_INCLUDE_DIR", // Header directory
    "NNG_STATIC",      // Force static linking
    "NNG_NO_VENDOR",   // Prohibit vendored build (error if system lib not found)
];

/// How the NNG library was found (determines link directive handling)
#[allow(dead_code)]
enum LibrarySource {
    /// Built from vendored sources
    Vendored,
    /// Found via pkg-config (already emitted link directives)
    PkgConfig,
    /// Found via vcpkg (already emitted link directives)
    Vcpkg,
    /// Found via env vars or platform-specific paths
    Manual,
}

fn main() {
    // 1. Configuration and version detection
    emit_cfg_directives();

    // 2. Check if vendored build is prohibited
    let force_system = force_no_vendor();

    // 3. Find and link library
    // Prefer vendored when feature is enabled (unless NNG_NO_VENDOR is set)
    let (source, includes) = if cfg!(feature = "vendored") && !force_system {
        check_vendored_source();
        build_vendored()
    } else if let Some((source, includes)) = try_find_system_library() {
        (source, includes)
    } else if force_system {
        panic!("NNG_NO_VENDOR is set but no system NNG library was found");
    } else {
        panic!("NNG library not found and vendored feature not enabled");
    };

    // 4. Emit link-lib directive (unless pkg-config/vcpkg already did)
    match source {
        LibrarySource::PkgConfig | LibrarySource::Vcpkg => {
            // pkg-config/vcpkg already emitted cargo:rustc-link-lib=nng
        }
        LibrarySource::Vendored | LibrarySource::Manual => {
            // We need to emit the link-lib directive
            let static_link = should_link_static(matches!(source, LibrarySource::Vendored));
            if static_link {
                println!("cargo:rustc-link-lib=static=nng");
            } else {
                println!("cargo:rustc-link-lib=dylib=nng");
            }
        }
    }
    // nml: NNG's OpenSSL engine on the OpenSSL `build_vendored` built; after nng, so that
    // the linker resolves NNG's references to it.
    if cfg!(feature = "tls-openssl") {
        println!("cargo:rustc-link-lib=static=ssl");
        println!("cargo:rustc-link-lib=static=crypto");
    }
    // if TLS was requested, make sure we also link mbedtls
    if cfg!(feature = "tls") && !cfg!(feature = "tls-openssl") {
        println!("cargo:rustc-link-lib=dylib=mbedcrypto");
        println!("cargo:rustc-link-lib=dylib=mbedtls");
        println!("cargo:rustc-link-lib=dylib=mbedx509");
    }

    // 5. Windows system libraries (needed regardless of how NNG was found)
    if cfg!(target_os = "windows") {
        println!("cargo:rustc-link-lib=advapi32");
        println!("cargo:rustc-link-lib=ws2_32");
        println!("cargo:rustc-link-lib=mswsock");
    }

    // 6. Regenerate bindings if they aren't guaranteed to match pre-generated ones.
    // For example, the system-provided library could be a newer or older version.
    // We don't need to check for `compat` or `supplemental` directly here as they imply `bindgen`.
    if cfg!(feature = "bindgen") || !matches!(source, LibrarySource::Vendored) {
        if !cfg!(feature = "bindgen") {
            println!("cargo:warning=running bindgen when using system-provided NNG");
        }
        generate_bindings(&includes);
    } else {
        let pregenerated = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap())
            .join("src")
            .join("bindings.rs");
        let imported = PathBuf::from(env::var("OUT_DIR").unwrap()).join("bindings.rs");
        std::fs::copy(&pregenerated, imported).expect("unable to update bindings");
    }

    // 7. Export common rerun-if-changed metadata
    // Rerun if build.rs changes
    println!("cargo:rerun-if-changed=build.rs");

    if let LibrarySource::Vendored = source {
        println!("cargo:rerun-if-changed=nng/CMakeLists.txt");
        println!("cargo:rerun-if-changed=nng/include/nng/nng.h");
        // nml: NNG is rebuilt when any of its sources changes, so that a patch takes effect
        // without `cargo clean -p nng-sys` (cargo walks the directory).
        println!("cargo:rerun-if-changed=nng/src");
    }

    if cfg!(feature = "bindgen") {
        println!("cargo:rerun-if-changed=src/wrapper.h");
    }

    // Rerun if any environment variables change
    for var in ENV_VARS {
        println!("cargo:rerun-if-env-changed={}", var);

        // Also check target-prefixed variants
        let target = env::var("TARGET").unwrap();
        let prefixed = format!("{}_{}", target.replace("-", "_").to_uppercase(), var);
        println!("cargo:rerun-if-env-changed={}", prefixed);
    }

    // 8. Finally, discover and export the nng version in use
    println!("cargo:rerun-if-changed=expando.c");
    let mut cc = cc::Build::new();
    cc.includes(&includes);
    let expanded = cc
        .file("expando.c")
        .try_expand()
        .expect("include and expand nng.h header file");
    let expanded = String::from_utf8(expanded).unwrap();
    let mut nng_version = None;
    for line in expanded.lines() {
        let line = line.trim();

        let nng_prefix = "RUST_VERSION_";
        if let Some(version) = line.strip_prefix(nng_prefix) {
            nng_version = Some(parse_version(version));
        }
    }
    let nng_version = nng_version.expect("could not determine nng version from nng.h");
    println!(
        "cargo:version={}.{}.{}",
        nng_version.0, nng_version.1, nng_version.2
    );
    if !matches!(source, LibrarySource::Vendored) {
        println!(
            "cargo:warning=binding to NNG v{}.{}.{}",
            nng_version.0, nng_version.1, nng_version.2
        );
    }
}

fn parse_version(version: &str) -> (u64, u64, u64) {
    println!("version: {version}");
    let mut it = version.split('_');
    let major = it.next().unwrap().parse::<u64>().unwrap();
    let minor = it.next().unwrap().parse::<u64>().unwrap();
    let patch = it.next().unwrap().parse::<u64>().unwrap();
    (major, minor, patch)
}

fn emit_cfg_directives() {
    // Make the cfg directive try_from known to rustc to suppress warnings
    println!("cargo::rustc-check-cfg=cfg(try_from)");
    if version_check::is_min_version("1.34.0").unwrap_or(false) {
        println!("cargo:rustc-cfg=try_from");
    }
}

/// Determine whether to force linking with the system-provided library.
fn force_no_vendor() -> bool {
    get_env_var("NNG_NO_VENDOR")
        .map(|v| v != "0" && v.to_lowercase() != "false")
        .unwrap_or(false)
}

/// Determine whether to use static linking.
///
/// If not set in the environment, returns true for vendored builds and false for system builds.
fn should_link_static(vendored: bool) -> bool {
    get_env_var("NNG_STATIC")
        .map(|v| v != "0" && v.to_lowercase() != "false")
        .unwrap_or(vendored)
}

/// Get environment variable with target-prefixed fallback
///
/// First checks TARGET_PREFIXED_VAR (e.g., X86_64_UNKNOWN_LINUX_GNU_NNG_DIR),
/// then falls back to unprefixed VAR (e.g., NNG_DIR).
fn get_env_var(name: &str) -> Option<String> {
    let target = env::var("TARGET").unwrap();
    let target_prefixed = format!("{}_{}", target.replace("-", "_").to_uppercase(), name);

    env::var(&target_prefixed).or_else(|_| env::var(name)).ok()
}

/// Attempt to find system-installed NNG library.
/// Emits cargo:rustc-link-search and metadata directives directly.
/// Returns the library source if found.
fn try_find_system_library() -> Option<(LibrarySource, Vec<PathBuf>)> {
    // 1. Explicit environment variables (highest priority)
    if let Some(dir) = get_env_var("NNG_DIR") {
        let path = PathBuf::from(&dir);
        if !path.exists() {
            panic!("NNG_DIR points to non-existent directory: {}", dir);
        }
        println!("cargo:warning=using NNG from NNG_DIR: {}", dir);

        let lib_dir = path.join("lib");
        let include_dir = path.join("include");

        println!("cargo:rustc-link-search=native={}", lib_dir.display());
        println!("cargo:include={}", include_dir.display());
        println!("cargo:root={}", path.display());

        return Some((LibrarySource::Manual, vec![include_dir]));
    }

    if let Some(lib_dir) = get_env_var("NNG_LIB_DIR") {
        let inc_dir = get_env_var("NNG_INCLUDE_DIR")
            .expect("NNG_INCLUDE_DIR must be set when NNG_LIB_DIR is set");

        let lib_path = PathBuf::from(&lib_dir);
        let inc_path = PathBuf::from(&inc_dir);

        if !lib_path.exists() {
            panic!("NNG_LIB_DIR points to non-existent directory: {}", lib_dir);
        }
        if !inc_path.exists() {
            panic!(
                "NNG_INCLUDE_DIR points to non-existent directory: {}",
                inc_dir
            );
        }

        println!("cargo:warning=using NNG from NNG_LIB_DIR/NNG_INCLUDE_DIR");
        println!("cargo:rustc-link-search=native={}", lib_path.display());
        println!("cargo:include={}", inc_path.display());

        return Some((LibrarySource::Manual, vec![inc_path]));
    }

    // 2. pkg-config (standard package manager on Unix)
    // See: https://github.com/nanomsg/nng/issues/926
    if let Some((source, inc)) = try_pkg_config() {
        return Some((source, inc));
    }

    // 3. vcpkg (standard package manager on Windows MSVC)
    if let Some((source, inc)) = try_vcpkg() {
        return Some((source, inc));
    }

    // 4. Platform-specific paths (fallback)
    try_platform_specific_paths()
}

fn try_platform_specific_paths() -> Option<(LibrarySource, Vec<PathBuf>)> {
    // Try to compile without explicit paths, letting cc use system defaults.
    // This picks up CFLAGS, LDFLAGS, and other environment configuration.
    if try_compile_probe_without_paths() {
        // Success! The system compiler can find NNG without any help.
        // No need to emit link-search or metadata paths.
        println!("cargo:warning=found NNG via system compiler defaults");
        let mut include_dirs = Vec::new();
        let cflags = get_env_var("CFLAGS").unwrap_or_default();
        let mut cflags = cflags.split_whitespace();
        while let Some(flag) = cflags.next() {
            if let Some(mut path) = flag.strip_prefix("-I") {
                if path.is_empty() {
                    // -I $path
                    let Some(next_path) = cflags.next() else {
                        break;
                    };
                    path = next_path;
                } else {
                    // -I$path
                }
                include_dirs.push(path.into());
            }
        }
        return Some((LibrarySource::Manual, include_dirs));
    }

    // The basic probe failed. On macOS, try Homebrew and MacPorts locations explicitly
    // since users often install via those but don't have CFLAGS/LDFLAGS set.
    let target = env::var("TARGET").unwrap();
    if target.contains("darwin") {
        #[allow(clippy::single_element_loop)]
        for prefix in &["/opt/homebrew", "/opt/local"] {
            let lib_dir = Path::new(prefix).join("lib");
            let include_path = Path::new(prefix).join("include/nng/nng.h");

            if include_path.exists() {
                println!("cargo:warning=found NNG in Homebrew location: {}", prefix);

                let include_dir = Path::new(prefix).join("include");

                println!("cargo:rustc-link-search=native={}", lib_dir.display());
                println!("cargo:include={}", include_dir.display());
                println!("cargo:root={}", prefix);

                return Some((LibrarySource::Manual, vec![include_dir]));
            }
        }
    }

    // No system library found
    None
}

/// Try to compile a probe program using system defaults
/// This respects CFLAGS, LDFLAGS, and other compiler configuration
///
/// NOTE: This only tests compilation (headers found, symbols declared), not linking (symbols
/// defined in library). Testing actual linking is convoluted as it needs platform-specific linker
/// flags and such. In practice, if we can find the headers using system paths, the library paths
/// are probably also set up, so this is good enough.
fn try_compile_probe_without_paths() -> bool {
    cc::Build::new()
        .cargo_metadata(false)
        .file("build-probe.c")
        .try_compile("nng_probe")
        .is_ok()
}

fn try_pkg_config() -> Option<(LibrarySource, Vec<PathBuf>)> {
    #[cfg(unix)]
    {
        if let Ok(lib) = pkg_config::Config::new()
            .atleast_version("2.0.0")
            .probe("nng")
        {
            println!("cargo:warning=found NNG via pkg-config");

            // pkg-config::probe() already emitted cargo:rustc-link-search and
            // cargo:rustc-link-lib directives for ALL found paths.

            return Some((LibrarySource::PkgConfig, lib.include_paths));
        }
    }

    None
}

fn try_vcpkg() -> Option<(LibrarySource, Vec<PathBuf>)> {
    #[cfg(target_env = "msvc")]
    {
        // vcpkg is commonly used on Windows MSVC for C/C++ dependencies
        if let Ok(lib) = vcpkg::find_package("nng") {
            println!("cargo:warning=found NNG via vcpkg");

            // vcpkg::find_package() already emitted cargo:rustc-link-search and
            // cargo:rustc-link-lib directives for ALL found paths.

            return Some((LibrarySource::Vcpkg, lib.include_paths));
        }
    }

    None
}

fn check_vendored_source() {
    let nng_dir = Path::new("nng");

    // In published crates, NNG sources are bundled as regular files
    // If they're missing, it's a bug in the packaging
    if !nng_dir.join("CMakeLists.txt").exists() {
        // If we're in a git repository (development), try to initialize submodule
        if Path::new(".git").exists() {
            use std::process::Command;

            println!(
                "cargo:warning=nng/CMakeLists.txt not found, attempting to initialize submodule"
            );

            if let Ok(status) = Command::new("git")
                .args(["submodule", "update", "--init", "--recursive"])
                .status()
            {
                if status.success() {
                    println!("cargo:warning=initialized nng submodule");
                    return;
                }
            }
        }

        // Either not in git repo or submodule init failed
        panic!("NNG vendored sources not found - this is a bug in the crate packaging");
    }
}

#[cfg(feature = "vendored")]
fn build_vendored() -> (LibrarySource, Vec<PathBuf>) {
    // Determine stats setting
    // WORKAROUND: MSVC doesn't allow empty structs in C (error C2016), and NNG has a bug
    // where nng/src/core/stats.h defines an empty `nni_stat_item` struct when stats are
    // disabled. Until this is fixed upstream, we must always enable stats on MSVC.
    // See: https://github.com/nanomsg/nng/issues/2217
    const STATS: &str = if cfg!(feature = "vendored-stats") || cfg!(target_env = "msvc") {
        "ON"
    } else {
        "OFF"
    };
    const TLS: &str = if cfg!(feature = "tls") { "ON" } else { "OFF" };

    // Determine link type
    // NOTE(flxo): `should_link_static` reads an environment variable, so this can't be `const`.
    let shared_libs = if should_link_static(true) {
        "OFF"
    } else {
        "ON"
    };

    let cmake_defines: &[(&str, &str)] = &[
        ("NNG_TESTS", "OFF"),
        ("NNG_TOOLS", "OFF"),
        ("NNG_ENABLE_STATS", STATS),
        ("NNG_ENABLE_TLS", TLS),
        ("NNG_ENABLE_NNGCAT", "OFF"),
        ("NNG_ENABLE_COVERAGE", "OFF"),
        ("BUILD_SHARED_LIBS", shared_libs),
    ];

    // Run cmake to build nng
    let mut config = cmake::Config::new("nng");

    for (key, value) in cmake_defines {
        config.define(key, value);
    }

    // NOTE: the `cmake` crate sets `CMAKE_INSTALL_PREFIX` to point to `$OUT_DIR/build`, which
    // is what `.build()` returns (into `dst`) below!
    config.build_target("install");

    if cfg!(target_env = "msvc") {
        // Rust always links against MSVC's Release CRT, so if we build nng against the Debug
        // version, we get linker errors. Thus, always build nng in Release to match Rust.
        config.profile("Release");
    }

    // Forward NNG_CMAKE_* environment variables as CMake defines.
    // e.g. NNG_CMAKE_NNG_MAX_POLLER_THREADS=4 → -DNNG_MAX_POLLER_THREADS=4
    for (key, value) in env::vars() {
        let Some(cmake_var) = key.strip_prefix("NNG_CMAKE_") else {
            continue;
        };

        // Variables already controlled by the build script (via cargo features or
        // build logic above) are rejected to prevent silent conflicts with the
        // .define() calls above.
        if cmake_defines.iter().any(|(key, _)| *key == cmake_var) {
            panic!(
                "{} cannot be set via NNG_CMAKE_*; \
                 {} is managed by the build script (use cargo features instead if available)",
                key, cmake_var,
            );
        }

        println!("cargo:rerun-if-env-changed={}", key);
        config.define(cmake_var, &value);
    }

    openssl_engine(&mut config);

    let dst = config.build();

    let lib_dir = if cfg!(target_env = "msvc") {
        // MSVC does not search recursively, so point specifically at the directory
        // that holds nng.lib
        dst.join("build/Release")
    } else {
        let lib64 = dst.join("lib64");
        if lib64.exists() {
            lib64
        } else {
            dst.join("lib")
        }
    };

    let include_dir = dst.join("include");

    println!("cargo:rustc-link-search=native={}", lib_dir.display());
    println!("cargo:include={}", include_dir.display());
    println!("cargo:root={}", dst.display());
    println!("cargo:vendored=1");

    (LibrarySource::Vendored, vec![include_dir])
}

/// nml: with the `tls-openssl` feature, builds OpenSSL 3.5 from source (the `openssl-src`
/// crate) and points NNG's cmake at it, to use its OpenSSL engine instead of mbedTLS.
/// Static and without DSO support, so the library needs nothing from the system at run time;
/// a cdylib exports none of its symbols.
#[cfg(feature = "tls-openssl")]
fn openssl_engine(config: &mut cmake::Config) {
    let root = openssl_installed();
    println!("cargo:rustc-link-search=native={}", root.join("lib").display());
    config
        .define("NNG_TLS_ENGINE", "openssl")
        .define("OPENSSL_ROOT_DIR", &root)
        .define("OPENSSL_USE_STATIC_LIBS", "TRUE");
    // What NNG's TLS layer buffers per connection, each way: 16 KiB by default, one TLS
    // record. 64 KiB moved 1 MiB messages 1.5 times as fast and took 30% less CPU; 256 KiB
    // and 1 MiB measured no better, for 4 and 16 times the memory per connection
    // (docs/performance.md, "TLS").
    for (name, value) in TLS_BUFFERS {
        config.cflag(format!("-D{name}={value}"));
    }
}

/// Where OpenSSL is installed (`include/`, `lib/`), built first if it is not yet.
///
/// `openssl-src` builds into this crate's OUT_DIR and starts again from nothing each time,
/// about 3 minutes on 2 cores, and this build script runs again whenever an NNG source
/// changes, and once per profile (release, bench). So OpenSSL is built once per version and
/// target into the target directory, beside the profiles, and kept there; a file written
/// last marks a finished build. Cargo's lock on the target directory keeps two builds apart.
#[cfg(feature = "tls-openssl")]
fn openssl_installed() -> PathBuf {
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    // OUT_DIR is <target dir>[/<triple>]/<profile>/build/nng-sys-<hash>/out.
    let shared = out_dir
        .ancestors()
        .nth(4)
        .expect("OUT_DIR is inside a target directory");
    let key = format!("openssl-{}-{}", openssl_src::version(), env::var("TARGET").unwrap());
    let dir = shared.join(key);
    let root = dir.join("install");
    let done = dir.join("built");
    if !done.exists() {
        let openssl = openssl_src::Build::new().out_dir(&dir).build();
        assert_eq!(openssl.lib_dir(), root.join("lib"));
        std::fs::write(&done, openssl_src::version()).expect("mark OpenSSL built");
    }
    root
}

#[cfg(feature = "tls-openssl")]
const TLS_BUFFERS: &[(&str, &str)] = &[
    ("NNG_TLS_MAX_SEND_SIZE", "65536"),
    ("NNG_TLS_MAX_RECV_SIZE", "65536"),
];

#[cfg(not(feature = "tls-openssl"))]
fn openssl_engine(_config: &mut cmake::Config) {}

#[cfg(not(feature = "vendored"))]
fn build_vendored() -> (LibrarySource, Vec<PathBuf>) {
    panic!("vendored feature not enabled but vendored build requested");
}

fn generate_bindings(include_dirs: &[PathBuf]) {
    let mut builder = bindgen::Builder::default()
        .header("src/wrapper.h")
        // #[derive(Default)]
        .derive_default(true)
        .allowlist_type("nng_.*")
        .allowlist_function("nng_.*")
        .allowlist_var("NNG_.*")
        .opaque_type("nng_.*_s")
        // Generate `pub const NNG_UNIT_EVENTS` instead of `nng_unit_enum_NNG_UNIT_EVENTS`
        .prepend_enum_name(false)
        // Generate `pub enum ...` instead of multiple `pub const ...`
        .default_enum_style(bindgen::EnumVariation::Rust {
            non_exhaustive: true,
        })
        .constified_enum("nng_flag_enum")
        // NNG_ESYSERR and NNG_ETRANERR are used like flags
        .newtype_enum("nng_err")
        .constified_enum("nng_pipe_ev")
        .use_core()
        .parse_callbacks(Box::new(BindgenCallbacks))
        .size_t_is_usize(true)
        // Layout tests are non-portable; 64-bit tests fail on 32-bit
        // Don't output tests if we're regenerating `src/bindings.rs`
        .layout_tests(!cfg!(feature = "source-update-bindings"));

    // Add include path for nng headers
    for include_dir in include_dirs {
        builder = builder.clang_arg(format!("-I{}", include_dir.display()));
    }

    let out_file = PathBuf::from(env::var("OUT_DIR").unwrap()).join("bindings.rs");
    builder
        .generate()
        .expect("unable to generate bindings")
        .write_to_file(&out_file)
        .expect("couldn't write bindings");

    #[cfg(feature = "source-update-bindings")]
    {
        let bindings = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap())
            .join("src")
            .join("bindings.rs");
        std::fs::copy(&out_file, bindings).expect("unable to update bindings");
    }
}

#[derive(Debug, Default)]
struct BindgenCallbacks;

impl bindgen::callbacks::ParseCallbacks for BindgenCallbacks {
    fn enum_variant_behavior(
        &self,
        _enum_name: Option<&str>,
        original_variant_name: &str,
        _variant_value: bindgen::callbacks::EnumVariantValue,
    ) -> Option<bindgen::callbacks::EnumVariantCustomBehavior> {
        // nng_pipe_ev::NNG_PIPE_EV_NUM is only used in NNG internals to validate range of values.
        // We want to exclude it so it doesn't need to be included for `match` to be exhaustive.
        if original_variant_name == "NNG_PIPE_EV_NUM" {
            Some(bindgen::callbacks::EnumVariantCustomBehavior::Hide)
        } else {
            None
        }
    }
}
