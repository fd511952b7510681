# Convenience wrapper around cmake/ctest for people who type `make`.
#   make            build (Release) into build/
#   make test       build and run the test suite (the README's test command)
#   make demo       the end-to-end demo on synthetic data
#   make install    cmake --install (PREFIX=/usr/local)
BUILD ?= build
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all build test demo install clean deps weights
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

weights:
	$(MAKE) -C pretrained

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD)
