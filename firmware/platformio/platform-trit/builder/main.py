"""SCons build script of the trit dev-platform: bare-metal Cortex-M firmware with the
toolchain package (links to Debian's arm-none-eabi-*), and an `upload` target that starts the
firmware in QEMU with its UART on stdio (-icount shift=0: SysTick counts instructions)."""

from os.path import join

from SCons.Script import COMMAND_LINE_TARGETS, Default, DefaultEnvironment

env = DefaultEnvironment()
board = env.BoardConfig()
# Helium (MVE, Cortex-M55) needs FP/MVE instructions: softfp keeps the soft-float calling
# convention (hostbench/firmware_build.py CPU_FLAGS says the same)
cpu_flags = ["-mcpu=%s" % board.get("build.cpu"), "-mthumb",
             "-mfloat-abi=%s" % ("softfp" if board.get("build.cpu") == "cortex-m55" else "soft")]

env.Replace(
    AR="arm-none-eabi-gcc-ar", AS="arm-none-eabi-gcc", CC="arm-none-eabi-gcc",
    CXX="arm-none-eabi-g++", OBJCOPY="arm-none-eabi-objcopy",
    RANLIB="arm-none-eabi-gcc-ranlib", SIZETOOL="arm-none-eabi-size",
    ARFLAGS=["rc"], PROGNAME="firmware", PROGSUFFIX=".elf",
    SIZEPROGREGEXP=r"^(?:\.text|\.ARM\.exidx|\.data)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
)
env.Append(
    ASFLAGS=cpu_flags,
    CFLAGS=["-std=c11"],
    CCFLAGS=cpu_flags + ["-O2", "-g", "-Wall", "-Wextra", "-Werror", "-ffunction-sections",
                         "-fdata-sections"],
    LINKFLAGS=cpu_flags + ["-nostartfiles", "--specs=nosys.specs", "-Wl,--gc-sections",
                           "-Wl,-Map,%s" % join("$BUILD_DIR", "firmware.map")],
    LIBS=["c", "gcc", "nosys"],
)

if "nobuild" in COMMAND_LINE_TARGETS:
    elf = join("$BUILD_DIR", "${PROGNAME}.elf")
else:
    elf = env.BuildProgram()
    env.AddPostAction(elf, env.VerboseAction("$SIZETOOL -B -d $TARGET", "Size of $TARGET"))

env.AddPlatformTarget("size", elf, env.VerboseAction("$SIZEPRINTCMD", "Size of $SOURCE"),
                      "Program Size")

timeout = env.GetProjectOption("custom_qemu_timeout", "")
env.Replace(
    UPLOADER="qemu-system-arm",
    UPLOADERFLAGS=["-machine", board.get("build.qemu_machine"), "-nographic", "-icount",
                   "shift=0"],
    UPLOADCMD=(("timeout --preserve-status %s " % timeout if timeout else "")
               + "$UPLOADER $UPLOADERFLAGS $UPLOAD_FLAGS -kernel $SOURCE"),
)
env.AddPlatformTarget("upload", elf, [env.VerboseAction("$UPLOADCMD", "Running $SOURCE in QEMU")],
                      "Upload")

Default([elf])
