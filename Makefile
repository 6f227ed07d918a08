# trit — quick start: `make demo`, then `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_VERSION := 2.13.0
# Debian packages the toolchain needs; installed by `make setup` when missing.
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm \
  qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
# Dataset: the shared archive beside the checkout, unless TRIT_CIFAR10 says otherwise.
export TRIT_CIFAR10 ?= $(abspath ../shared/datasets/cifar-10-binary.tar.gz)
DEMO_RUN ?= build/demo
DEMO_MODEL ?= models/dws-tern-bin-32k
PYTEST_ARGS ?=
# test processes (pytest-xdist): one per core; PYTEST_WORKERS=0 runs the suite in this process
PYTEST_WORKERS ?= auto

.PHONY: setup apt demo demo-train test clean help

help:
	@echo "make demo   install what is missing, run the zoo's dws-tern-bin-32k on the emulated Cortex-M4 and Cortex-A (AArch64)"
	@echo "make demo-train  the same from scratch: train the short demo-bin recipe, export, run"
	@echo "make test   run the test suite, one process per core (CIFAR-10 from TRIT_CIFAR10=$(TRIT_CIFAR10))"
	@echo "make setup  only install (apt packages when missing, .venv, trit in editable mode)"

apt:
	@missing=""; \
	$(PYTHON) -c "import ensurepip, venv" >/dev/null 2>&1 || missing="python3-venv python3-pip"; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "torch==$(TORCH_VERSION)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

setup: apt
	@$(MAKE) --no-print-directory $(VENV)/.installed

# The zoo's popcount model through `trit demo`: list the zoo, export its training checkpoint
# again (same bytes as the shipped IR), compare the integer reference interpreter with PyTorch
# on 1,000 test images, then generate C, build the firmware and run 1,000 test images on the
# emulated Cortex-M4 and on 64-bit Arm Linux in QEMU, every result checked bit-exactly.
demo: setup
	$(BIN)/trit models
	$(BIN)/trit demo --model $(DEMO_MODEL) --out $(DEMO_RUN)

# The same from scratch: train the short demo-bin recipe (an interrupted run in
# $(DEMO_RUN)/run resumes), export it, check it against PyTorch, run it on the emulated M4.
demo-train: setup
	$(BIN)/trit demo --train demo-bin --board mps2-an386 --out $(DEMO_RUN)

test: setup
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
