# ostrecon: a plain Makefile. `make` builds, `make test` runs the tests (sanitizer build),
# `make demo` runs the demo. `make SAN=1` builds with AddressSanitizer + UBSan into build/asan.
# `make install` (PREFIX, DESTDIR) installs the program, its man pages, shell completions, docs
# and JSON schemas; `make uninstall` removes them; `make deb` builds the Debian package.

VERSION  := 0.1.0
CC       ?= cc
PKGS     := libpff jansson yajl libcurl libxml-2.0 zlib libdeflate libcrypto liburing
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

.PHONY: all test check demo deps clean bench fuzz man install uninstall deb test-package FORCE
all: $(BUILD)/ostrecon $(TOOLS)

$(BUILD)/ostrecon: $(OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

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

# Installation. PREFIX=/usr puts the zsh completion where Debian's zsh looks for packages' ones.
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
DATADIR     ?= $(PREFIX)/share
MANDIR      ?= $(DATADIR)/man
DOCDIR      ?= $(DATADIR)/doc/ostrecon
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ifeq ($(PREFIX),/usr)
ZSHCOMPDIR  ?= $(DATADIR)/zsh/vendor-completions
else
ZSHCOMPDIR  ?= $(DATADIR)/zsh/site-functions
endif
INSTALL     ?= install

# Man pages: hand-written roff in man/, the options that commands share in man/include/ (merged
# in with soelim, from groff-base, before the @VARIABLE@s are replaced: fragments may hold them
# too). The test test/cli/t_man.sh keeps them in step with --help.
MAN_SRC   := $(wildcard man/*.1.in)
MAN_PAGES := $(MAN_SRC:man/%.in=$(BUILD)/man/%)
MAN_DATE  := $(shell date -u -d @$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null || date +%s)} +%Y-%m-%d 2>/dev/null)
man: $(MAN_PAGES)

# The pages name installed paths: they are made again when PREFIX (DATADIR, DOCDIR) changes.
$(BUILD)/man/paths: FORCE
	@mkdir -p $(dir $@)
	@echo '$(DATADIR) $(DOCDIR)' | cmp -s - $@ || echo '$(DATADIR) $(DOCDIR)' >$@
FORCE:

$(BUILD)/man/%.1: man/%.1.in $(wildcard man/include/*.roff) $(BUILD)/man/paths Makefile
	@mkdir -p $(dir $@)
	soelim -r -I man/include $< | sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@DATE@|$(MAN_DATE)|g' \
	    -e 's|@DATADIR@|$(DATADIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' >$@.$$$$.tmp && mv $@.$$$$.tmp $@

# What users read (developer documents such as the test servers' stay in the source tree).
DOCS      := README.md docs/BATCH.md docs/REPORT.md docs/SNAPSHOT.md docs/GRAPH.md docs/SECURITY.md \
             docs/QUIRKS.md
EXAMPLES  := $(wildcard docs/examples/*)
SCHEMAS   := $(wildcard docs/*.schema.json)

install: $(BUILD)/ostrecon man
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DATADIR)/ostrecon \
	    $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	$(INSTALL) -m 755 $(BUILD)/ostrecon $(DESTDIR)$(BINDIR)/ostrecon
	$(INSTALL) -m 644 $(MAN_PAGES) $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 644 $(SCHEMAS) $(DESTDIR)$(DATADIR)/ostrecon/
	$(INSTALL) -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/
	$(INSTALL) -m 644 completions/ostrecon.bash $(DESTDIR)$(BASHCOMPDIR)/ostrecon
	$(INSTALL) -m 644 completions/_ostrecon $(DESTDIR)$(ZSHCOMPDIR)/_ostrecon

# Only the files install put there (a DOCDIR or DATADIR given by hand may hold others), then the
# folders of ours that are left empty.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ostrecon $(DESTDIR)$(BASHCOMPDIR)/ostrecon $(DESTDIR)$(ZSHCOMPDIR)/_ostrecon
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN_PAGES)))
	rm -f $(addprefix $(DESTDIR)$(DATADIR)/ostrecon/,$(notdir $(SCHEMAS)))
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS))) $(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(notdir $(EXAMPLES)))
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) $(DESTDIR)$(DATADIR)/ostrecon 2>/dev/null

# The Debian package (debian/), built from a copy of the tree so that `debian/rules clean` does not
# empty this build/; the .deb and its build log land in build/deb/. `make test-package` also checks
# it with lintian and installs it into a fresh Debian root (test/package/t_package.sh).
deb:
	@sh scripts/deps.sh package
	@sh scripts/build-deb.sh build/deb
test-package:
	@sh scripts/deps.sh package
	@$(MAKE) --no-print-directory all
	@OSTRECON_PACKAGE_TEST=1 sh test/package/t_package.sh

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
