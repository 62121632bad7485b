# spanring - build, test, bench, install.
#
#   make                 build everything into build/
#   make test            install missing Debian packages, build, run the tests
#   make SANITIZE=address,undefined test   (or SANITIZE=thread) sanitizer run
#   make test-concurrent the concurrent tests only (SANITIZE=thread: under TSan)
#   make check-loop      repeat the concurrent tests LOOPS times (default 20)
#   make CC=clang        build with clang (into build/clang)
#   WERROR=1             warnings are errors (CI)
#   make bench           print the BENCH.md table
#   make fuzz-smoke      run every fuzz target briefly (clang, libFuzzer)
#   make demo            trace a small command with `spanring run`
#   make check-cpython   CPython's process/fd regression tests, with and
#                        without the shim: the same results
#   make install PREFIX=/usr/local DESTDIR=
#   make deps            install the Debian packages the project needs
#   make format          rewrite every C source in the style of .clang-format
#   make format-check    list the C sources that differ from it (non-zero exit)
#   make docs            rewrite the READMEs' generated blocks (spanringd's
#                        options from sidecar/config.c, the tools' --help)
#   V=1                  show the command lines

CC ?= cc
CFLAGS ?= -O2 -g
LDFLAGS ?=
PREFIX ?= /usr/local
DESTDIR ?=
SANITIZE ?=
WERROR ?= 0
VERSION := 0.1.0

PKGS := libcurl libcjson liblz4 zlib
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wundef -Wpointer-arith \
	-Wcast-align -Wwrite-strings -Wnull-dereference -Wvla
ifeq ($(WERROR),1)
WARN += -Werror
endif
override CFLAGS += -std=gnu11 -D_GNU_SOURCE -fPIC $(WARN) -I. -MMD -MP \
	-DSR_VERSION='"$(VERSION)"' $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread

# Each compiler and sanitizer builds into a directory of its own:
# build/, build/clang/, build/san-thread/, build/clang/san-address/, ...
IS_CLANG := $(if $(findstring clang,$(notdir $(CC))),1)
BUILD_DIR := build$(if $(IS_CLANG),/clang)
ifeq ($(SANITIZE),)
BUILD ?= $(BUILD_DIR)
else
BUILD ?= $(BUILD_DIR)/san-$(subst $(comma),-,$(SANITIZE))
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
override CFLAGS += $(SAN_FLAGS)
override LDFLAGS += $(SAN_FLAGS)
endif
comma := ,

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Debian packages: what building and testing need, and what bench adds.
DEB_BUILD := gcc make pkg-config libcurl4-openssl-dev libcjson-dev \
	liblz4-dev zlib1g-dev libcmocka-dev
DEB_TEST := curl python3 coreutils procps iproute2 clang libclang-rt-14-dev \
	nodejs libmicrohttpd-dev strace
# npm (the OTLP shape test installs the OpenTelemetry JS SDK with it) is
# its own Debian package, but bundled in some builds of nodejs: installed
# only when no npm command is there.
DEB_TEST_NPM := npm
# valgrind: B9 in instructions; linux-perf: B3's constructor time
# (tests/bench/bench_ctor.sh, uprobes)
DEB_BENCH := liblttng-ust-dev lttng-tools valgrind linux-perf
# CPython's regression modules, run with and without the shim by
# `make check-cpython` (tests/cpython.sh)
DEB_CPYTHON := python3 libpython3.11-testsuite
# clang-format's output changes between versions: the check pins one.
DEB_FORMAT := clang-format-14

COMMON_SRC := $(sort $(wildcard common/*.c))
# What a producer (the shim, a program writing rings itself) links; the
# rest of common/ is the consumer's (the sidecar, the tools, the tests).
COMMON_PRODUCER := $(filter $(addprefix common/,clock.c context.c dec.c ids.c \
	jsonscan.c jsonw.c record.c ring.c ringdir.c siphash.c why.c),$(COMMON_SRC))
COMMON_CONSUMER := $(filter-out $(COMMON_PRODUCER),$(COMMON_SRC))
SHIM_SRC := $(sort $(wildcard shim/*.c))
SIDECAR_SRC := $(sort $(wildcard sidecar/*.c))
DUMP_SRC := $(sort $(wildcard tools/dump/*.c))
RUN_SRC := $(sort $(wildcard tools/run/*.c))
RECV_SRC := $(sort $(wildcard tests/recv/*.c))
TESTLIB_SRC := $(sort $(wildcard tests/lib/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
HELPER_SRC := $(sort $(wildcard tests/progs/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
COMMON_OBJ := $(call obj,$(COMMON_SRC))

TARGETS := $(if $(SHIM_SRC),$(BUILD)/libspanring.so) \
	$(if $(SIDECAR_SRC),$(BUILD)/spanringd) \
	$(if $(DUMP_SRC),$(BUILD)/spanring-dump) \
	$(if $(RUN_SRC),$(BUILD)/spanring)
# The test receiver: built beside the programs (tests and benches run
# $SR_BUILD/spanring-recv), never installed.
RECV_BIN := $(if $(RECV_SRC),$(BUILD)/spanring-recv)
RECV_PKGS := libmicrohttpd
TEST_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRC))
HELPER_BINS := $(patsubst tests/progs/%.c,$(BUILD)/progs/%,$(HELPER_SRC))

.PHONY: all test test-concurrent check-loop bench benches fuzz fuzz-smoke demo install uninstall \
	clean deps deps-bench deps-format tests format format-check check-cpython docs
all: $(TARGETS)

# Keep objects that pattern rules build on the way (test objects).
.SECONDARY:

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The shim: hidden visibility, a version script that exports only the
# interposed symbols and the API, no undefined symbols left. Under TSan the
# shim is built plain: TSan cannot be preloaded into foreign programs.
SHIM_CFLAGS := -fvisibility=hidden
ifeq ($(findstring thread,$(SANITIZE)),thread)
SHIM_CFLAGS += -fno-sanitize=thread
endif
$(BUILD)/obj/shim/%.o: shim/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(SHIM_CFLAGS) -c $< -o $@
$(BUILD)/obj/shim-common/%.o: common/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (shim)")
	$(Q)$(CC) $(CFLAGS) $(SHIM_CFLAGS) -c $< -o $@
# The shim links the producer's part of common/ only (COMMON_PRODUCER):
# the consumer (reader, SIGBUS guard), the codec (LZ4, gzip) and the
# repairing JSON copy are for the sidecar and the tools (COMMON_CONSUMER).
# Each function in a section of its own and --gc-sections drop the
# consumer's half of the modules both sides share (record decoding, the
# uid-<N>/ listing, ring removal): test_shim_symbols checks with nm.
SHIM_COMMON_SRC := $(COMMON_PRODUCER)
SHIM_CFLAGS += -ffunction-sections -fdata-sections
SHIM_OBJ := $(call obj,$(SHIM_SRC)) \
	$(patsubst common/%.c,$(BUILD)/obj/shim-common/%.o,$(SHIM_COMMON_SRC))
$(BUILD)/libspanring.so: $(SHIM_OBJ) shim/libspanring.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared $(LDFLAGS) $(if $(findstring thread,$(SANITIZE)),-fno-sanitize=thread) \
		-Wl,--version-script=shim/libspanring.map -Wl,-z,defs \
		-Wl,-z,now -Wl,--gc-sections -o $@ $(SHIM_OBJ) -ldl -lpthread

$(BUILD)/spanringd: $(call obj,$(SIDECAR_SRC)) $(COMMON_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lm
$(BUILD)/spanring-dump: $(call obj,$(DUMP_SRC)) $(COMMON_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/spanring: $(call obj,$(RUN_SRC)) $(COMMON_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
# The test receiver: libmicrohttpd, and common's codec to decompress.
$(call obj,$(RECV_SRC)): override CFLAGS += \
	$(shell pkg-config --cflags $(RECV_PKGS) 2>/dev/null)
$(BUILD)/spanring-recv: $(call obj,$(RECV_SRC)) $(COMMON_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) \
		$(shell pkg-config --libs $(RECV_PKGS) 2>/dev/null)

# Tests: one binary per tests/unit/test_*.c, linked with the test library
# and common; helper programs (tests/progs) are run under the shim.
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(call obj,$(TESTLIB_SRC)) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka -lm
$(BUILD)/progs/%: $(BUILD)/obj/tests/progs/%.o $(if $(SHIM_SRC),$(BUILD)/libspanring.so)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< -L$(BUILD) -Wl,-rpath,'$$ORIGIN/..' \
		$(if $(SHIM_SRC),-lspanring) -lpthread
# Helper programs that write rings themselves, like the shim does, link
# common/ instead of the shim (they must not depend on it).
RING_PROGS := $(BUILD)/progs/emit
$(RING_PROGS): $(BUILD)/progs/%: $(BUILD)/obj/tests/progs/%.o \
		$(call obj,$(COMMON_PRODUCER))
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lpthread

# The runner's tests stand this in for broken test binaries: plain, not
# instrumented (a sanitizer would turn its SIGSEGV into an exit status).
$(BUILD)/progs/fake_test: tests/progs/fake_test.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) -std=gnu11 -O2 $(WARN) -o $@ $<

# test_tree links the trace tree renderer of `spanring run`.
$(BUILD)/tests/test_tree: $(call obj,tools/run/tree.c)
# test_sidecar_units links spanringd's modules (all but its main).
$(BUILD)/tests/test_sidecar_units: $(call obj,$(filter-out sidecar/main.c,$(SIDECAR_SRC)))
# test_layout too (the spool's and the open-span files' formats).
$(BUILD)/tests/test_layout: $(call obj,$(filter-out sidecar/main.c,$(SIDECAR_SRC)))

tests: $(TARGETS) $(RECV_BIN) $(TEST_BINS) $(HELPER_BINS)

test: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)SR_BUILD=$(BUILD) SR_SANITIZE=$(SANITIZE) tests/run.sh $(BUILD)

# The concurrent tests: several threads or processes at once on one ring
# or one sidecar (threaded producers and consumers, killed and truncated
# rings, the sidecar's drain and export threads against live producers and
# a receiver, following live rings, spanring run's sidecar beside its
# command). The globs are in tests/concurrent.
CONCURRENT := $(shell sed -e 's/\#.*//' tests/concurrent 2>/dev/null)
test-concurrent: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)SR_BUILD=$(BUILD) SR_SANITIZE=$(SANITIZE) tests/run.sh $(BUILD) \
		$(foreach g,$(CONCURRENT),'$(g)')

# Repeats the concurrent tests to hunt races; stops at the first failing
# round.
check-loop: tests
	$(Q)for i in $$(seq 1 $${LOOPS:-20}); do \
		echo "== check-loop round $$i of $${LOOPS:-20}"; \
		SR_BUILD=$(BUILD) SR_SANITIZE=$(SANITIZE) tests/run.sh $(BUILD) \
			$(foreach g,$(CONCURRENT),'$(g)') || exit 1; done

# Fuzzing: clang + libFuzzer, one target per tests/fuzz/fuzz_*.c.
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZ_FLAGS := -std=gnu11 -D_GNU_SOURCE -g -O1 -I. \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# A target may include the modules it fuzzes (tools/run/tree.c, the test
# receiver's endpoint, ...) to reach their static functions.
build/fuzz/%: tests/fuzz/%.c $(COMMON_SRC) $(wildcard tools/dump/*.c) $(SIDECAR_SRC) \
		$(RUN_SRC) $(RECV_SRC)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)clang $(FUZZ_FLAGS) -DSR_FUZZING -o $@ $< $(COMMON_SRC) \
		$(filter-out tools/dump/main.c,$(wildcard tools/dump/*.c)) $(LIBS)
fuzz: $(FUZZ_BINS)
# Targets that may install packages build in a second make, which reads
# pkg-config again once the packages are there.
fuzz-smoke: deps
	$(Q)$(MAKE) --no-print-directory fuzz
	$(Q)for f in $(FUZZ_BINS); do n=$$(basename $$f); \
		mkdir -p build/fuzz/corpus-$$n; \
		echo "  RUN     $$n ($${FUZZ_SECONDS:-20}s)"; \
		timeout -k 5 $$(( $${FUZZ_SECONDS:-20} * 3 + 60 )) \
		$$f -max_total_time=$${FUZZ_SECONDS:-20} -timeout=10 -max_len=65536 \
			build/fuzz/corpus-$$n $$( [ -d tests/fuzz/seeds/$$n ] && echo tests/fuzz/seeds/$$n ) \
			> build/fuzz/$$n.log 2>&1 || { tail -40 build/fuzz/$$n.log; exit 1; }; \
	done; echo "fuzz-smoke: all targets ran clean"

# Benchmarks: one program per tests/bench/bench_*.c, linked with the bench
# library (timing, JSON rows, the LTTng-UST baseline), common, and - only
# for programs that include shim/spanring.h - the shim (it interposes libc:
# linked into a ring-level bench it would trace the bench itself).
BENCH_SRC := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
BENCH_LIB := $(call obj,tests/bench/bench.c tests/bench/lttng_pair.c)
bench_shim = $(if $(and $(SHIM_SRC),$(findstring shim/spanring.h,\
	$(file <tests/bench/$(notdir $(1)).c))),\
	-L$(BUILD) -Wl$(comma)-rpath$(comma)'$$ORIGIN/..' -lspanring)
$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(BENCH_LIB) $(COMMON_OBJ) \
		$(if $(SHIM_SRC),$(BUILD)/libspanring.so)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(BENCH_LIB) $(COMMON_OBJ) \
		$(call bench_shim,$@) $(LIBS) -llttng-ust -ldl -lm
# B3 (bench_startup) preloads an empty library beside the shim's figures.
$(BUILD)/bench/libempty_preload.so: tests/bench/empty_preload.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -fPIC -O2 -o $@ $<
$(BUILD)/bench/bench_startup $(BUILD)/bench/bench_shell: $(BUILD)/bench/libempty_preload.so
benches: $(BENCH_BINS) $(HELPER_BINS) $(RECV_BIN)
bench: deps deps-bench
	$(Q)$(MAKE) --no-print-directory all benches
	$(Q)tests/bench/run.sh $(BUILD)

# One style for every C source, .clang-format's (kernel-like, as common/
# and shim/ are written).
CLANG_FORMAT ?= clang-format-14
FORMAT_SRC = $(sort $(shell find common shim sidecar tools tests \
	-name '*.[ch]' -type f 2>/dev/null))
format: deps-format
	$(Q)$(CLANG_FORMAT) -i --style=file $(FORMAT_SRC)
format-check: deps-format
	$(Q)bad=0; for f in $(FORMAT_SRC); do \
		$(CLANG_FORMAT) --style=file "$$f" | cmp -s - "$$f" || \
			{ echo "$$f"; bad=$$((bad + 1)); }; \
	done; [ $$bad -eq 0 ] || { echo "format-check: $$bad files differ" \
		"from .clang-format (make format rewrites them)"; exit 1; }

docs: $(TARGETS)
	$(Q)tools/docs.sh $(BUILD)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/demo.sh $(BUILD)

deps:
	$(Q)tools/deps.sh $(DEB_BUILD) $(DEB_TEST)
	$(Q)command -v npm >/dev/null || tools/deps.sh $(DEB_TEST_NPM)
deps-bench:
	$(Q)tools/deps.sh $(DEB_BENCH)
deps-format:
	$(Q)tools/deps.sh $(DEB_FORMAT)

# CPython's own process and descriptor tests, same results with the shim.
check-cpython: deps all
	$(Q)tools/deps.sh $(DEB_CPYTHON)
	$(Q)tests/cpython.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
		$(DESTDIR)$(PREFIX)/include
	$(if $(SHIM_SRC),install -m 0755 $(BUILD)/libspanring.so $(DESTDIR)$(PREFIX)/lib/)
	$(if $(SHIM_SRC),install -m 0644 shim/spanring.h $(DESTDIR)$(PREFIX)/include/)
	for t in spanringd spanring-dump spanring; do \
		[ -x $(BUILD)/$$t ] && install -m 0755 $(BUILD)/$$t $(DESTDIR)$(PREFIX)/bin/ || true; done

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libspanring.so $(DESTDIR)$(PREFIX)/include/spanring.h
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,spanringd spanring-dump spanring)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
