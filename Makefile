# Thin wrapper around CMake. `make help` lists the targets.
BUILD     ?= build
CMAKE_ARGS ?=
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
# Benchmark parameters (see scripts/bench.sh --help)
DELAY     ?= 0.1
FLAGS     ?= 20,194
MAXREQ    ?=
RUNS      ?= 10
# The make bench folder readme-figures quotes.
FROM      ?= results/latest
FUZZ_SECONDS ?= 60

DEB_PACKAGES := cmake make gcc pkg-config libcurl4-openssl-dev liburing-dev libjansson-dev libgif-dev libssl-dev openssl check \
                hyperfine gnuplot-nox curl python3 python3-scipy valgrind strace clang libclang-rt-14-dev unzip \
                iproute2 shellcheck git

# What bench-peers (and bench PEERS=1) times besides the back ends, and its
# tests need: the Python clients' HTTP libraries, Pillow (their --work decodes
# the GIFs, as giflib does for the C clients), aria2c, wget2, and GNU time
# for peak RSS. Installed by deps with the rest, so the peers' tests run.
PEER_PACKAGES := python3-httpx python3-aiohttp python3-pil aria2 wget2 time

.PHONY: all build deps test test-busy test-asan test-tsan bench bench-peers bench-tls bench-sweep bench-scale bench-compare bench-coro bench-crossover bench-ci readme-figures bench-history bench-bisect fuzz clean help

all: build

help:
	@echo "flagbench — how concurrency models differ on I/O-bound work"
	@echo
	@echo "  make              build into $(BUILD)/ (needs the packages of 'make deps')"
	@echo "  make deps         install missing Debian packages (apt-get as root, else sudo)"
	@echo "  make test         deps + build + every test (ctest, output on failure)"
	@echo "  make test-busy    the same while every core is kept busy by a CPU hog"
	@echo "  make test-asan    the test suite built with AddressSanitizer + UBSan"
	@echo "  make test-tsan    the tests labelled tsan (the threaded back ends' own)"
	@echo "                    built with ThreadSanitizer"
	@echo "  make bench        deps + build + the side-by-side benchmark and its report"
	@echo "                    (DELAY=$(DELAY) FLAGS=$(FLAGS) RUNS=$(RUNS) MAXREQ=<flags>)"
	@echo "  make bench-peers  make bench with the clients people use instead: Python"
	@echo "                    (one at a time, ThreadPoolExecutor, asyncio), curl --parallel,"
	@echo "                    aria2c, wget2; the same as make bench PEERS=1"
	@echo "  make bench TLS=1  the same workloads over HTTPS (flagserver --tls, clients --cacert)"
	@echo "  make bench-tls    HTTP and HTTPS side by side in the same rounds: each model's"
	@echo "                    speedup on both, the TLS handshake, the busy one thread"
	@echo "  make bench-sweep  the back ends across delays and concurrency levels"
	@echo "                    (SWEEP_ARGS='--wide' or see scripts/sweep.sh --help)"
	@echo "  make bench-scale  100, 1000 and 10000 requests in flight (SCALE_ARGS=...)"
	@echo "  make bench-compare flagserver vs nginx (wrk; over HTTP, and HTTPS kept alive and"
	@echo "                    a new connection per request), the clients vs curl --parallel,"
	@echo "                    what --trace costs, and the fast start at 194 flags beside"
	@echo "                    the kernel's own time to open 194 connections"
	@echo "                    (installs nginx-light, wrk, strace)"
	@echo "  make bench-coro   a coroutine's cost beside a thread's and a callback's (CORO_ARGS=...)"
	@echo "  make bench-crossover every back end and the Python executors across CPU per"
	@echo "                    flag (--work): where one loop stops keeping up, measured"
	@echo "                    and predicted (CROSSOVER_ARGS=..., scripts/crossover.sh --help)"
	@echo "  make bench-ci     short run gated against results/baseline.csv"
	@echo "  make bench-history bench-ci's figures across commits (REVS=A..B, default the"
	@echo "                    last 10 of main; HISTORY_ARGS=...): the commit a figure moved at"
	@echo "  make bench-bisect the first commit between GOOD=rev and BAD=rev that fails the gate"
	@echo "  make readme-figures  README's figures and docs/img/ from a make bench folder"
	@echo "                    (FROM=$(FROM))"
	@echo "  make fuzz         the request parser under libFuzzer (FUZZ_SECONDS=$(FUZZ_SECONDS))"
	@echo "  make clean        remove build directories"

deps:
	@scripts/deps.sh $(DEB_PACKAGES) $(PEER_PACKAGES)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_ARGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The suite must pass on a shared, busy machine too: the tests compare with
# what they measured, never with how fast this machine is.
test-busy: deps
	$(MAKE) build
	cd $(BUILD) && $(CURDIR)/tests/busy.sh ctest --output-on-failure -j $(JOBS)

test-asan: deps
	$(MAKE) build BUILD=build-asan CMAKE_ARGS="-DFLAGBENCH_SANITIZE=address $(CMAKE_ARGS)"
	cd build-asan && ctest --output-on-failure -j $(JOBS)

test-tsan: deps
	$(MAKE) build BUILD=build-tsan CMAKE_ARGS="-DFLAGBENCH_SANITIZE=thread $(CMAKE_ARGS)"
	cd build-tsan && ctest --output-on-failure -j $(JOBS) -L tsan

bench: deps
	$(MAKE) build
	scripts/bench.sh --build $(BUILD) --delay $(DELAY) --flags $(FLAGS) --runs $(RUNS) $(if $(MAXREQ),--max-req $(MAXREQ)) $(if $(filter-out 0,$(PEERS)),--peers) $(if $(filter-out 0,$(TLS)),--tls) $(BENCH_ARGS)

bench-peers:
	$(MAKE) bench PEERS=1

bench-tls:
	$(MAKE) bench BENCH_ARGS="--tls-compare $(BENCH_ARGS)"

bench-sweep: deps
	$(MAKE) build
	scripts/sweep.sh --build $(BUILD) $(SWEEP_ARGS)

bench-scale: deps
	$(MAKE) build
	scripts/scale.sh --build $(BUILD) $(SCALE_ARGS)

bench-compare: deps
	@scripts/deps.sh nginx-light wrk strace
	$(MAKE) build
	scripts/vs_nginx.sh --build $(BUILD)
	scripts/vs_nginx.sh --build $(BUILD) --tls
	scripts/vs_nginx.sh --build $(BUILD) --tls --close
	scripts/vs_curl.sh --build $(BUILD)
	scripts/trace_cost.sh --build $(BUILD)
	scripts/fast_start.sh --build $(BUILD)

bench-coro: deps
	$(MAKE) build
	scripts/coro_cost.sh --build $(BUILD) $(CORO_ARGS)

bench-crossover: deps
	$(MAKE) build
	scripts/crossover.sh --build $(BUILD) $(CROSSOVER_ARGS)

bench-ci: deps
	$(MAKE) build
	scripts/bench_ci.sh --build $(BUILD)

# Each commit is built into build-history/ (a worktree and a build per commit).
bench-history: deps
	scripts/history.sh $(if $(REVS),--revs $(REVS)) $(HISTORY_ARGS)

bench-bisect: deps
	@test -n "$(GOOD)" -a -n "$(BAD)" || { echo "make bench-bisect needs GOOD=rev BAD=rev" >&2; exit 2; }
	scripts/history.sh --good $(GOOD) --bad $(BAD) $(HISTORY_ARGS)

# The request parser under libFuzzer (clang), from the committed corpus; new
# inputs go to a scratch copy so the tree stays clean.
readme-figures:
	scripts/report.py readme $(FROM) --readme README.md --images docs/img

fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DFLAGBENCH_FUZZ=ON $(CMAKE_ARGS)
	cmake --build build-fuzz --target fuzz_http -j $(JOBS)
	rm -rf build-fuzz/corpus && cp -r server/fuzz_corpus build-fuzz/corpus
	build-fuzz/server/fuzz_http -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -artifact_prefix=build-fuzz/ \
	    -print_final_stats=1 build-fuzz/corpus

clean:
	rm -rf build build-asan build-tsan build-fuzz
