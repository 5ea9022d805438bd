# flushscope build.  Sources are found by directory, so adding a module or a
# test suite needs no edit here:
#   util/ parsers/ store/ detect/ report/ ingest/ live/ replay/ -> libfscore.a
#   libflush/                        -> libflush.a (the engine; no dependency on the rest)
#   cmd/*.c + flushscope.c           -> flushscope
#   tests/check_<module>.c           -> one suite each, run by tests/runner.c
#
# make [all]            build ./flushscope (objects under $(O)), with LTO and PGO
# make LTO= PGO=        the same without link-time and profile-guided optimisation
# make demo             the main job on the bundled sample, ending in a verdict
# make check            build and run every Check suite (check-docs included)
# make check-docs       run the commands README.md and the man pages show
# make check SANITIZE=address,undefined    the same under sanitizers (own build dir)
# make install PREFIX=/usr/local DESTDIR=  binary and man pages
# make bench / make fuzz                   long-running jobs, not part of check

VERSION  := 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   := $(PREFIX)/bin
MANDIR   := $(PREFIX)/share/man

CC       ?= gcc

# Missing Debian packages are installed (as root) or named, before pkg-config
# is asked anything: .ci/deps.sh prints the exact apt-get command otherwise.
ifeq ($(filter clean uninstall,$(MAKECMDGOALS)),)
ifneq ($(shell sh .ci/deps.sh >&2 && echo ok),ok)
$(error missing build dependencies (see the message above))
endif
endif

# libpq (PostgreSQL) is compiled against but not linked: store/pg.c loads it
# when a server is opened, so file-only commands never load it.
PKGS     := libpcre2-8 sqlite3 ncursesw zlib
PKGCFLAGS := $(shell pkg-config --cflags $(PKGS) libpq 2>/dev/null)
PKGLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ldl
CHECKCFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECKLIBS := $(shell pkg-config --libs check 2>/dev/null)

OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# Link-time optimisation: a line's path crosses files at every stage (reader,
# parser, attribution, detector, sink), and inlining across them took 3.6 %
# of the instructions and 6 % of the wall time of an ingest (callgrind and
# side-by-side runs, issue 17).  Then profile-guided optimisation (PGO, see
# below).  Both are gcc's (11 or later), and only in plain builds: sanitizer
# builds need no speed.  `make LTO= PGO=` builds without them.
GCC_MAJOR := $(shell LC_ALL=C $(CC) -v 2>&1 | sed -n 's/^gcc version \([0-9]*\).*/\1/p')
ifeq ($(SANITIZE)$(shell [ "$(GCC_MAJOR)" -ge 11 ] 2>/dev/null && echo gcc),gcc)
LTO      ?= -flto=auto
PGO      ?= 1
endif
ALLCFLAGS := -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) $(CFLAGS) $(LTO) \
	-I. -DFS_VERSION='"$(VERSION)"' $(PKGCFLAGS)
LDFLAGS  += $(LTO)
LDLIBS   := $(PKGLIBS) -lpthread -lm

# Sanitizer builds live in their own object directory so they never mix with
# the normal build.
SANITIZE ?=
ifneq ($(SANITIZE),)
O        ?= build-$(subst $(comma),-,$(SANITIZE))
ALLCFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
else
O        ?= build
endif
comma := ,

# What the objects were built with: when the flags change (LTO=, PGO=, OPT=,
# CFLAGS=), $(O)/flags changes and every object and program is rebuilt,
# instead of linking objects of two configurations (a dry run, make -n,
# leaves it alone).  The directory is part of it: PGO's instrumented objects
# hold the absolute paths their counts go to, so a moved tree rebuilds.
FLAGS_NOW := $(CC) $(ALLCFLAGS) | $(LDFLAGS) | $(LDLIBS) | PGO=$(PGO) | $(abspath $(O))
ifeq ($(filter clean uninstall,$(MAKECMDGOALS))$(findstring n,$(firstword -$(MAKEFLAGS))),)
ifneq ($(FLAGS_NOW),$(file < $(O)/flags))
$(shell mkdir -p $(O))
$(file > $(O)/flags,$(FLAGS_NOW))
endif
endif
$(O)/flags: ;
.DEFAULT_GOAL := all

CORE_DIRS := util parsers store detect report ingest live replay
CORE_SRC  := $(wildcard $(addsuffix /*.c,$(CORE_DIRS)))
FLUSH_SRC := $(wildcard libflush/*.c)
CMD_SRC   := flushscope.c $(wildcard cmd/*.c)
TEST_SRC  := $(wildcard tests/check_*.c)
TEST_AUX  := $(filter-out tests/runner.c $(TEST_SRC),$(wildcard tests/*.c))

CORE_OBJ  := $(CORE_SRC:%.c=$(O)/%.o)
FLUSH_OBJ := $(FLUSH_SRC:%.c=$(O)/%.o)
CMD_OBJ   := $(CMD_SRC:%.c=$(O)/%.o)
TEST_OBJ  := $(TEST_SRC:%.c=$(O)/%.o) $(TEST_AUX:%.c=$(O)/%.o) $(O)/tests/runner.o

# cmd objects go into a library too (all but main), so tests can call commands.
CMDLIB_OBJ := $(filter-out $(O)/flushscope.o,$(CMD_OBJ))

BIN       := flushscope
TESTBIN   := $(O)/tests/check_all
GEN_ERA_A := $(O)/bench/gen_era_a

# Profile-guided optimisation (plain builds; `make PGO=` skips it).  The
# program's objects are built twice: first instrumented, under $(O)/pgo,
# and that flushscope runs .ci/pgo-train.sh (ingest, spins, a .gz, eras
# B, C and Z, a replay); the counts it leaves beside the final objects
# ($(O)/**/*.gcda) make gcc lay them out and inline for the paths that
# ran: on top of LTO, 4 % fewer instructions and 5-7 % less wall time for
# an ingest (issue 17).  A change to any source retrains and rebuilds every
# object, so `make PGO=` is the quicker loop while editing.
ifneq ($(PGO),)
PGO_DIR   := $(O)/pgo
PGO_OBJ   := $(patsubst $(O)/%,$(PGO_DIR)/%,$(CORE_OBJ) $(FLUSH_OBJ) $(CMD_OBJ))
PGO_GEN   := -fprofile-generate -fprofile-update=atomic
PGO_USE   := -fprofile-use -fprofile-partial-training -Wno-missing-profile
PGO_STAMP := $(O)/pgo.stamp
endif

MAN1      := $(wildcard man/*.1)
MAN5      := $(wildcard man/*.5)

.PHONY: demo all check check-docs check-man install uninstall clean bench fuzz check-valgrind \
	check-faults check-long

all: $(BIN)

# The main job on the bundled sample, in a scratch directory of the build:
# ingest -> spins -> replay (virtual, then the real clock) -> the CI verdict.
# Each command says what it shows; the last line is the verdict.
DEMO := $(O)/demo
FS := $(abspath $(BIN))
demo: $(BIN)
	@rm -rf $(DEMO) && mkdir -p $(DEMO)
	@echo '== ingest the sample log into SQLite'
	@cd $(DEMO) && $(FS) ingest -d sample.db $(abspath testdata/sample.log)
	@echo; echo '== the spins it holds (the three longest)'
	@cd $(DEMO) && $(FS) spins -d sample.db --limit 3
	@echo; echo '== its workload replayed by the client at four commits and by two alternatives (virtual clock: exact counts)'
	@cd $(DEMO) && $(FS) replay -d sample.db --policy legacy,2010-10,2011-08,head,pendq,deadline
	@echo; echo '== legacy and deadline on the real clock (flush-thread CPU measured)'
	@cd $(DEMO) && $(FS) replay -d sample.db --policy legacy,deadline --clock real
	@echo; echo '== the CI verdict (virtual time, deterministic)'
	@cd $(DEMO) && $(FS) verify --baseline legacy --candidate deadline sample.db

$(O)/libfscore.a: $(CORE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(O)/libflush.a: $(FLUSH_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(O)/libfscmd.a: $(CMDLIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(O)/flushscope: $(O)/flushscope.o $(O)/libfscmd.a $(O)/libfscore.a $(O)/libflush.a $(O)/flags
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(O)/flags,$^) $(LDLIBS)

# ./flushscope is always the build of the current configuration: after a
# SANITIZE=... run, a plain `make` puts the plain build back even though
# build/flushscope is older than the instrumented copy (hence FORCE and cmp).
# Replaced by rename, so a copy still running (a long replay) is no obstacle.
$(BIN): $(O)/flushscope FORCE
	@cmp -s $< $@ || { cp $< $@.new && mv -f $@.new $@; }

.PHONY: FORCE
FORCE:

$(O)/%.o: %.c $(O)/flags $(PGO_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(PGO_USE) -MMD -MP -c -o $@ $<

ifneq ($(PGO),)
# -dumpbase names the counts after the final object: the instrumented
# $(PGO_DIR)/x.o writes $(O)/x.gcda, where gcc looks when it compiles
# $(O)/x.o, and gcc's ids for static functions (which it derives from that
# name) agree between the two builds.  Built elsewhere under its own name,
# every file warned "Missing counts for called function".
$(PGO_DIR)/%.o: %.c $(O)/flags
	@mkdir -p $(dir $@)
	$(CC) $(filter-out $(LTO),$(ALLCFLAGS)) $(PGO_GEN) -dumpbase $(O)/$*.c -dumpbase-ext .c \
		-MMD -MP -c -o $@ $<

$(PGO_DIR)/flushscope: $(PGO_OBJ)
	$(CC) $(filter-out $(LTO),$(LDFLAGS)) $(PGO_GEN) -o $@ $^ $(LDLIBS)

# One training run's counts; those of an earlier run go first.  Every
# object must have its counts where the final compile looks: gcc would
# otherwise build without them, silently (-Wno-missing-profile).
$(PGO_STAMP): $(PGO_DIR)/flushscope $(GEN_ERA_A) .ci/pgo-train.sh testdata/sample.log
	@find $(O) -name '*.gcda' -delete
	sh .ci/pgo-train.sh $(PGO_DIR)/flushscope $(GEN_ERA_A) $(PGO_DIR)/run
	@n=$$(for o in $(PGO_OBJ:$(PGO_DIR)/%.o=$(O)/%.gcda); do [ -s "$$o" ] && echo; done | wc -l); \
	[ "$$n" -eq $(words $(PGO_OBJ)) ] || { echo "PGO: the training left counts for $$n of \
	$(words $(PGO_OBJ)) objects beside them (make PGO= builds without)" >&2; exit 1; }
	@touch $@
endif

# The runner learns the suite names from the file names: tests/check_foo.c
# must define `Suite *foo_suite(void)`.
$(O)/tests/suites.h: $(TEST_SRC)
	@mkdir -p $(dir $@)
	@for f in $(TEST_SRC); do n=$${f#tests/check_}; n=$${n%.c}; \
		echo "SUITE($$n)"; done > $@.tmp && mv $@.tmp $@

$(O)/tests/runner.o: tests/runner.c $(O)/tests/suites.h $(O)/flags
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(CHECKCFLAGS) -I$(O)/tests -MMD -MP -c -o $@ $<

$(O)/tests/%.o: tests/%.c $(O)/flags
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(CHECKCFLAGS) -MMD -MP -c -o $@ $<

$(TESTBIN): $(TEST_OBJ) $(O)/libfscmd.a $(O)/libfscore.a $(O)/libflush.a $(O)/flags
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(O)/flags,$^) $(CHECKLIBS) $(LDLIBS)

# The benchmark's log generator, which the workload suite checks and the
# profile-guided build trains on.
$(GEN_ERA_A): bench/gen_era_a.c $(O)/flags
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $<

# FS_BIN lets tests run the real binary; FS_TESTDATA finds the fixtures;
# FS_SHARED points at ../shared (spec, seeds) when it is there.
# FS_SRCDIR and FS_SANITIZE let the docs suite run README's `make` lines in
# this tree, in this configuration.  The suite runs beside a throw-away
# PostgreSQL server (tests/pg.sh sets FS_PG, FS_PG_DIR, FS_PG_BIN), so the
# behavioural cases run against both backends.
TESTENV = FS_BIN=$(abspath $(O)/flushscope) FS_TESTDATA=$(abspath testdata) \
	FS_SHARED=$(abspath ../shared) FS_GEN_ERA_A=$(abspath $(GEN_ERA_A)) \
	FS_SRCDIR=$(abspath .) FS_SANITIZE=$(SANITIZE) CK_DEFAULT_TIMEOUT=120
check: $(BIN) $(TESTBIN) $(GEN_ERA_A)
	sh tests/layers.sh
	$(TESTENV) sh tests/pg.sh $(TESTBIN)

# Executable documentation: every command README.md and the man pages'
# EXAMPLES show is run and compared with what they show (tests/docrun.h);
# the man pages are linted with mandoc.  Part of `make check`.
check-docs: $(BIN) $(TESTBIN) $(GEN_ERA_A)
	$(TESTENV) CK_RUN_SUITE=docs sh tests/pg.sh $(TESTBIN)

# Long variants of the hardening suite: 500 SIGKILL-and-resume runs and a
# lock held past the busy timeout; a 50 M-line stream for the peak RSS.
check-faults: $(BIN) $(TESTBIN)
	FS_BIN=$(abspath $(O)/flushscope) FS_TESTDATA=$(abspath testdata) CK_RUN_SUITE=hardening \
	CK_RUN_CASE=faults FS_FAULT_RUNS=$(or $(FS_FAULT_RUNS),500) CK_DEFAULT_TIMEOUT=3600 $(TESTBIN)

check-long: $(BIN) $(TESTBIN)
	FS_BIN=$(abspath $(O)/flushscope) FS_TESTDATA=$(abspath testdata) CK_RUN_SUITE=hardening \
	CK_RUN_CASE=bounds FS_RSS_LINES=$(or $(FS_RSS_LINES),50000000) \
	FS_RSS_BMAPS=$(or $(FS_RSS_BMAPS),1000000) CK_DEFAULT_TIMEOUT=7200 $(TESTBIN)

# The build directory's binary: ./flushscope is whichever build ran last
# (after a SANITIZE=... check it is instrumented, which valgrind cannot run).
check-valgrind: $(O)/flushscope
	valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
		$(O)/flushscope ingest -q -d $(O)/vg.db testdata/sample.log
	rm -f $(O)/vg.db $(O)/vg.db-wal $(O)/vg.db-shm

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/$(BIN)
	$(if $(MAN1),install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/)
	$(if $(MAN5),install -m 644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/)

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/$(BIN)
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5)))

bench: $(BIN)
	@for b in bench/*.sh; do echo "== $$b"; sh $$b || exit 1; done

fuzz:
	@$(MAKE) -f fuzz/Makefile FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60)

clean:
	rm -rf build build-* $(BIN) $(BIN).new

-include $(shell find $(O) -name '*.d' 2>/dev/null)
