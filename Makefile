# The front door. Everything real happens in CMake (CMakePresets.json) and tools/.
#   make run       install what is missing, build, boot the GRUB ISO under SeaBIOS in QEMU
#   make test      install what is missing, build, run every host and in-kernel test (CTest)
#   make bench     host benchmarks (allocators, executor) and the boot-cost benchmark; then
#                  make linux-compare
#   make linux-compare  user/proctest as init under Linux 6.1 (fetched once) and under ferrite:
#                  Linux's lines must still be tests/expected/proctest.linux.txt, ferrite's Linux's
#   make lint      clang-tidy (.clang-tidy) over kernel/; exits non-zero on any finding
#   make soak      boots the kernel across firmware/RAM/CPU configurations, types into its shell,
#                  floods it with random keys and NMIs (minutes; not part of make test)
BUILD := build
KERNEL := $(BUILD)/kernel/ferrite.elf
ISO := $(BUILD)/ferrite.iso

.PHONY: all setup configure build run run-pvh run-bios run-uefi debug iso test bench linux-compare lint soak format clean

all: build

setup:
	@tools/setup.sh

configure: setup
	@cmake --preset default >/dev/null

build: configure
	@cmake --build --preset default

# run/iso/debug build only what they boot; `make build` and `make test` build everything.
iso: configure
	@cmake --build --preset default --target ferrite_iso

run: iso
	@tools/run-qemu.sh --iso $(ISO) --firmware bios

run-bios: run

run-uefi: iso
	@tools/run-qemu.sh --iso $(ISO) --firmware uefi

run-pvh: configure
	@cmake --build --preset default --target ferrite initramfs
	@tools/run-qemu.sh --pvh $(KERNEL)

debug: configure
	@cmake --build --preset default --target ferrite initramfs
	@tools/run-qemu.sh --pvh $(KERNEL) --debug

test: build
	@ctest --preset default

bench: build
	@cmake --build --preset default --target benchmarks
	@tools/bench.sh $(BUILD)
	@$(MAKE) --no-print-directory linux-compare

# Fails (status 1, a unified diff) if Linux no longer prints the committed lines, or ferrite
# differs from Linux. `tools/linux_compare.py --update` rewrites the file from Linux.
linux-compare: configure
	@cmake --build --preset default --target ferrite initramfs
	@echo "== the same program's output under Linux 6.1 and ferrite (tools/linux_compare.py)"
	@python3 tools/linux_compare.py --build $(BUILD)

# compile_commands.json comes from configuring; tools/lint.py adapts it for clang-tidy 14.
lint: configure
	@python3 tools/lint.py --build $(BUILD)

soak: iso
	@cmake --build --preset default --target ferrite initramfs
	@python3 tools/soak.py --build $(BUILD)

format:
	@find kernel tests bench -name '*.h' -o -name '*.cpp' | xargs clang-format -i

clean:
	@rm -rf $(BUILD)
