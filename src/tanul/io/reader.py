"""Bounded reading of ``.tanul`` archives: what a hostile file can cost is limited up front.

Every load goes through :class:`Archive`, which

1. accepts only a **regular file** (``os.stat`` and ``S_ISREG`` before opening, ``fstat`` again
   on the opened descriptor, opened with ``O_NONBLOCK`` so that a FIFO swapped in between cannot
   block): FIFOs, devices such as ``/dev/zero``, sockets and directories are refused;
2. refuses files larger than :data:`MAX_FILE_BYTES` and never reads a file whole: the zip
   central directory is parsed from the open file, and each member is read on its own;
3. accepts only **stored** (uncompressed) members, as tanul writes them: deflate, bzip2, lzma
   and every other method are refused by name, so nothing is ever inflated and a member never
   yields more bytes than the file holds;
4. reads ``config.json`` only up to :data:`MAX_CONFIG_BYTES`, checks its nesting depth
   (:data:`MAX_JSON_DEPTH`) with a linear scan *before* ``json.loads`` (no ``RecursionError``)
   and refuses integers longer than :data:`MAX_INT_DIGITS` digits with the file named;
5. checks the ``arrays`` table of the config against the zip directory before reading any array:
   each declared array's dtype must be a real numeric type, its byte count
   ``prod(shape) · itemsize`` must fit the member's stored size, and the total is at most the
   file's size;
6. reads one ``.npy`` member only after its ``.npy`` header (parsed by NumPy's
   ``read_array_header_1_0/2_0``, every error wrapped) agrees with the config on shape, dtype
   and order, and the member's stored size is exactly header + data; the data are read straight
   into the final array (no pickle, no intermediate copy of the file).

Every problem is a :class:`ModelFileError` naming the file and saying what is wrong.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

__all__ = ["ModelFileError", "Archive", "MAX_FILE_BYTES", "MAX_DIRECTORY_BYTES", "MAX_CONFIG_BYTES",
           "MAX_JSON_DEPTH",
           "MAX_JSON_CONTAINERS",
           "MAX_INT_DIGITS", "MAX_NDIM", "read_json_file", "parse_json", "json_depth"]

#: Largest model, weights or checkpoint file that is opened at all (4 GiB).
MAX_FILE_BYTES = 4 * 2**30
#: Largest zip central directory (32 MiB, about 400,000 members with tanul's names): parsed
#: into one object per member, so it bounds that memory before ``zipfile`` builds them.
MAX_DIRECTORY_BYTES = 32 * 2**20
#: Largest ``config.json`` member (16 MiB; a 65,536-layer model of ReLUs takes about 5 MiB).
MAX_CONFIG_BYTES = 16 * 2**20
#: Deepest nesting of JSON arrays and objects (tanul's own configs reach about 8).
MAX_JSON_DEPTH = 64
#: Most arrays and objects in one JSON text (a 65,536-layer Dense model with Adam slots has about
#: 1.5 million); bounds the memory of the parsed config to about 10x its 16 MiB.
MAX_JSON_CONTAINERS = 2**21
#: Longest integer literal in JSON, in digits (Python's own default ``int`` limit).
MAX_INT_DIGITS = 4300
#: Most dimensions of a stored array.
MAX_NDIM = 32

#: what the zip reader may raise on damaged bytes (found by tests/test_fuzz_io.py)
READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, struct.error, OSError,
               NotImplementedError, RuntimeError, UnicodeDecodeError, OverflowError, IndexError,
               KeyError, TypeError, AttributeError)

_METHODS = {zipfile.ZIP_DEFLATED: "deflate", 9: "deflate64", zipfile.ZIP_BZIP2: "bzip2",
            zipfile.ZIP_LZMA: "lzma", 93: "zstandard", 98: "PPMd", 99: "AES encryption"}
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))
#: dtypes an array in a tanul file may have: booleans, integers and floats (no objects,
#: strings, structured records or complex numbers)
_ARRAY_KINDS = "biuf"


class ModelFileError(ValueError):
    """A file is not a valid tanul model/weights/checkpoint file (the message says why)."""


#: Longest problem description in a ModelFileError (names in a file can be megabytes long).
MAX_MESSAGE_CHARS = 1000


def cut(what: str) -> str:
    """``what``, shortened to :data:`MAX_MESSAGE_CHARS` characters."""
    return what if len(what) <= MAX_MESSAGE_CHARS else what[:MAX_MESSAGE_CHARS] + " ... (message cut)"


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: Path, max_bytes: int, error: Any) -> tuple[Any, int]:
    """Open ``path`` for reading if it is a regular file of at most ``max_bytes``.

    ``error(what)`` makes the exception; returns ``(binary file, size)``.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file: {path}") from None
    except OSError as exc:
        raise error(f"cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"is {_kind(st.st_mode)}, not a regular file")
    if st.st_size > max_bytes:
        raise error(f"is {st.st_size:,} bytes, more than the {max_bytes:,} bytes tanul reads")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise error(f"cannot be opened: {exc.strerror or exc}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:  # replaced after os.stat
        os.close(fd)
        raise error(f"is {_kind(st.st_mode)} or changed size while it was opened")
    return os.fdopen(fd, "rb"), st.st_size


# ---------------------------------------------------------------------- JSON
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_depth(raw: bytes, limit: int, max_containers: int | None = None) -> tuple[int, int]:
    """``(deepest nesting, number of arrays and objects)`` of JSON text ``raw``, stopping early
    once the depth passes ``limit`` or the count passes ``max_containers``.

    A linear scan over brackets and strings (a bracket inside a string does not count), run
    before ``json.loads`` so that deep nesting is refused without recursion and a config of
    millions of tiny objects without building them.
    """
    depth = deepest = count = 0
    cap = max_containers if max_containers is not None else len(raw)
    for m in _TOKENS.finditer(raw):
        c = m.group()[:1]
        if c in (b"[", b"{"):
            depth += 1
            count += 1
            if count > cap:
                return deepest, count
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest, count
        elif c in (b"]", b"}"):
            depth -= 1
    return deepest, count


class _BigInt(Exception):
    pass


def _parse_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _BigInt(digits)
    try:
        return int(text)
    except ValueError:  # a lower sys.set_int_max_str_digits limit
        raise _BigInt(digits) from None


def parse_json(raw: bytes, where: str, error: Any) -> Any:
    """``json.loads`` with the depth and integer-size limits; ``error(what)`` makes the exception."""
    depth, count = json_depth(raw, MAX_JSON_DEPTH, MAX_JSON_CONTAINERS)
    if depth > MAX_JSON_DEPTH:
        raise error(f"{where} nests arrays/objects more than {MAX_JSON_DEPTH} deep")
    if count > MAX_JSON_CONTAINERS:
        raise error(f"{where} holds more than {MAX_JSON_CONTAINERS:,} arrays/objects")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{where} is not UTF-8 text: {exc}") from None
    try:
        return json.loads(text, parse_int=_parse_int)
    except _BigInt as exc:
        raise error(f"{where} holds an integer of {exc.args[0]:,} digits (at most "
                    f"{MAX_INT_DIGITS:,} are read)") from None
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise error(f"{where} is not valid JSON: {exc or type(exc).__name__}") from None


def read_json_file(path: str | os.PathLike, max_bytes: int = 2**20) -> Any:
    """Read a small JSON file (such as a run's ``run.json``) within the same limits as model
    files: a regular file of at most ``max_bytes``, bounded nesting and integer sizes.

    Raises ``FileNotFoundError`` or :class:`ModelFileError` (naming the file)."""
    path = Path(path)

    def error(what: str) -> ModelFileError:
        return ModelFileError(f"{path}: {cut(what)}")

    f, _ = open_regular(path, max_bytes, error)
    with f:
        raw = f.read(max_bytes + 1)
    return parse_json(raw, "the file", error)


# ---------------------------------------------------------------------- arrays
class ArraySpec:
    """One entry of the config's ``arrays`` table, validated: shape, dtype, byte count."""

    __slots__ = ("shape", "dtype", "nbytes")

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.shape, self.dtype = shape, dtype
        self.nbytes = math.prod(shape) * dtype.itemsize


def array_spec(meta: Any, member: str, error: Any) -> ArraySpec:
    if not isinstance(meta, dict):
        raise error(f"arrays[{member!r}] must be an object with shape and dtype, found {meta!r:.80}")
    shape, dtype = meta.get("shape"), meta.get("dtype")
    if not isinstance(shape, list) or len(shape) > MAX_NDIM or not all(
            type(d) is int and 0 <= d < 2**63 for d in shape):
        raise error(f"arrays[{member!r}]: shape must be a list of at most {MAX_NDIM} non-negative "
                    f"ints, found {shape!r:.80}")
    if not isinstance(dtype, str) or len(dtype) > 8:
        raise error(f"arrays[{member!r}]: dtype must be a NumPy type string such as '<f4', "
                    f"found {dtype!r:.80}")
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError, SyntaxError):
        dt = None
    if dt is None or dt.kind not in _ARRAY_KINDS or dt.fields is not None or dt.subdtype is not None \
            or dt.str != dtype:
        raise error(f"arrays[{member!r}]: dtype {dtype!r} is not a boolean, integer or float type "
                    "(tanul stores only those)")
    return ArraySpec(tuple(shape), dt)


class Archive:
    """An opened ``.tanul`` file whose config has been read and checked against its zip directory.

    Use as a context manager (the file stays open until :meth:`close`).
    """

    def __init__(self, path: str | os.PathLike, *, formats: tuple[str, int] = ("tanul", 1)) -> None:
        self.path = Path(path)
        self.file, self.size = open_regular(self.path, MAX_FILE_BYTES, self.error)
        try:
            self._open(formats)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ opening
    def _open(self, formats: tuple[str, int]) -> None:
        try:  # the end record says how big the central directory is: check before parsing it
            end = zipfile._EndRecData(self.file)
        except (*READ_ERRORS, AttributeError):  # (a private helper of zipfile; absent: skip)
            end = None
        if end and end[zipfile._ECD_SIZE] > MAX_DIRECTORY_BYTES:
            raise self.error(f"its zip directory is {end[zipfile._ECD_SIZE]:,} bytes, more than the "
                             f"{MAX_DIRECTORY_BYTES:,} bytes tanul reads")
        try:
            self.file.seek(0)
            self.zf = zipfile.ZipFile(self.file)
            infos = self.zf.infolist()
        except (*READ_ERRORS, MemoryError) as exc:
            raise self.error(f"not a tanul file (not a zip archive, or truncated): "
                             f"{exc or type(exc).__name__}") from None
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if info.filename in self.infos:
                raise self.error(f"the zip archive holds {info.filename!r} twice")
            self.infos[info.filename] = info
        info = self.infos.get("config.json")
        if info is None:
            raise self.error("not a tanul file: config.json is missing")
        self._check_stored(info, "config.json")
        if info.file_size > MAX_CONFIG_BYTES:
            raise self.error(f"config.json is {info.file_size:,} bytes, more than the "
                             f"{MAX_CONFIG_BYTES:,} bytes tanul reads")
        raw = self._read_member(info, "config.json", MAX_CONFIG_BYTES)
        self.config = parse_json(raw, "config.json", self.error)
        if not isinstance(self.config, dict):
            raise self.error(f"config.json must hold an object, found {type(self.config).__name__}")
        fmt, newest = formats
        if self.config.get("format") != fmt:
            raise self.error(f"not a tanul file: config.json has format {self.config.get('format')!r:.80}")
        version = self.config.get("format_version")
        if type(version) is not int:
            raise self.error(f"format_version must be an int, found {version!r:.80}")
        if version > newest:
            tv = self.config.get("tanul_version", "?")
            raise self.error(f"format version {version} is newer than this tanul reads "
                             f"({newest}); upgrade tanul (file written by tanul {str(tv)[:40]})")
        if version < 1:
            raise self.error(f"unknown format version {version}")
        manifest = self.config.get("arrays")
        if not isinstance(manifest, dict):
            raise self.error("config.json has no 'arrays' table")
        self.manifest: dict[str, ArraySpec] = {}
        total = 0
        for member, meta in manifest.items():
            spec = array_spec(meta, member, self.error)
            info = self.infos.get(member)
            if info is None:
                raise self.error(f"array {member!r} is missing")
            self._check_stored(info, f"array {member!r}")
            if info.file_size < spec.nbytes:
                raise self.error(f"array {member!r}: config.json declares shape {list(spec.shape)} "
                                 f"{spec.dtype.str} ({spec.nbytes:,} bytes), but the member holds "
                                 f"only {info.file_size:,} bytes")
            total += spec.nbytes
            self.manifest[member] = spec
        if total > self.size:
            raise self.error(f"config.json declares {total:,} bytes of arrays, more than the "
                             f"file's {self.size:,} bytes")

    def error(self, what: str) -> ModelFileError:
        return ModelFileError(f"{self.path}: {cut(what)}")

    def close(self) -> None:
        zf = getattr(self, "zf", None)
        if zf is not None:
            zf.close()
        self.file.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ members
    def _check_stored(self, info: zipfile.ZipInfo, what: str) -> None:
        if info.flag_bits & 0x1:
            raise self.error(f"{what} is encrypted; tanul files are never encrypted")
        if info.compress_type != zipfile.ZIP_STORED:
            method = _METHODS.get(info.compress_type, f"method {info.compress_type}")
            raise self.error(f"{what} is compressed ({method}); tanul writes stored (uncompressed) "
                             "members and reads only those")
        if info.compress_size != info.file_size:
            raise self.error(f"{what} is stored with {info.compress_size:,} bytes but claims "
                             f"{info.file_size:,}; the zip directory is corrupted")
        if info.header_offset + info.compress_size > self.size:
            raise self.error(f"{what} extends past the end of the file (truncated?)")

    def _read_member(self, info: zipfile.ZipInfo, what: str, limit: int) -> bytes:
        try:
            with self.zf.open(info) as f:
                raw = f.read(limit + 1)
        except (*READ_ERRORS, MemoryError) as exc:
            raise self.error(f"{what} is corrupted: {exc or type(exc).__name__}") from None
        if len(raw) != info.file_size:
            raise self.error(f"{what} holds {len(raw):,} bytes, not the {info.file_size:,} the zip "
                             "directory says")
        return raw

    def array(self, member: Any) -> np.ndarray:
        """Read one declared array, checking its ``.npy`` header before reading any data."""
        if not isinstance(member, str):
            raise self.error(f"an array reference must be a member name, found {member!r:.80}")
        spec = self.manifest.get(member)
        if spec is None:
            raise self.error(f"array {member!r} is not listed in config.json")
        info = self.infos[member]
        try:
            with self.zf.open(info) as f:
                header = self._npy_header(f, member)
                shape, fortran, dtype = header
                if list(shape) != list(spec.shape) or dtype != spec.dtype or fortran:
                    raise self.error(
                        f"array {member!r} has shape {shape} and dtype {dtype.str}"
                        f"{' (Fortran order)' if fortran else ''} in its .npy header, but config.json "
                        f"says {list(spec.shape)} / {spec.dtype.str}")
                start = f.tell()
                if info.file_size != start + spec.nbytes:
                    raise self.error(f"array {member!r}: the member holds {info.file_size:,} bytes, "
                                     f"but a {start}-byte header and {spec.nbytes:,} bytes of data "
                                     f"make {start + spec.nbytes:,}")
                a = np.empty(spec.shape, spec.dtype)
                view = memoryview(a.reshape(-1)).cast("B") if a.size else memoryview(b"")
                got = 0
                while got < spec.nbytes:
                    n = f.readinto(view[got:])
                    if not n:
                        break
                    got += n
                if got != spec.nbytes or f.read(1):
                    raise self.error(f"array {member!r} is truncated")
        except ModelFileError:
            raise
        except (*READ_ERRORS, MemoryError) as exc:
            raise self.error(f"array {member!r} is corrupted: {exc or type(exc).__name__}") from None
        return a

    def _npy_header(self, f: Any, member: str) -> tuple[tuple[int, ...], bool, np.dtype]:
        try:
            version = npy_format.read_magic(f)
            if version == (1, 0):
                return npy_format.read_array_header_1_0(f)
            if version == (2, 0):
                return npy_format.read_array_header_2_0(f)
            raise ValueError(f".npy format version {version} (tanul writes 1.0)")
        except zipfile.BadZipFile:  # a bad CRC (a small member is read whole): the member is corrupted
            raise
        except Exception as exc:  # numpy's parser raises ValueError, SyntaxError, TokenError...
            raise self.error(f"array {member!r} cannot be read: its .npy header is malformed "
                             f"({type(exc).__name__}: {exc or 'no detail'}); tanul never stores "
                             "pickled objects") from None
