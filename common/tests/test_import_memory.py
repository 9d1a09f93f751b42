"""What keeps an import's RSS down, asserted without measuring RSS (no thresholds on a shared machine).

Each check runs in a fresh interpreter: what a module imports, and how glibc treats a
freed buffer, depend on what the process did before.
"""

import subprocess
import sys
import textwrap

import pytest


def run_python(code: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_import_path_loads_neither_cryptography_nor_rich():
    """PyJWT signs HS256 with hmac; cryptography's binding (~11 MB) and rich (~3 MB) stay out."""
    loaded = run_python("""
        import sys
        import gwsync.cli, gwsync.runner, gwsync.sync, gwsync.gateway.client
        print(sorted(m for m in ("cryptography", "rich", "paramiko", "openpyxl") if m in sys.modules))
    """)
    assert loaded == "[]"


def test_tokens_still_verify_and_cryptography_still_imports_afterwards():
    out = run_python("""
        from gwsync.gateway.auth import build_token
        key = bytes(range(32))
        token = build_token("11111111-2222-4333-8444-555555555555", key, issued_at=1)
        import jwt
        claims = jwt.decode(token, key, algorithms=["HS256"], options={"verify_exp": False})
        import cryptography.hazmat.primitives.hashes  # paramiko (SFTP) needs it in the same process
        print(claims["organization_guid"], claims["exp"] - claims["iat"])
    """)
    assert out == "11111111-2222-4333-8444-555555555555 3600"


# A large buffer freed, then another of the same size: glibc's dynamic threshold serves the second
# from the heap arena (kept after free); with ours it is mapped afresh (and unmapped when freed).
SECOND_BUFFER_MAPPED = """
    import ctypes, sys
    from gwsync.memory import return_large_buffers

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                     "fordblks", "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    applied = return_large_buffers() if sys.argv[-1] == "fixed" else False
    first = bytearray(300_000)
    del first
    before = libc.mallinfo2().hblks
    second = bytearray(300_000)
    print(applied, libc.mallinfo2().hblks - before)
"""


def glibc_with_mallinfo2() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        return hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2")
    except OSError:
        return False


def run_buffers(mode: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(SECOND_BUFFER_MAPPED), mode],
                          capture_output=True, text=True, env=env, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(not glibc_with_mallinfo2(), reason="glibc's malloc (2.33+) only; elsewhere it does nothing")
def test_a_freed_large_buffer_goes_back_to_the_system():
    assert run_buffers("default") == "False 0"  # glibc's own behaviour: kept in the heap after the first free
    assert run_buffers("fixed") == "True 1"  # ours: mapped, so freeing it returns it


@pytest.mark.skipif(not glibc_with_mallinfo2(), reason="glibc's malloc (2.33+) only")
def test_an_operators_own_threshold_wins():
    import os

    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "1048576"}
    applied, _ = run_buffers("fixed", env).split()
    assert applied == "False"
