"""Build of the compiled core: one extension, autograd_cnn._C, from autograd_cnn/_C.pyx and the
C++17 sources in csrc/.

Kernel sources named *_avx512.cpp / *_avx2.cpp / *_baseline.cpp are the same template compiled for
one instruction set each; only they get that set's flags, so the library runs on any x86-64 CPU
and picks the fastest path at import (csrc/common/runtime.cpp). OpenMP is used when the compiler
supports it; without it the build still succeeds and the kernels run on one thread.

Only public setuptools interfaces: BuildExt compiles each source with CCompiler.compile (its flags
as extra_postargs), several at a time, and hands the objects to the base class as the extension's
extra_objects, which links them.
"""
import os
import platform
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from glob import glob

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))
X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")

COMMON_FLAGS = ["-O3", "-std=c++17", "-ffp-contract=fast", "-fno-math-errno", "-fvisibility=hidden"]
ISA_FLAGS = {
    "avx2": ["-mavx2", "-mfma", "-mf16c"],
    "avx512": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma", "-mf16c",
               "-mprefer-vector-width=512"],
}


def isa_of(source):
    stem = os.path.splitext(os.path.basename(source))[0]
    for isa in ISA_FLAGS:
        if stem.endswith("_" + isa):
            return isa
    return None


def compiler_accepts(compiler, flags):
    """True when `compiler` compiles and links a small OpenMP program with `flags`."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.cpp")
        with open(src, "w") as f:
            f.write("#include <omp.h>\nint main() { return omp_get_max_threads() > 0 ? 0 : 1; }\n")
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=flags)
            compiler.link_executable(objs, "probe", output_dir=tmp, extra_postargs=flags)
        except Exception:
            return False
    return True


def out_of_date(paths, target):
    """True when `target` is missing or older than any of `paths`."""
    if not os.path.exists(target):
        return True
    built = os.path.getmtime(target)
    return any(os.path.getmtime(p) > built for p in paths if os.path.exists(p))


class BuildExt(build_ext):
    """build_ext that compiles the extension's C++ sources itself, side by side (the -j jobs), each
    with the common flags plus its instruction set's (ISA_FLAGS, by file name), through the public
    CCompiler.compile; the base class then links the objects (Extension.extra_objects)."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:  # compile the kernel units side by side
            self.parallel = os.cpu_count() or 1

    def build_extensions(self):
        openmp = ["-fopenmp"] if sys.platform != "win32" and compiler_accepts(self.compiler, ["-fopenmp"]) else []
        # Extra flags from the environment come last, so they win (`-O1` over `-O3`): a
        # sanitizer build (.ci/sanitizers) sets them; setuptools does not pass CXXFLAGS to C++.
        extra_compile = os.environ.get("AUTOGRAD_CNN_EXTRA_COMPILE_ARGS", "").split()
        extra_link = os.environ.get("AUTOGRAD_CNN_EXTRA_LINK_ARGS", "").split()
        common = COMMON_FLAGS + openmp + extra_compile
        for ext in self.extensions:
            ext.extra_compile_args = common
            ext.extra_link_args = openmp + extra_link
            ext.define_macros += [
                ("ACNN_CXXFLAGS", '"%s"' % " ".join(common)),
                ("ACNN_FLAGS_AVX2", '"%s"' % " ".join(ISA_FLAGS["avx2"])),
                ("ACNN_FLAGS_AVX512", '"%s"' % " ".join(ISA_FLAGS["avx512"])),
            ]
        super().build_extensions()

    def build_extension(self, ext):
        sources = list(ext.sources)
        # the base class sees no sources left, but still checks them (as depends) to skip an
        # up-to-date extension
        ext.sources, ext.depends = [], list(ext.depends) + sources
        if self.force or out_of_date(ext.depends, self.get_ext_fullpath(ext.name)):
            ext.extra_objects = self.compile_sources(ext, sources) + list(ext.extra_objects)
        super().build_extension(ext)

    def compile_sources(self, ext, sources):
        macros = ext.define_macros + [(name,) for name in ext.undef_macros]

        def compile_one(source):
            isa = isa_of(source)
            flags = ext.extra_compile_args + (ISA_FLAGS[isa] if isa else [])
            return self.compiler.compile(
                [source], output_dir=self.build_temp, macros=macros, include_dirs=ext.include_dirs,
                debug=self.debug, extra_postargs=flags, depends=ext.depends)

        jobs = (os.cpu_count() or 1) if self.parallel is True else max(1, int(self.parallel or 1))
        # the longest compiles first (convolution's kernel units, then the Cython module), so the
        # short ones fill the gaps at the end
        order = sorted(sources,
                       key=lambda s: (not os.path.basename(s).startswith("conv_"), "_C." not in s))
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            objects = dict(zip(order, pool.map(compile_one, order)))
        return [obj for source in sources for obj in objects[source]]


def kernel_sources():
    sources = []
    for path in sorted(glob(os.path.join("csrc", "**", "*.cpp"), recursive=True)):
        if isa_of(path) and not X86:
            continue  # non-x86 builds keep only the *_baseline.cpp copies
        sources.append(path)
    return sources


def extensions():
    from Cython.Build import cythonize

    ext = Extension(
        "autograd_cnn._C",
        sources=["autograd_cnn/_C.pyx"] + kernel_sources(),
        include_dirs=["csrc"],
        depends=sorted(glob(os.path.join("csrc", "**", "*.h"), recursive=True)
                       + glob(os.path.join("csrc", "**", "*.inc"), recursive=True)),
        define_macros=[("ACNN_HAVE_X86_ISAS", "1")] if X86 else [],
        language="c++",
    )
    return cythonize([ext], compiler_directives={"language_level": "3"}, quiet=True)


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
