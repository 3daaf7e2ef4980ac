# `make test` is the whole set-up and test run on a fresh Debian 12 machine with Swift installed.
SWIFT ?= swift

.PHONY: setup build test demo bench bench-vae bench-gpu fixtures clean

setup:
	@./scripts/setup

build: setup
	$(SWIFT) build

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Converts the bundled demo model (Tests/Fixtures/wan_vace) to q8 and checks it against diffusers' outputs.
# Then generates out/demo.mp4 with the bundled tiny random models (models/demo) from demo/.
demo: setup
	$(SWIFT) build -c release --product vacekit
	mkdir -p out
	.build/release/vacekit convert Tests/Fixtures/wan_vace/official/diffusion_pytorch_model.safetensors -o out/demo-wan-vace-q8.vkq --group 32 --quiet
	.build/release/vacekit verify out/demo-wan-vace-q8.vkq
	.build/release/vacekit validate --model out/demo-wan-vace-q8.vkq --reference Tests/Fixtures/reference/wan_vace_forward.safetensors --bound 3e-2
	# An inpainting run with a reference image, files to out/demo.mp4 (tiny random models: the video is noise).
	.build/release/vacekit generate --model models/demo/wan-vace-tiny-random.vkq --vae models/demo/wan-vae-tiny-random.vkq --task inpaint --video demo/clip --mask demo/mask.png --ref demo/ref.png --prompt "a red disc rolls across a meadow" --text-encoder models/demo/umt5-tiny-random.vkq --steps 10 --output out/demo.mp4

# The measurements of BENCHMARKS.md (20–30 minutes; needs the reference venv for the PyTorch side).
bench:
	./scripts/bench-all

# The Wan VAE decode and conv3d against diffusers (FRAMES=5 SIZE=416x240 by default).
bench-vae:
	./scripts/bench-vae

# The Vulkan measurements on a machine with a GPU (MODEL=wan-q8.vkq PYTHON=python-with-cuda-torch).
bench-gpu:
	./scripts/bench-gpu

# The umT5-XXL text-encoder benchmark of BENCHMARKS.md (LAYERS=4 on machines under ~32 GB; PYTHON=venv python).
bench-t5:
	./scripts/bench-t5

# The text-encoder fixtures (Tests/Fixtures/text) with transformers + sentencepiece.
fixtures-text:
	python3 converters/reference/make_text_fixtures.py

# Regenerates Tests/Fixtures with PyTorch + diffusers (needs the venv of converters/reference/README.md).
fixtures:
	python3 converters/reference/make_fixtures.py

clean:
	rm -rf .build

# The LTX-Video VAE decode vs diffusers (BENCHMARKS.md; LATENT="2 16 24" by default, PYTHON=reference venv).
bench-ltx-vae:
	./scripts/bench-ltx-vae

# Regenerates Tests/Fixtures/ltx_vae (the LTX-Video 0.9.1 / 0.9.5 VAEs) with PyTorch + diffusers.
fixtures-ltx-vae:
	python3 converters/reference/make_ltx_vae_fixtures.py
# The LTX-Video / VACE-LTX forward rows of BENCHMARKS.md (LTX_VIDEO= and VACE= checkouts for the VACE-LTX PyTorch side).
bench-ltx:
	./scripts/bench-ltx
# Regenerates Tests/Fixtures/validate: the layer-by-layer dump of the Wan fixture (needs the reference venv).
.PHONY: validate-fixtures
validate-fixtures:
	python3 converters/reference/dump_reference.py Tests/Fixtures/wan_vace/official/diffusion_pytorch_model.safetensors --random-inputs 2x4x6 --seed 0 --output Tests/Fixtures/validate/wan_vace_dump.safetensors
	VACEKIT_LTX_VIDEO=$(LTX_VIDEO) VACEKIT_VACE=$(VACE) python3 converters/reference/make_validate_fixtures.py

# The long fuzz run of the readers (safetensors, sharded index, .pth, GGUF, the .vkq header and whole file, and the
# media readers: PNG, JPEG, mp4 through FFmpeg): 1 000 000 mutated inputs each (about 1.5 hours on 2 cores, most of
# it FFmpeg). Every input is written to a file and opened, so the files go to FUZZ_TMPDIR (tmpfs: 10x faster than a
# disk here).
FUZZ_TMPDIR ?= $(if $(wildcard /dev/shm),/dev/shm,/tmp)
.PHONY: fuzz
fuzz:
	$(SWIFT) build --build-tests -c release -Xswiftc -enable-testing
	TMPDIR=$(FUZZ_TMPDIR) VACEKIT_FUZZ_ITERATIONS=1000000 $(SWIFT) test --skip-build -c release -Xswiftc -enable-testing --filter "ReaderFuzzTests|MediaFuzzTests"

# The LTX generation fixtures (Tests/Fixtures/ltx_generate) from the original LTX-Video 0.9.1 and VACE pipelines
# (LTX_VIDEO = a checkout at tag ltx-video-0.9.1, VACE = an ali-vilab/VACE checkout).
fixtures-ltx-generate:
	python3 converters/reference/make_ltx_generate_fixtures.py --ltx-video $(LTX_VIDEO) --vace $(VACE)
.PHONY: fixtures-ltx-generate
# `vacekit generate` on LTX-Video / VACE-LTX at the real 2B dimensions beside diffusers' LTXPipeline (SMOKE=1: the fixtures).
bench-ltx-generate:
	./scripts/bench-ltx-generate
.PHONY: bench-ltx-generate
