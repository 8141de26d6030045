# evlog: PGXS build, plus the project's entry points:
#   make test    install what is missing, build with -Werror, install, run every test layer
#   make demo    the main job on real input (examples/); SCALE=N loads N re-keyed copies
#   make demo-psql / make demo-stop   psql into the demo's instance / stop it
#   make demo-consumer   examples/consumer.py, a consumer group of 3 processes, on the demo's instance
#   make bench   benchmarks against plain PostgreSQL (bench/)
#   make installcheck   the regression tests against your running server
#                (evlog installed, preloaded, a superuser; README "Tests")
#
# pg_config may not exist before `make deps` has installed it, so PGXS is
# included only when it is there, and the entry points re-enter make.

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config

EXTENSION = evlog
MODULE_big = evlog
OBJS = src/evlog.o src/event.o src/chain.o src/sequencer.o src/commit.o src/appendcache.o src/seqstate.o src/bulk.o src/copy.o src/guard.o src/tableguard.o src/objectguard.o src/utility.o \
       src/shmem.o src/registry.o src/fold.o src/logscan.o src/rebuild.o src/contracts.o src/oidcache.o src/subxact.o src/handler.o src/launcher.o src/worker.o src/projworker.o src/workerloop.o \
       src/restore.o src/locks.o src/restorecopy.o src/loadproof.o
# the layering refactor (docs/layers.md)
OBJS += src/projection_rows.o src/head.o src/notify.o
# consumer groups
OBJS += src/consumer.o src/consumer_group.o src/lease.o src/delivery.o src/leasemem.o src/durable.o
# projection versions, snapshots and progress
OBJS += src/version.o src/snapshot.o src/progress.o
# statistics
OBJS += src/stats.o src/slots.o
# followers
OBJS += src/follower.o
DATA = sql/evlog--0.1.0.sql sql/evlog--0.1.0--0.2.0.sql
PG_CFLAGS = -Wall -Werror -Wmissing-prototypes
# no LLVM bitcode: it would need clang, and evlog gains nothing from JIT inlining
override with_llvm = no
# make installcheck runs the tests test/schedule lists (each independent of
# the others), with inputs in test/sql and test/expected; nopreload, which
# needs a server without evlog preloaded, runs with REGRESS=nopreload
REGRESS = $(shell sed -n 's/^test: *//p' test/schedule)
REGRESS_OPTS = --inputdir=test
EXTRA_CLEAN = results regression.diffs regression.out tmp_check tmp_check_iso output_iso log

ifneq ($(wildcard $(PG_CONFIG)),)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
endif

# every object depends on every header (PGXS tracks no header dependencies)
$(OBJS): $(wildcard src/*.h)

.PHONY: deps test demo bench

deps:
	@bash test/deps.sh

test: deps
	$(MAKE) all
	$(MAKE) install
	@bash test/run.sh

# the demo builds and installs quietly: the compiler's output only when it fails
SCALE ?= 1
demo: deps
	@log=$$(mktemp) && { $(MAKE) all install >"$$log" 2>&1 || { cat "$$log"; rm -f "$$log"; exit 1; }; } && rm -f "$$log"
	@SCALE=$(SCALE) bash examples/demo.sh

.PHONY: demo-psql demo-stop
demo-psql:
	@bash examples/demo.sh psql

demo-stop:
	@bash examples/demo.sh stop

# consumer groups: examples/consumer.py against the demo instance (README "Consumer groups")
CONSUMER_ARGS ?=
.PHONY: demo-consumer
demo-consumer:
	@a=$${EVLOG_DEMO_DIR:-/tmp/evlog-demo}/address; [ -f "$$a" ] || { echo "no demo running ($$a does not exist): make demo" >&2; exit 1; }; \
	. "$$a" && exec /usr/bin/python3 examples/consumer.py --create $(CONSUMER_ARGS)

bench: deps
	$(MAKE) all
	$(MAKE) install
	@bash bench/run.sh

# CPU instructions per append, this checkout against git revision BASE
# (default: 256b086, the last commit of 0.1.0), counted by callgrind
BASE ?= 256b086
.PHONY: bench-instructions
bench-instructions: deps
	@bash bench/instructions.sh $(BASE)
