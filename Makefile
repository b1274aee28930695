# torn: a thin wrapper over CMake.  `make run` and `make test` are the quick start.
#
#   make run    install what is missing, build, run the default demo
#   make test   install what is missing, build, run the whole ctest suite, then
#               the same suite again in the ASan+UBSan build (build-asan/)
#   make asan   only the ASan+UBSan build and its run of the suite
#   make bench  build and run the benchmarks (they print ratios, never fail on timing)
#   make fuzz   build the libFuzzer targets (clang) and run each for FUZZ_SECONDS
#               (300; make test fuzzes each for 60 s)
#   make clean  remove the build directories

JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
BUILD   ?= build
CMAKE   ?= cmake
CTEST   ?= ctest
FUZZ_SECONDS ?= 300

.PHONY: all deps configure build run test asan bench fuzz clean

all: build

deps:
	@sh scripts/deps.sh

configure: deps
	@$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTORN_WERROR=ON >/dev/null

build: configure
	@$(CMAKE) --build $(BUILD) -j $(JOBS)

run: build
	@sh scripts/demo.sh $(BUILD)

test: build
	@cd $(BUILD) && $(CTEST) --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory asan

asan: deps
	@$(CMAKE) -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTORN_WERROR=ON -DTORN_SANITIZE=ON >/dev/null
	@$(CMAKE) --build build-asan -j $(JOBS)
	@cd build-asan && $(CTEST) --output-on-failure -j $(JOBS)

bench: build
	@sh bench/run.sh $(BUILD)

fuzz: deps
	@$(CMAKE) -S fuzz -B $(BUILD)/fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@$(CMAKE) --build $(BUILD)/fuzz -j $(JOBS)
	@sh fuzz/run.sh $(BUILD)/fuzz regress
	@sh fuzz/run.sh $(BUILD)/fuzz all $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) build-asan
