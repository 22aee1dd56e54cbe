# fuzz.mk: the libFuzzer targets (clang), built into build/fuzz. Used through the top Makefile:
#   make fuzz-build                 build the targets
#   make fuzz [FUZZ_SECONDS=600]    build, make the seed corpora, run each target for FUZZ_SECONDS
#   make fuzz-ci                    the bounded run of CI (45 s per target)
# Targets: fuzz_ost, fuzz_ews_parse, fuzz_snapshot, fuzz_fixture, fuzz_manifest (fuzz/run.sh seeds them).
# Only the code under test is instrumented (libpff, libxml2 and jansson are the system's).
FUZZ_CC    ?= clang
FUZZ_BUILD ?= build/fuzz
PKGS       := libpff jansson libcurl libxml-2.0 zlib libdeflate libcrypto liburing
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-unused-parameter $(FUZZ_SAN) \
               -fsanitize=fuzzer-no-link -DOSTRECON_VERSION='"fuzz"' -Isrc -Itools \
               $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_LIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lresolv -lm -lpthread

FUZZ_LIB_SRC := $(wildcard src/core/*.c src/ost/*.c src/pull/*.c src/ews/*.c src/diff/*.c)
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_BATCH_OBJ := $(FUZZ_BUILD)/src/batch/manifest.o
FUZZ_FX_SRC  := $(wildcard tools/fixture/*.c)
FUZZ_FX_OBJ  := $(FUZZ_FX_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_TARGETS := $(patsubst fuzz/%.c,$(FUZZ_BUILD)/%,$(wildcard fuzz/fuzz_*.c))

.PHONY: fuzz-build
.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZ_FX_OBJ) $(FUZZ_BATCH_OBJ)
fuzz-build: $(FUZZ_TARGETS)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/fuzz_fixture: fuzz/fuzz_fixture.c $(FUZZ_FX_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -ljansson -lz -lm

$(FUZZ_BUILD)/fuzz_manifest: fuzz/fuzz_manifest.c fuzz/fuzz_util.h $(FUZZ_BATCH_OBJ) $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BATCH_OBJ) $(FUZZ_LIB_OBJ) $(FUZZ_LIBS) -lcsv

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_util.h $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJ) $(FUZZ_LIBS)

-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_FX_OBJ:.o=.d) $(FUZZ_BATCH_OBJ:.o=.d)

# Coverage of the corpora (make -f fuzz/fuzz.mk fuzz-coverage, after a fuzz run): the targets
# built with clang's source-based coverage into build/fuzz-cov, each run once over its corpus.
.PHONY: fuzz-coverage
fuzz-coverage:
	@$(MAKE) --no-print-directory -f fuzz/fuzz.mk FUZZ_BUILD=build/fuzz-cov \
		FUZZ_SAN="-fprofile-instr-generate -fcoverage-mapping" fuzz-build >/dev/null
	@sh fuzz/coverage.sh
