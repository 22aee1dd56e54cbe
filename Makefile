# ostrecon: a plain Makefile. `make` builds, `make test` runs the tests (sanitizer build),
# `make demo` runs the demo. `make SAN=1` builds with AddressSanitizer + UBSan into build/asan.

VERSION  := 0.1.0
CC       ?= cc
PKGS     := libpff jansson yajl libcurl libxml-2.0 zlib libdeflate libcrypto
SAN      ?= 0

ifeq ($(SAN),1)
BUILD    ?= build/asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT      := -O1
else
BUILD    ?= build
SANFLAGS :=
OPT      := -O2
endif

WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter -Wvla -Wno-format-truncation
CFLAGS   += -std=c11 -D_GNU_SOURCE -g $(OPT) $(WARN) $(SANFLAGS) -MMD -MP \
            -DOSTRECON_VERSION='"$(VERSION)"' -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS  += $(SANFLAGS)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcsv -lresolv -lm -lpthread

# The program: every module under src/, the command line front end in src/cli.
SRC      := $(wildcard src/*/*.c)
OBJ      := $(SRC:%.c=$(BUILD)/%.o)
LIBOBJ   := $(filter-out $(BUILD)/src/cli/%,$(OBJ))

# Unit tests: one cmocka program per test/unit/test_*.c, linked with the modules.
UNIT_SRC := $(wildcard test/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/%)

TOOLS    :=
.DEFAULT_GOAL := all
-include $(wildcard tools/*/tool.mk)

.PHONY: all test check demo deps clean bench fuzz
all: $(BUILD)/ostrecon $(TOOLS)

$(BUILD)/ostrecon: $(OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/test/%: test/unit/%.c $(LIBOBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIBOBJ) $(LDFLAGS) $(LDLIBS) -lcmocka

deps:
	@sh scripts/deps.sh

# The tests run against the sanitizer build, so a memory error or undefined behaviour fails them.
test check: deps
	@$(MAKE) --no-print-directory SAN=1 all unit
	@BUILD=build/asan bash test/run

unit: $(UNIT_BIN)

demo: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@sh bench/run.sh

clean:
	rm -rf build

# Fuzzing (fuzz/fuzz.mk, docs/SECURITY.md): libFuzzer targets built with clang into build/fuzz.
# `make fuzz FUZZ_SECONDS=600` runs each target that long; `make fuzz-ci` is CI's bounded run.
FUZZ_SECONDS    ?= 300
FUZZ_CI_SECONDS ?= 45
.PHONY: fuzz-build fuzz-ci
fuzz-build:
	@$(MAKE) --no-print-directory -f fuzz/fuzz.mk fuzz-build
fuzz: fuzz-build all
	@sh fuzz/run.sh $(FUZZ_SECONDS)
fuzz-ci: fuzz-build all
	@sh fuzz/run.sh $(FUZZ_CI_SECONDS)

-include $(OBJ:.o=.d) $(UNIT_BIN:=.d)
