# The README's two commands:
#   make run    install dependencies, build, start the registry on 127.0.0.1:5000 (data in ./data)
#   make test   install dependencies, build, run every test (unit, API, end-to-end with real clients)
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

.PHONY: all deps deps-build build run test unit api e2e bench clean

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
