# The README's two commands:
#   make run    install dependencies, build, start the registry on 127.0.0.1:5000 (data in ./data)
#   make test   install dependencies, build, run every test (unit, API, end-to-end with real clients),
#               then the fuzzers for a minute and the unit, API and security tests under sanitizers
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

.PHONY: all deps deps-build build run test unit api e2e bench clean fuzz fuzz-short fuzz-build \
        sanitize sanitize-build tsan tsan-build

all: build

deps:
	scripts/install-deps.sh test

deps-build:
	scripts/install-deps.sh build

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

run: deps-build build
	$(BUILD)/src/cli/berth serve $(if $(CONFIG),--config $(CONFIG))

test: deps build
	cd $(BUILD) && ctest --output-on-failure --timeout 900 -j 2
	$(MAKE) fuzz-short
	$(MAKE) sanitize
	$(MAKE) tsan

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

api: build
	cd $(BUILD) && ctest --output-on-failure -L api

e2e: build
	cd $(BUILD) && ctest --output-on-failure -L e2e

clean:
	rm -rf $(BUILD)

# Side-by-side benchmark with CNCF Distribution (not a test, not in CI): writes bench/RESULTS.md.
#   make bench    full run (~10 min)        make bench BENCH_ARGS=--quick    (~2 min)
BENCH_BUILD ?= build-bench
bench: deps-build
	cmake -S . -B $(BENCH_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DBERTH_BENCH=ON
	ninja -C $(BENCH_BUILD) -j $(JOBS) berth berth-loadgen
	BERTH=$(CURDIR)/$(BENCH_BUILD)/src/cli/berth LOADGEN=$(CURDIR)/$(BENCH_BUILD)/bench/berth-loadgen bench/run.sh $(BENCH_ARGS)

# Fuzzing (tests/fuzz, docs/security.md "Fuzzing"): libFuzzer targets with ASan and UBSan, built with
# clang-15 in a build directory of their own. A crash or sanitizer report fails the run.
#   make fuzz         every target for FUZZ_SECONDS (300) seconds      make fuzz FUZZ_SECONDS=3600
#   make fuzz-short   all targets in about FUZZ_SHORT_SECONDS (60) together: the last step of make test
#   FUZZ_TARGETS="jwt config" runs only those (tests/fuzz/<target>.cc)
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 300
FUZZ_SHORT_SECONDS ?= 60

$(FUZZ_BUILD)/build.ninja:
	@command -v clang++-15 >/dev/null || { echo "clang++-15 is not installed: make deps" >&2; exit 1; }
	CC=clang-15 CXX=clang++-15 cmake -S . -B $(FUZZ_BUILD) -G Ninja -DBERTH_FUZZ=ON

fuzz-build: $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD) -j $(JOBS)

fuzz: deps fuzz-build
	tests/fuzz/run.sh $(FUZZ_BUILD) --each $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-short: fuzz-build
	tests/fuzz/run.sh $(FUZZ_BUILD) --total $(FUZZ_SHORT_SECONDS) $(FUZZ_TARGETS)

# Sanitizers (docs/security.md "Sanitizers"): build directories of their own, instrumented with g++'s
# sanitizers (CMake option BERTH_SANITIZE). Every process's report goes to <build>/sanitizer-logs/report.<pid>
# (log_path), the `berth serve` and `berth admin` children of the API tests included, and
# tests/sanitizers/check.sh fails the run if there is any, after the tests ran.
#   make sanitize   ASan+UBSan: the unit tests (built instrumented), then the API and security suites
#                   against an instrumented `berth` (the test binaries of $(BUILD), BERTH_TEST_BINARY)
#   make tsan       TSan: an instrumented `berth` (the server's I/O threads, blocking pool, background
#                   threads), under the API and security tests (TSAN_TESTS: a ctest -R regex)
# Both are the last steps of make test. On 2 cores, cold (ccache empty): make sanitize 6 min to build
# and 2.5 min of tests, make tsan 3.6 min and 3 min (docs/security.md "Sanitizers").
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
SAN_TIMEOUT ?= 900
SAN_SUPP = $(CURDIR)/tests/sanitizers
ASAN_LOGS = $(CURDIR)/$(ASAN_BUILD)/sanitizer-logs
TSAN_LOGS = $(CURDIR)/$(TSAN_BUILD)/sanitizer-logs
# halt_on_error: the first report ends the process (ASan's default; UBSan's too with -fno-sanitize-recover),
# so a broken invariant cannot go on to cause a second, misleading one. Leaks are checked in every
# process that exits: the unit tests, and `berth serve`, which returns from main after SIGTERM (a server
# that overstays the tests' 10 s is killed with SIGKILL, and checks nothing).
ASAN_ENV = ASAN_OPTIONS=log_path=$(ASAN_LOGS)/report:halt_on_error=1:detect_leaks=1:check_initialization_order=1 \
  UBSAN_OPTIONS=log_path=$(ASAN_LOGS)/report:halt_on_error=1:print_stacktrace=1 \
  LSAN_OPTIONS=suppressions=$(SAN_SUPP)/lsan.supp
# halt_on_error=0: a race is reported and the server goes on, so one run shows every race (exit code 66
# at the end, which a test that checks the server's exit status also sees).
TSAN_ENV = TSAN_OPTIONS=log_path=$(TSAN_LOGS)/report:halt_on_error=0:second_deadlock_stack=1:suppressions=$(SAN_SUPP)/tsan.supp
# Left out of both: a test that measures the server's resident memory (tests/security/connections_test.cc),
# which the sanitizers' allocators inflate by design (redzones, ASan's quarantine of freed blocks, shadow
# memory): +48 MiB under ASan against its 40 MiB bound, where the plain binary grows 3.5 MiB.
SAN_EXCLUDE ?= ^Connections\.UnwantedBodiesAreDrainedNotBuffered$$
# All of the API and security tests (2.2 min): the endpoints share the I/O threads, the blocking pool (bodies,
# uploads, offloaded handlers) and the background threads (collector, upload expiry, webhooks), so each
# adds interleavings for TSan to check. Then those that drive the I/O and upload paths hardest again with
# every request routed on the pool (http.route_requests_on: pool, the fleet's mode; 135 tests, 0.8 min).
TSAN_TESTS ?= .
TSAN_POOL_TESTS ?= ^(UploadTest|BlobTest|UploadResilienceTest|GcRaceTest|GcTest|GracefulShutdown|BadInputTest|Connections|Uploads|Attacks|ReviewFindings|ManifestTest|PackagesModelTest)\.

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DBERTH_SANITIZE=address,undefined

$(TSAN_BUILD)/build.ninja:
	cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DBERTH_SANITIZE=thread

sanitize-build: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD) -j $(JOBS) berth berth_unit_tests

tsan-build: $(TSAN_BUILD)/build.ninja
	ninja -C $(TSAN_BUILD) -j $(JOBS) berth

sanitize: build sanitize-build
	rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS)
	status=0; \
	(cd $(ASAN_BUILD) && $(ASAN_ENV) ctest --output-on-failure --timeout $(SAN_TIMEOUT) -j 2 -L unit -LE backend) || status=1; \
	(cd $(BUILD) && $(ASAN_ENV) BERTH_TEST_BINARY=$(CURDIR)/$(ASAN_BUILD)/src/cli/berth \
	  ctest --output-on-failure --timeout $(SAN_TIMEOUT) -j 2 -L 'api|security' -LE fleet -E '$(SAN_EXCLUDE)') || status=1; \
	tests/sanitizers/check.sh $(ASAN_LOGS) || status=1; \
	exit $$status

tsan: build tsan-build
	rm -rf $(TSAN_LOGS) && mkdir -p $(TSAN_LOGS)
	status=0; \
	(cd $(BUILD) && $(TSAN_ENV) BERTH_TEST_BINARY=$(CURDIR)/$(TSAN_BUILD)/src/cli/berth \
	  ctest --output-on-failure --timeout $(SAN_TIMEOUT) -j 2 -L 'api|security' -LE fleet -R '$(TSAN_TESTS)' -E '$(SAN_EXCLUDE)') || status=1; \
	(cd $(BUILD) && $(TSAN_ENV) BERTH_TEST_BINARY=$(CURDIR)/$(TSAN_BUILD)/src/cli/berth BERTH_HTTP_ROUTE_REQUESTS_ON=pool \
	  ctest --output-on-failure --timeout $(SAN_TIMEOUT) -j 2 -L 'api|security' -LE fleet -R '$(TSAN_POOL_TESTS)' -E '$(SAN_EXCLUDE)') || status=1; \
	tests/sanitizers/check.sh $(TSAN_LOGS) || status=1; \
	exit $$status
