# nml: build, test, demo and bench. `make test` and `make demo` install what they need.
#
#   make test                 cargo tests, then specs and examples on Lua 5.4, 5.1, LuaJIT and
#                             OpenResty's LuaJIT, and every bench part once at its smallest
#   make test LUA=5.3         the same for one interpreter (5.1 5.2 5.3 5.4 luajit luajit2)
#   make demo                 the main example
#   make bench                benchmarks, side by side
#   make bench PARTS=messaging   one part of them (codec, messaging, jit, copies, contexts, tls, shm)
#   make build LUA=5.1        build/5.1/nml.so
#   make rock                 binary rocks in build/dist/: Lua 5.4's, and 5.1's (for LuaJIT too);
#                             LUA=5.3 (or 5.2) for another
#   make fuzz                 each fuzz target for FUZZ_SECONDS (60); fails on a crash, leak or hang
#   make lint                 cargo fmt --check, cargo clippy -D warnings, luacheck
#   make check-memory         the specs under valgrind memcheck on Lua 5.4 and 5.1
#   make soak                 req/rep, push/pull and pair over ipc and tcp for SOAK_SECONDS (60)
#   make soak-jit             LuaJIT's two codecs side by side, JIT forced hot, SOAK_JIT_SECONDS (60)
#   make faults               across hosts under faults, as root: every scenario of faults/ over tcp
#                             and TLS, and the table of what happened to each message
#   make faults SCENARIOS=reqrep   one or more of them (faults/scenarios/*.toml)

LUA ?=
# luajit is Debian's LuaJIT package; luajit2 is OpenResty's (the one nginx's Lua module runs
# on), which conflicts with it as a package: tools/deps.sh unpacks it under build/luajit2-root
# instead of installing it, and the same nml.so (LuaJIT's ABI) runs on both.
DEFAULT_LUAS := 5.4 5.1 luajit luajit2
LUAS := $(if $(LUA),$(LUA),$(DEFAULT_LUAS))
DEMO_LUA := $(if $(LUA),$(LUA),5.4)
LUAJIT2 := $(CURDIR)/build/luajit2-root/usr/bin/luajit

CARGO ?= cargo
export CARGO_TERM_QUIET := true
# Specs and examples run `python3`: the venv's, which has msgpack and pynng (tools/deps.sh).
export PATH := $(CURDIR)/build/venv/bin:$(PATH)

# $(call feature,5.1) -> lua51 ; $(call interp,5.1) -> lua5.1 ; $(call headers,5.1) -> its lua.h
feature = $(if $(filter luajit%,$(1)),luajit,lua$(subst .,,$(1)))
interp = $(if $(filter luajit2,$(1)),$(LUAJIT2),$(if $(filter luajit,$(1)),luajit,lua$(1)))
headers = $(if $(filter luajit%,$(1)),/usr/include/luajit-2.1,/usr/include/lua$(1))

.PHONY: all build rock test demo bench bench-smoke lint fuzz check-memory memcheck-one soak soak-jit faults faults-short deps cargo-test specs rockspec-test clean $(addprefix build-,5.1 5.2 5.3 5.4 luajit luajit2) pytest

all: build

deps:
	@tools/deps.sh $(LUAS) +build +python +media +luarocks +events +pki +nginx +faults $(if $(LUA),,+bench)

build: $(addprefix build-,$(LUAS))

$(addprefix build-,5.1 5.2 5.3 5.4 luajit luajit2): build-%:
	$(CARGO) build --release --no-default-features --features $(call feature,$*)
	@mkdir -p build/$*
	@cp target/release/libnml.so build/$*/nml.so.new && mv build/$*/nml.so.new build/$*/nml.so

# Binary rocks: build/dist/<lua>/nml-<version>-1.linux-x86_64.rock, one directory per Lua
# (their files have the same name). Lua 5.1's is LuaJIT's too: both use luarocks' 5.1 tree, so
# it carries the LuaJIT build beside the 5.1 one (src/builds.rs). Installing needs no toolchain.
ROCK_LUAS := $(if $(LUA),$(LUA),5.4 5.1)
rock:
	@tools/deps.sh $(ROCK_LUAS) +build +luarocks
	@for v in $(ROCK_LUAS); do $(MAKE) --no-print-directory rock-$$v || exit 1; done

rock-5.1: build-5.1 build-luajit
	@$(call interp,5.1) tools/make-rock.lua build/5.1/nml.so build/dist/5.1 build/luajit/nml.so

rock-5.2 rock-5.3 rock-5.4: rock-%: build-%
	@$(call interp,$*) tools/make-rock.lua build/$*/nml.so build/dist/$*

cargo-test:
	$(CARGO) test --release 2>&1 | tee build/cargo-test.log

test: deps
	@mkdir -p build && rm -f build/counts
	@$(MAKE) --no-print-directory cargo-test
	@for v in $(LUAS); do $(MAKE) --no-print-directory specs LUA=$$v || exit 1; done
	@$(MAKE) --no-print-directory rockspec-test LUA=$(if $(filter luajit%,$(firstword $(LUAS))),5.1,$(firstword $(LUAS)))
	@$(MAKE) --no-print-directory layers LUA=$(firstword $(LUAS))
	@$(MAKE) --no-print-directory pytest LUA=$(firstword $(LUAS))
	@$(if $(LUA),,$(MAKE) --no-print-directory bench-smoke)
	@$(if $(LUA),,$(MAKE) --no-print-directory faults-short)
	@tools/summary build/counts build/cargo-test.log

# Specs (and, through spec/examples_spec.lua, the examples) for one interpreter.
# (rock_spec packs Lua 5.1's rock, which carries the LuaJIT build too, on each of them.)
ROCK_BUILDS = $(if $(filter 5.1 luajit luajit2,$(LUA)),build-5.1 build-luajit)
# Tags a run leaves out: #nginx runs on OpenResty's LuaJIT (luajit2) only; #once (what
# happens below Lua: TCP timers, NNG's forwarders) on Lua 5.4 only. ("none" keeps the list
# from being empty.)
excluded_tags = $(subst $(space),$(comma),$(strip $(if $(filter luajit2,$(1)),,nginx) $(if $(filter 5.4,$(1)),,once) none))
space := $(empty) $(empty)
comma := ,

specs: $(ROCK_BUILDS) build-$(LUA) build/$(LUA)/cbuf.so build/$(LUA)/memlimit.so build/$(LUA)/sigcount.so build/$(LUA)/forker.so
	@echo "== specs on $(call interp,$(LUA))"
	@NML_LUA=$(call interp,$(LUA)) NML_CPATH="$(CURDIR)/build/$(LUA)/?.so" \
	  busted --lua=$(call interp,$(LUA)) --cpath="$(CURDIR)/build/$(LUA)/?.so" \
	    --lpath="$(CURDIR)/spec/?.lua" --exclude-tags=$(call excluded_tags,$(LUA)) spec 2>&1 | tee build/busted-$(LUA).log; \
	  tools/count-busted build/busted-$(LUA).log >> build/counts
	@$(if $(filter luajit%,$(LUA)),$(MAKE) --no-print-directory codec-specs-rust codec-specs-lua LUA=$(LUA))

# LuaJIT's default codec ("auto") packs with its Lua codec and unpacks with either: the codec's
# specs run once more with each codec alone, so that both pass every one.
CODEC_SPECS := msgpack strings buffers protocol lua_errors jit_codec socket interop stream chunks
codec-specs-%:
	@echo "== codec specs on $(call interp,$(LUA)) with the $* codec"
	@NML_CODEC=$* NML_LUA=$(call interp,$(LUA)) NML_CPATH="$(CURDIR)/build/$(LUA)/?.so" \
	  busted --lua=$(call interp,$(LUA)) --cpath="$(CURDIR)/build/$(LUA)/?.so" \
	    --lpath="$(CURDIR)/spec/?.lua" $(patsubst %,spec/%_spec.lua,$(CODEC_SPECS)) 2>&1 \
	    | tee build/busted-$(LUA)-$*.log; \
	  tools/count-busted build/busted-$(LUA)-$*.log >> build/counts

# The Python companion (python/nml_peer), alone and against nml on this interpreter.
pytest: build-$(LUA)
	@echo "== pytest python/tests on $(call interp,$(LUA))"
	@NML_LUA=$(call interp,$(LUA)) NML_CPATH="$(CURDIR)/build/$(LUA)/?.so" python3 -m pytest -q python/tests \
	  2>&1 | tee build/pytest.log; \
	  passed=$$(sed -n 's/.* \([0-9]*\) passed.*/\1/p;s/^\([0-9]*\) passed.*/\1/p' build/pytest.log | tail -1); \
	  failed=$$(sed -n 's/^\([0-9]*\) failed.*/\1/p;s/.* \([0-9]*\) failed.*/\1/p' build/pytest.log | tail -1); \
	  echo "pytest $${passed:-0} $${failed:-0} 0" >> build/counts; \
	  [ -n "$$passed" ] && [ -z "$$failed" ]

# Every bench part once, at its smallest (benches/run with BENCH_QUICK: one round, a hundredth
# of the messages, the smallest sizes), so that a broken bench fails `make test`; the figures
# mean nothing. Needs the three builds `make test` makes.
bench-smoke:
	@echo "== benches, every part once at its smallest"
	@BENCH_QUICK=1 benches/run > build/bench-smoke.log 2>&1 && echo "benches 1 0 0" >> build/counts \
	  || { tail -30 build/bench-smoke.log; echo "benches 0 1 0" >> build/counts; exit 1; }

# Every crate:: path in src/ points down the layer list of src/lib.rs.
layers:
	@echo "== layers of src/"
	@$(call interp,$(LUA)) tools/layers.lua src && echo "layers 1 0 0" >> build/counts \
	  || { echo "layers 0 1 0" >> build/counts; exit 1; }

# Test-only C modules: plain full userdata buffers (spec/support/cbuf.c), a memory budget
# for the Lua state (spec/support/memlimit.c), a SIGINT handler of a script's own
# (spec/support/sigcount.c), and fork (spec/support/forker.c).
build/%/sigcount.so: spec/support/sigcount.c
	@mkdir -p build/$*
	@cc -O2 -Wall -shared -fPIC -I$(call headers,$*) -o $@ $<

build/%/forker.so: spec/support/forker.c
	@mkdir -p build/$*
	@cc -O2 -Wall -shared -fPIC -I$(call headers,$*) -o $@ $<

build/%/cbuf.so: spec/support/cbuf.c
	@mkdir -p build/$*
	@cc -O2 -Wall -shared -fPIC -I$(call headers,$*) -o $@ $<

build/%/memlimit.so: spec/support/memlimit.c
	@mkdir -p build/$*
	@cc -O2 -Wall -shared -fPIC -I$(call headers,$*) -o $@ $<

# `luarocks make` on the rockspec, into a private tree, then require it from there.
rockspec-test: deps
	@echo "== luarocks make on $(call interp,$(LUA))"
	@rm -rf build/rocks
	@luarocks --lua-version=$(if $(filter luajit%,$(LUA)),5.1,$(LUA)) --tree=build/rocks make --deps-mode=none \
	  rockspec/nml-scm-1.rockspec >build/rocks.log 2>&1 \
	  || { cat build/rocks.log; exit 1; }
	@$(call interp,$(LUA)) tools/check-install.lua
	@echo "luarocks-make 1 0 0" >> build/counts

demo:
	@tools/deps.sh $(DEMO_LUA) +build
	@$(MAKE) --no-print-directory build-$(DEMO_LUA)
	@cd examples && LUA_CPATH="$(CURDIR)/build/$(DEMO_LUA)/?.so;;" $(call interp,$(DEMO_LUA)) demo.lua
	@echo
	@cd examples && LUA_CPATH="$(CURDIR)/build/$(DEMO_LUA)/?.so;;" $(call interp,$(DEMO_LUA)) buffers.lua

bench:
	@tools/deps.sh 5.4 5.1 luajit luajit2 +build +bench +python +media +events +nginx
	@for v in 5.4 5.1 luajit luajit2; do $(MAKE) --no-print-directory build-$$v || exit 1; done
	@benches/run $(PARTS)

lint:
	@tools/deps.sh +lint
	cargo fmt --check
	cargo clippy --release --all-targets -- -D warnings
	cargo clippy --release --no-default-features --features luajit -- -D warnings
	cargo fmt --check --manifest-path examples/rust_peer/Cargo.toml
	cargo clippy --release --manifest-path examples/rust_peer/Cargo.toml --target-dir build/rust_peer -- -D warnings
	luacheck --no-color -q . bin/nml-cat

# cargo fuzz (libFuzzer with AddressSanitizer, nightly) on the MessagePack unpacker and the
# JSON decoder through a real Lua 5.4 state, the envelope parser and the framer. Seeds come
# from fuzz/seeds.lua; the corpora grow in build/fuzz/corpus, crashes land in
# build/fuzz/artifacts (keep each one as a regression spec).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= unpack json envelope framer unpacker
fuzz: build-5.4
	@tools/deps.sh 5.4 +build +fuzz
	@cargo +nightly fuzz build -O
	@LUA_CPATH="$(CURDIR)/build/5.4/?.so;;" lua5.4 fuzz/seeds.lua build/fuzz/seeds
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t build/fuzz/artifacts/$$t; \
	  echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
	  cargo +nightly fuzz run -O $$t build/fuzz/corpus/$$t build/fuzz/seeds/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096 \
	    -artifact_prefix=build/fuzz/artifacts/$$t/ > build/fuzz/$$t.log 2>&1 \
	    || { tail -n 40 build/fuzz/$$t.log; echo "fuzz $$t: FOUND a crash, leak or hang (build/fuzz/artifacts/$$t)"; exit 1; }; \
	  grep -a '^Done' build/fuzz/$$t.log; \
	done

# The busted suite under valgrind memcheck, following every Lua child process the specs start
# (not Python, cargo, nor the Rust peer of examples/rust_peer): 0 errors and 0 definite leaks,
# with no suppressions. Lua 5.4 and 5.1: LuaJIT's own allocator and machine code are opaque to
# memcheck. --run-libc-freeres=no: at exit,
# valgrind's call into glibc's cleanup waits for a resolver lock that NNG's resolver thread
# holds, when a process exits with dials in flight (seen: 1 exit in 4 hung on 5.1).
CHECK_LUAS ?= 5.4 5.1
check-memory:
	@tools/deps.sh $(CHECK_LUAS) +build +python +valgrind +events +pki
	@for v in $(CHECK_LUAS); do $(MAKE) --no-print-directory memcheck-one LUA=$$v || exit 1; done

memcheck-one: build-$(LUA) build/$(LUA)/cbuf.so build/$(LUA)/memlimit.so build/$(LUA)/sigcount.so build/$(LUA)/forker.so
	@rm -rf build/memcheck-$(LUA) && mkdir -p build/memcheck-$(LUA)
	@echo "== specs under valgrind on $(call interp,$(LUA)) (a few minutes)"
	@NML_LUA=$(call interp,$(LUA)) NML_CPATH="$(CURDIR)/build/$(LUA)/?.so" \
	  valgrind --trace-children=yes --trace-children-skip='*python*,*cargo*,*rustc*,*nml-rust-peer*' \
	    --run-libc-freeres=no --leak-check=full \
	    --errors-for-leak-kinds=definite --log-file=$(CURDIR)/build/memcheck-$(LUA)/%p.log \
	  $(call interp,$(LUA)) $$(command -v busted) --lua=$(call interp,$(LUA)) --ignore-lua \
	    --cpath="$(CURDIR)/build/$(LUA)/?.so" --lpath="$(CURDIR)/spec/?.lua" spec \
	    > build/memcheck-$(LUA)/busted.txt 2>&1 || true
	@grep -a -E '^[0-9]+ success' build/memcheck-$(LUA)/busted.txt || true
	@tools/memcheck-verdict build/memcheck-$(LUA)

# Two processes per pattern and transport, small tables and 1 MiB buffers, every payload
# checked; glibc hands freed 1 MiB blocks back at once, so RSS shows what nml holds.
SOAK_SECONDS ?= 60
soak: build-5.4
	@tools/deps.sh 5.4 +build
	@GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576 LUA_CPATH="$(CURDIR)/build/5.4/?.so;;" \
	  lua5.4 tools/soak.lua $(SOAK_SECONDS)

# LuaJIT's two codecs side by side (spec/support/differential.lua: random values with
# metatables and cdata, and mutated bytes, SOAK_JIT_CASES of each) with the JIT forced hot, a
# child process per run and a new seed each, for SOAK_JIT_SECONDS; fails on a crash or a
# difference, and names the seed.
SOAK_JIT_SECONDS ?= 60
SOAK_JIT_CASES ?= 4000
soak-jit: build-luajit
	@tools/deps.sh luajit +build
	@LUA_CPATH="$(CURDIR)/build/luajit/?.so;;" luajit tools/jit-soak.lua $(SOAK_JIT_SECONDS) $(SOAK_JIT_CASES)

# Across hosts under faults (faults/README.md): hosts made of network namespaces, links cut,
# slowed and reset, processes killed and restarted, every message accounted for. Needs root.
# The table goes to build/faults/results.md.
SCENARIOS ?=
faults: build-5.4
	@tools/deps.sh 5.4 +build +python +pki +faults
	@faults/run $(SCENARIOS)

# The short version, in `make test`: two scenarios over tcp, about a minute. Without root (no
# network namespaces) it is skipped, and says so.
faults-short: build-5.4
	@echo "== faults, short: reqrep and fanout over tcp"
	@if [ "$$(id -u)" != 0 ]; then echo "faults: skipped, not root"; echo "faults 0 0 1" >> build/counts; \
	else faults/run --short --transport tcp --out build/faults-short reqrep fanout > build/faults-short.log 2>&1 \
	  && { tail -n 8 build/faults-short.log; echo "faults 1 0 0" >> build/counts; } \
	  || { tail -n 30 build/faults-short.log; echo "faults 0 1 0" >> build/counts; exit 1; }; fi

clean:
	rm -rf build target
