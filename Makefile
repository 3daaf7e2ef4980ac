# `make test` is the whole set-up and test run on a fresh Debian 12 machine with Swift installed.
SWIFT ?= swift

.PHONY: setup build test fixtures clean

setup:
	@./scripts/setup

build: setup
	$(SWIFT) build

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Regenerates Tests/Fixtures with PyTorch + diffusers (needs the venv of converters/reference/README.md).
fixtures:
	python3 converters/reference/make_fixtures.py

clean:
	rm -rf .build
