# Convenience wrapper around cmake/ctest for people who type `make`.
#   make            build (Release) into build/
#   make test       build and run the test suite (the README's test command)
#   make demo       the end-to-end demo on synthetic data
#   make fuzz       libFuzzer targets (clang) into build-fuzz/, each run
#                   FUZZ_SECONDS (default 30; docs/fuzzing.md)
#   make install    cmake --install (PREFIX=/usr/local)
BUILD ?= build
PREFIX ?= /usr/local
FUZZ_SECONDS ?= 30
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all build test demo install clean deps weights fuzz
all: build

deps:
	scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	scripts/demo.sh

fuzz:
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCK_FUZZ=ON -DCK_CUDA=OFF
	cmake --build build-fuzz -j $(JOBS) --target fuzz
	tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

weights:
	$(MAKE) -C pretrained

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD)
