# The two commands of the README: `make run` and `make test`. Everything else builds on them.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build run test test-asan bench compare plots clean sim

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@scripts/run-local-cluster $(BUILD)/catena-server

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The unit, simulation and integration suites again, built with AddressSanitizer and
# UndefinedBehaviorSanitizer in their own tree (the simulator campaigns run a quarter of their
# seeds there); any sanitizer report from any process fails it (scripts/test-asan).
ASAN_BUILD ?= build-asan
test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCATENA_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@scripts/test-asan $(ASAN_BUILD) $(JOBS)

bench: build
	@scripts/bench $(BUILD)/catena-server

# catena against redis-server, etcd and ZooKeeper (scripts/compare; about 9.5 minutes, on a quiet
# machine): COMPARE_FLAGS=--quick for a 4-minute check. Then `make plots` draws the charts.
compare: build
	@scripts/compare $(COMPARE_FLAGS) $(BUILD)

plots: deps
	@scripts/plots $(BUILD)/compare docs/charts

# A simulator campaign on every core: make sim SEEDS=100000 [SIMFLAGS="--nodes 5 ..."].
sim: build
	@$(BUILD)/catena-sim --seeds $(or $(SEEDS),10000) --jobs $(JOBS) $(SIMFLAGS)

# The nemesis test (docs/nemesis.md) for NEMESIS_SECONDS each, once per seed of NEMESIS_SEEDS,
# with 3 and 5 replicas in turn: make nemesis NEMESIS_SECONDS=600 NEMESIS_SEEDS="1 2 3". Every
# seed runs; the failed ones are listed at the end (their work directories are kept).
NEMESIS_SECONDS ?= 600
NEMESIS_SEEDS ?= 1 2 3 4
.PHONY: nemesis
nemesis: build
	@n=3; failed=""; for seed in $(NEMESIS_SEEDS); do \
	  NEMESIS_SEED=$$seed NEMESIS_REPLICAS=$$n NEMESIS_SECONDS=$(NEMESIS_SECONDS) \
	    tests/nemesis/nemesis.sh $(BUILD) || failed="$$failed $$seed($$n)"; n=$$((8 - n)); done; \
	if [ -n "$$failed" ]; then echo "nemesis: FAILED seeds:$$failed"; exit 1; fi; \
	echo "nemesis: every seed passed ($(NEMESIS_SEEDS))"

# libFuzzer targets, each for FUZZ_SECONDS (docs/fuzzing.md): make fuzz FUZZ_SECONDS=600.
FUZZ_SECONDS ?= 300
.PHONY: fuzz
fuzz: deps
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(BUILD)/fuzz

# 10 minutes under load at 70% of peak with a replica killed every minute (scripts/soak).
SOAK_SECONDS ?= 600
.PHONY: soak
soak: build
	@scripts/soak $(SOAK_SECONDS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
