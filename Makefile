# `make test` is the whole set-up and test run on a fresh Debian 12 machine with Swift installed.
SWIFT ?= swift

.PHONY: setup build test demo bench bench-gpu fixtures clean

setup:
	@./scripts/setup

build: setup
	$(SWIFT) build

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Converts the bundled demo model (Tests/Fixtures/wan_vace) to q8 and checks it against diffusers' outputs.
demo: setup
	$(SWIFT) build -c release --product vacekit
	mkdir -p out
	.build/release/vacekit convert Tests/Fixtures/wan_vace/official/diffusion_pytorch_model.safetensors -o out/demo-wan-vace-q8.vkq --group 32 --quiet
	.build/release/vacekit verify out/demo-wan-vace-q8.vkq
	.build/release/vacekit validate --model out/demo-wan-vace-q8.vkq --reference Tests/Fixtures/reference/wan_vace_forward.safetensors --bound 3e-2

# The measurements of BENCHMARKS.md (20–30 minutes; needs the reference venv for the PyTorch side).
bench:
	./scripts/bench-all

# The Vulkan measurements on a machine with a GPU (MODEL=wan-q8.vkq PYTHON=python-with-cuda-torch).
bench-gpu:
	./scripts/bench-gpu

# Regenerates Tests/Fixtures with PyTorch + diffusers (needs the venv of converters/reference/README.md).
fixtures:
	python3 converters/reference/make_fixtures.py

clean:
	rm -rf .build

# Regenerates Tests/Fixtures/validate: the layer-by-layer dump of the Wan fixture (needs the reference venv).
.PHONY: validate-fixtures
validate-fixtures:
	python3 converters/reference/dump_reference.py Tests/Fixtures/wan_vace/official/diffusion_pytorch_model.safetensors --random-inputs 2x4x6 --seed 0 --output Tests/Fixtures/validate/wan_vace_dump.safetensors

# The long fuzz run of the readers (safetensors, sharded index, .pth, GGUF, .vkq): 1 000 000 mutated inputs each.
.PHONY: fuzz
fuzz:
	$(SWIFT) build --build-tests -c release
	VACEKIT_FUZZ_ITERATIONS=1000000 $(SWIFT) test --skip-build -c release --filter ReaderFuzzTests
