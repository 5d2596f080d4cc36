"""Compiled inner loops: numba, imported lazily at the first call of a kernel.

A kernel is plain Python over NumPy arrays and scalars, written once and decorated with
:func:`kernel` and its one signature (dtype and memory layout of every argument). At its first
call the kernel is compiled by ``numba.njit`` for that signature only (nothing else is ever
specialised, and a call with other types is a ``TypeError`` rather than a silent recompile), with
numba's on-disk cache: a later process loads the machine code instead of compiling it.

- ``import skmtl.linear`` does not import numba: the import happens at the first kernel call.
- No numba threading (no ``parallel=True``); ``nogil`` lets a thread pool run fits side by side.
- Floating-point sums may be reassociated (vectorised) and multiply-adds fused: results agree
  with the uncompiled run to rounding, not bit for bit.
- The cache lives where numba puts it: the ``__pycache__`` folder beside this file when it is
  writable, else numba's per-user cache folder (``~/.cache/numba`` on Linux), or
  ``NUMBA_CACHE_DIR`` when set. When no writable place exists, the kernel is compiled without
  a cache, once per process.
- Without numba (not installed, an unsupported platform, or ``SKMTL_DISABLE_JIT=1`` in the
  environment), the same functions run uncompiled: correct, one to two orders of magnitude
  slower. This is not a second implementation: it is the source below, run by the interpreter.
"""

from __future__ import annotations

import os
import threading

DISABLE_ENV = "SKMTL_DISABLE_JIT"

_numba = None  # the numba module, False when unavailable, None before the first look
_lock = threading.Lock()
_KERNELS: list[_Kernel] = []
# reassociation (vectorised sums) and fused multiply-adds, about 1.3x on the coordinate-descent
# epochs; not the "no NaN / no inf" assumptions of fastmath=True
_FASTMATH = {"reassoc", "contract", "arcp", "nsz"}


def _get_numba():
    global _numba
    if _numba is None:
        if os.environ.get(DISABLE_ENV, "").strip() not in ("", "0"):
            _numba = False
        else:
            try:
                import numba
            except Exception:  # not installed, or fails to import on this platform / NumPy
                _numba = False
            else:
                _numba = numba
    return _numba or None


def jit_enabled():
    """Whether kernels are compiled (numba importable and not disabled); imports numba."""
    return _get_numba() is not None


class _Kernel:
    """A function compiled for one signature at its first call (or run as is without numba)."""

    def __init__(self, func, signature):
        self.py_func = func
        self.signature = signature
        self.compiled = None
        self.cached = None  # whether numba writes/reads an on-disk cache for it
        self.__name__ = func.__name__
        self.__doc__ = func.__doc__
        self.__wrapped__ = func

    def __call__(self, *args):
        impl = self.compiled
        if impl is None:
            impl = self.compile()
        return impl(*args)

    def compile(self):
        """Compile (or load from the cache) now; returns the callable used from now on."""
        with _lock:
            if self.compiled is not None:
                return self.compiled
            nb = _get_numba()
            if nb is None:
                self.cached = False
                self.compiled = self.py_func
                return self.compiled
            opts = dict(nogil=True, error_model="numpy", boundscheck=False, fastmath=_FASTMATH)
            try:
                impl = nb.njit(self.signature, cache=True, **opts)(self.py_func)
                self.cached = True
            except RuntimeError:
                # "cannot cache function ...: no locator available": no writable cache folder
                impl = nb.njit(self.signature, cache=False, **opts)(self.py_func)
                self.cached = False
            self.compiled = impl
            return impl


def kernel(signature):
    """Decorator: compile the function with numba for ``signature`` at its first call."""

    def wrap(func):
        k = _Kernel(func, signature)
        _KERNELS.append(k)
        return k

    return wrap


def compile_all():
    """Compile (or load from the cache) every kernel defined so far.

    Run before handing work to separate processes (joblib's default backend) so that a cold
    cache is filled once, here, and every worker loads it instead of compiling its own copy.
    """
    for k in _KERNELS:
        k.compile()
