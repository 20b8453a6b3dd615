"""Build of the compiled core: one extension, autograd_cnn._C, from autograd_cnn/_C.pyx and the
C++17 sources in csrc/.

Kernel sources named *_avx512.cpp / *_avx2.cpp / *_baseline.cpp are the same template compiled for
one instruction set each; only they get that set's flags, so the library runs on any x86-64 CPU
and picks the fastest path at import (csrc/common/runtime.cpp). OpenMP is used when the compiler
supports it; without it the build still succeeds and the kernels run on one thread.
"""
import os
import platform
import sys
import tempfile
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


class BuildExt(build_ext):
    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:  # compile the kernel units side by side
            self.parallel = os.cpu_count() or 1

    def build_extensions(self):
        openmp = ["-fopenmp"] if sys.platform != "win32" and compiler_accepts(self.compiler, ["-fopenmp"]) else []
        common = COMMON_FLAGS + openmp
        for ext in self.extensions:
            ext.extra_compile_args = common
            ext.extra_link_args = openmp
            ext.define_macros += [
                ("ACNN_CXXFLAGS", '"%s"' % " ".join(common)),
                ("ACNN_FLAGS_AVX2", '"%s"' % " ".join(ISA_FLAGS["avx2"])),
                ("ACNN_FLAGS_AVX512", '"%s"' % " ".join(ISA_FLAGS["avx512"])),
            ]
        compile_one = self.compiler._compile

        def compile_with_isa_flags(obj, src, ext, cc_args, extra_postargs, pp_opts):
            isa = isa_of(src)
            extra = list(extra_postargs) + (ISA_FLAGS[isa] if isa else [])
            return compile_one(obj, src, ext, cc_args, extra, pp_opts)

        self.compiler._compile = compile_with_isa_flags
        super().build_extensions()


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
