"""IDX files and image datasets: the strict reader, the folder lookup, verified downloads, digits.

Every file is generated in ``tmp_path``; downloads come from a real HTTP server on 127.0.0.1. An
autouse fixture points every search folder into ``tmp_path`` and empties the mirror lists, so no
test reads the real cache or reaches the network.
"""

import gzip
import hashlib
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backproplab.data import images
from backproplab.data.idx import read_idx, write_idx
from backproplab.data.images import FILES, Source, load_dataset, search_dirs

REAL_SOURCES = dict(images.SOURCES)
TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = FILES


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("BACKPROPLAB_DATA", "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(images, "SYSTEM_DATA_DIR", tmp_path / "system")
    monkeypatch.setattr(images, "BACKOFF_S", 0.0)
    for name in REAL_SOURCES:
        monkeypatch.setitem(images.SOURCES, name, Source(files={}, mirrors=[]))


def cache(tmp_path: Path, name: str = "mnist") -> Path:
    return tmp_path / "cache" / "backproplab" / name


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def write_dataset(folder: Path, n_train: int = 6, n_test: int = 4, size: int = 3, seed: int = 0) -> None:
    """The four files of a tiny MNIST look-alike: ``size x size`` images, labels ``0, 1, 2, ...``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, size, size), dtype=np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))


@pytest.fixture
def payload(tmp_path: Path) -> dict[str, bytes]:
    """The bytes of each of the four files of a tiny dataset, as a mirror would serve them."""
    write_dataset(tmp_path / "staging")
    return {file: (tmp_path / "staging" / file).read_bytes() for file in FILES}


def use_mirrors(monkeypatch: pytest.MonkeyPatch, payload: dict[str, bytes], *mirrors: str) -> None:
    digests = {file: hashlib.sha256(data).hexdigest() for file, data in payload.items()}
    monkeypatch.setitem(images.SOURCES, "mnist", Source(files=digests, mirrors=list(mirrors)))


@dataclass
class Mirror:
    """A real HTTP server on 127.0.0.1: serves ``files`` at ``/<name>``, answers 503 to the first
    ``failures[name]`` requests for a name, and sends all but the last ``withheld`` bytes of each."""

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    withheld: int = 0
    requests: list[str] = field(default_factory=list)

    def count(self, file: str) -> int:
        return self.requests.count(file)


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    state = Mirror()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.lstrip("/")
            state.requests.append(name)
            if state.failures.get(name, 0) > 0:
                state.failures[name] -= 1
                self.send_error(503)
            elif name not in state.files:
                self.send_error(404)
            else:
                body = state.files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) - state.withheld])

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# --- IDX reader and writer -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trips_every_dtype(tmp_path: Path, dtype: type[np.generic], suffix: str) -> None:
    a = (np.arange(24) * 5 - 40).astype(dtype).reshape(2, 3, 4)
    write_idx(tmp_path / f"a.idx{suffix}", a)
    b = read_idx(tmp_path / f"a.idx{suffix}")
    assert b.dtype == a.dtype
    assert np.array_equal(a, b)


def test_idx_round_trips_one_element_and_one_dimension(tmp_path: Path) -> None:
    write_idx(tmp_path / "a.idx", np.array([7], dtype=np.uint8))
    assert read_idx(tmp_path / "a.idx").tolist() == [7]


def test_write_idx_compresses_only_names_ending_in_gz(tmp_path: Path) -> None:
    a = np.zeros((2, 2), dtype=np.uint8)
    write_idx(tmp_path / "raw.idx", a)
    write_idx(tmp_path / "packed.idx.gz", a)
    assert (tmp_path / "raw.idx").read_bytes()[:4] == b"\x00\x00\x08\x02"
    assert gzip.decompress((tmp_path / "packed.idx.gz").read_bytes()) == (tmp_path / "raw.idx").read_bytes()


def test_write_idx_refuses_a_dtype_idx_cannot_store_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="int64"):
        write_idx(tmp_path / "a.idx", np.zeros(3, dtype=np.int64))
    assert files_under(tmp_path) == []


@pytest.mark.parametrize(
    ("header", "found"),
    [(b"\x00\x01\x08\x01", "0x00010801"), (b"\x00\x00\x0a\x01", "0x00000A01"), (b"\x00\x00\x08\x00", "0x00000800")],
    ids=["nonzero-lead-bytes", "unknown-type-code", "zero-dimensions"],
)
def test_read_idx_rejects_a_bad_magic_number(tmp_path: Path, header: bytes, found: str) -> None:
    path = tmp_path / "bad.idx"
    path.write_bytes(header + b"\x00\x00\x00\x01" + b"\x00")
    with pytest.raises(ValueError, match=rf"bad\.idx: bad magic number {found}: expected 0x0000TTNN"):
        read_idx(path)


def test_read_idx_rejects_a_truncated_header(tmp_path: Path) -> None:
    path = tmp_path / "short.idx"
    path.write_bytes(b"\x00\x00\x08\x03" + b"\x00\x00\x00\x02")
    with pytest.raises(ValueError, match=r"short\.idx: truncated header: expected 16 bytes .* found 8"):
        read_idx(path)


def idx_bytes(extra: int) -> bytes:
    """A (2, 3, 4) ubyte IDX file with ``extra`` bytes of data added (or removed when negative)."""
    data = bytes(range(24 + extra)) if extra >= 0 else bytes(24 + extra)
    return b"\x00\x00\x08\x03" + b"".join(n.to_bytes(4, "big") for n in (2, 3, 4)) + data


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_rejects_truncated_data(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"cut.idx{suffix}"
    path.write_bytes(gzip.compress(idx_bytes(-1)) if suffix else idx_bytes(-1))
    with pytest.raises(ValueError, match=r"cut\.idx.*: truncated: expected 24 bytes of data .* found 23"):
        read_idx(path)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_rejects_over_long_data(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"long.idx{suffix}"
    path.write_bytes(gzip.compress(idx_bytes(5)) if suffix else idx_bytes(5))
    with pytest.raises(ValueError, match=r"long\.idx.*: over-long: expected 24 bytes of data .* found 29"):
        read_idx(path)


@pytest.mark.parametrize(
    "damage",
    [
        lambda gz: gz[:-8] + bytes([gz[-8] ^ 0xFF]) + gz[-7:],  # CRC-32 of the trailer no longer matches
        lambda gz: gz[: len(gz) // 2],  # the stream stops half-way
        lambda gz: b"not gzip at all",
    ],
    ids=["bad-crc", "cut-stream", "not-gzip"],
)
def test_read_idx_rejects_a_corrupt_gzip_file(tmp_path: Path, damage: Any) -> None:
    path = tmp_path / "broken.idx.gz"
    path.write_bytes(damage(gzip.compress(idx_bytes(0))))
    with pytest.raises(ValueError, match=r"broken\.idx\.gz: not a readable gzip file"):
        read_idx(path)


def test_read_idx_of_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "absent.idx")


# --- Loading from folders --------------------------------------------------------------------------


def test_unknown_dataset_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'cifar': expected one of digits, mnist, fashion-mnist"):
        load_dataset("cifar")


def test_search_dirs_puts_data_dir_then_env_then_cache_then_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKPROPLAB_DATA", str(tmp_path / "env"))
    assert search_dirs("mnist", tmp_path / "mine") == [
        tmp_path / "mine" / "mnist",
        tmp_path / "mine",
        tmp_path / "env" / "mnist",
        tmp_path / "cache" / "backproplab" / "mnist",
        tmp_path / "system" / "mnist",
    ]


def test_cache_defaults_to_dot_cache_in_home_without_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert images.cache_dir() == tmp_path / "home" / ".cache" / "backproplab"


ROOTS = ["data_dir", "env", "cache", "system"]


@pytest.mark.parametrize("first", range(len(ROOTS)), ids=ROOTS)
def test_the_first_folder_in_lookup_order_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: int) -> None:
    folders = [tmp_path / "mine" / "mnist", tmp_path / "env" / "mnist", cache(tmp_path), tmp_path / "system" / "mnist"]
    monkeypatch.setenv("BACKPROPLAB_DATA", str(tmp_path / "env"))
    for k in range(first, len(ROOTS)):
        write_dataset(folders[k], n_train=k + 1)  # the number of samples tells the folders apart
    # a given data_dir is the only place looked in; without one, the others are searched in order
    ds = load_dataset("mnist", data_dir=tmp_path / "mine" if first == 0 else None, download=False)
    assert len(ds.y_train) == first + 1


def test_a_given_data_dir_never_falls_back_to_another_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKPROPLAB_DATA", str(tmp_path / "env"))
    write_dataset(tmp_path / "env" / "mnist", n_train=2)
    with pytest.raises(FileNotFoundError, match=r"neither .* nor .* holds any of") as info:
        load_dataset("mnist", data_dir=tmp_path / "missing", download=False)
    assert str(tmp_path / "env") not in str(info.value)


def test_data_dir_may_hold_the_files_directly(tmp_path: Path) -> None:
    write_dataset(tmp_path / "mine", n_train=5)
    assert len(load_dataset("mnist", data_dir=tmp_path / "mine", download=False).y_train) == 5


def test_a_folder_missing_one_file_is_passed_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKPROPLAB_DATA", str(tmp_path / "env"))
    write_dataset(tmp_path / "env" / "mnist", n_train=2)
    (tmp_path / "env" / "mnist" / TEST_LABELS).unlink()
    write_dataset(cache(tmp_path), n_train=3)
    assert len(load_dataset("mnist", download=False).y_train) == 3


def test_images_are_float32_in_unit_range_with_a_channel_axis(tmp_path: Path) -> None:
    write_dataset(cache(tmp_path), n_train=6, n_test=4, size=3)
    ds = load_dataset("mnist", download=False)
    raw = read_idx(cache(tmp_path) / TRAIN_IMAGES)
    assert ds.x_train.shape == (6, 1, 3, 3)
    assert ds.x_test.shape == (4, 1, 3, 3)
    assert ds.x_train.dtype == np.float32
    assert np.array_equal(ds.x_train[:, 0], raw.astype(np.float32) / 255)
    assert 0.0 <= ds.x_train.min() <= ds.x_train.max() <= 1.0


def test_labels_are_int64_class_ids(tmp_path: Path) -> None:
    write_dataset(cache(tmp_path), n_train=6, n_test=4)
    ds = load_dataset("mnist", download=False)
    assert ds.y_train.dtype == np.int64
    assert ds.y_train.tolist() == [0, 1, 2, 3, 4, 5]
    assert ds.y_test.shape == (4,)
    assert ds.classes == [str(d) for d in range(10)]


def test_fashion_mnist_loads_from_the_debian_layout_with_named_classes(tmp_path: Path) -> None:
    write_dataset(tmp_path / "system" / "fashion-mnist")  # /usr/share/datasets/fashion-mnist/<file>
    ds = load_dataset("fashion-mnist", download=False)
    assert ds.name == "fashion-mnist"
    assert ds.classes[0] == "T-shirt/top"
    assert ds.classes[9] == "Ankle boot"


def test_a_label_count_unlike_the_image_count_names_both_files(tmp_path: Path) -> None:
    write_dataset(cache(tmp_path), n_train=6)
    write_idx(cache(tmp_path) / TRAIN_LABELS, np.zeros(5, dtype=np.uint8))
    with pytest.raises(ValueError, match=rf"{TRAIN_LABELS} holds 5 labels, .*{TRAIN_IMAGES} holds 6 images"):
        load_dataset("mnist", download=False)


def test_a_label_out_of_range_is_named_with_its_index(tmp_path: Path) -> None:
    write_dataset(cache(tmp_path), n_train=6)
    write_idx(cache(tmp_path) / TRAIN_LABELS, np.array([0, 1, 2, 10, 4, 5], dtype=np.uint8))
    with pytest.raises(ValueError, match=rf"{TRAIN_LABELS}: expected labels in 0\.\.9, found 10 at index 3"):
        load_dataset("mnist", download=False)


def test_images_of_the_wrong_rank_are_refused(tmp_path: Path) -> None:
    write_dataset(cache(tmp_path))
    write_idx(cache(tmp_path) / TEST_IMAGES, np.zeros((4, 9), dtype=np.uint8))
    with pytest.raises(ValueError, match=rf"{TEST_IMAGES}: expected unsigned-byte images of shape \(N, H, W\)"):
        load_dataset("mnist", download=False)


def test_a_truncated_file_in_the_cache_is_named(tmp_path: Path) -> None:
    write_dataset(cache(tmp_path))
    path = cache(tmp_path) / TRAIN_IMAGES
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-1]))
    with pytest.raises(ValueError, match=rf"{TRAIN_IMAGES}: truncated"):
        load_dataset("mnist", download=False)


# --- Nothing found ---------------------------------------------------------------------------------


def test_no_files_and_no_download_lists_every_place_and_the_fetch_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKPROPLAB_DATA", str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError) as info:
        load_dataset("mnist", download=False)
    message = str(info.value)
    for folder in search_dirs("mnist"):
        assert f"  {folder}\n" in message
    assert "backproplab train-cnn --dataset mnist" in message
    assert "BACKPROPLAB_DATA" in message


def test_no_download_never_contacts_a_mirror(monkeypatch: pytest.MonkeyPatch, mirror: Mirror) -> None:
    monkeypatch.setitem(images.SOURCES, "mnist", Source(files=dict.fromkeys(FILES, "0" * 64), mirrors=[mirror.url]))
    with pytest.raises(FileNotFoundError):
        load_dataset("mnist", download=False)
    assert mirror.requests == []


def test_no_fashion_mnist_suggests_the_debian_package() -> None:
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", download=False)


def test_offline_download_lists_every_place_and_why_each_mirror_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: dict[str, bytes]
) -> None:
    dead = closed_port_url()
    use_mirrors(monkeypatch, payload, dead)
    with pytest.raises(FileNotFoundError) as info:
        load_dataset("mnist")
    message = str(info.value)
    assert f"the download of {TRAIN_IMAGES}" in message
    assert f"{dead}{TRAIN_IMAGES}: " in message
    for folder in search_dirs("mnist"):
        assert f"  {folder}\n" in message
    assert "backproplab train-cnn --dataset mnist" in message
    assert files_under(tmp_path / "cache") == []


# --- Downloads ---------------------------------------------------------------------------------------


def test_a_download_lands_the_verified_files_and_loads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: dict[str, bytes], mirror: Mirror
) -> None:
    mirror.files = payload
    use_mirrors(monkeypatch, payload, mirror.url)
    ds = load_dataset("mnist")
    assert sorted(p.name for p in files_under(tmp_path / "cache")) == sorted(FILES)  # no temporary file left
    assert all((cache(tmp_path) / file).read_bytes() == data for file, data in payload.items())
    assert ds.x_train.shape == (6, 1, 3, 3)


def test_downloads_go_into_data_dir_when_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: dict[str, bytes], mirror: Mirror
) -> None:
    mirror.files = payload
    use_mirrors(monkeypatch, payload, mirror.url)
    load_dataset("mnist", data_dir=tmp_path / "mine")
    assert sorted(p.name for p in files_under(tmp_path / "mine" / "mnist")) == sorted(FILES)


def test_only_the_missing_files_are_downloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: dict[str, bytes], mirror: Mirror
) -> None:
    mirror.files = payload
    use_mirrors(monkeypatch, payload, mirror.url)
    cache(tmp_path).mkdir(parents=True)
    for file in (TRAIN_IMAGES, TRAIN_LABELS):
        (cache(tmp_path) / file).write_bytes(payload[file])
    load_dataset("mnist")
    assert sorted(mirror.requests) == sorted([TEST_IMAGES, TEST_LABELS])


def test_a_checksum_mismatch_names_the_file_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: dict[str, bytes], mirror: Mirror
) -> None:
    mirror.files = {**payload, TRAIN_IMAGES: payload[TRAIN_IMAGES] + b"tampered"}
    use_mirrors(monkeypatch, payload, mirror.url)
    with pytest.raises(FileNotFoundError, match=rf"{TRAIN_IMAGES}: sha256 mismatch: expected [0-9a-f]{{64}}, got"):
        load_dataset("mnist")
    assert files_under(tmp_path / "cache") == []
    assert not cache(tmp_path).exists()  # not even the empty folder it made for the download


@pytest.mark.parametrize("broken", ["404", "closed-port"])
def test_a_failing_mirror_falls_through_to_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: dict[str, bytes], mirror: Mirror, broken: str
) -> None:
    mirror.files = payload
    first = mirror.url + "missing/" if broken == "404" else closed_port_url()
    use_mirrors(monkeypatch, payload, first, mirror.url)
    load_dataset("mnist")
    assert sorted(p.name for p in files_under(cache(tmp_path))) == sorted(FILES)


def test_a_404_is_not_retried(monkeypatch: pytest.MonkeyPatch, payload: dict[str, bytes], mirror: Mirror) -> None:
    use_mirrors(monkeypatch, payload, mirror.url)  # the server holds no file
    with pytest.raises(FileNotFoundError, match="HTTP 404"):
        load_dataset("mnist")
    assert mirror.requests == [TRAIN_IMAGES]


def test_transient_server_errors_are_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: dict[str, bytes], mirror: Mirror
) -> None:
    mirror.files = payload
    mirror.failures = {TRAIN_IMAGES: images.RETRIES - 1}
    use_mirrors(monkeypatch, payload, mirror.url)
    load_dataset("mnist")
    assert mirror.count(TRAIN_IMAGES) == images.RETRIES
    assert (cache(tmp_path) / TRAIN_IMAGES).read_bytes() == payload[TRAIN_IMAGES]


def test_retries_back_off_exponentially(
    monkeypatch: pytest.MonkeyPatch, payload: dict[str, bytes], mirror: Mirror
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(images, "BACKOFF_S", 0.5)
    monkeypatch.setattr(time, "sleep", waits.append)
    mirror.files = payload
    mirror.failures = {TRAIN_IMAGES: 2}
    use_mirrors(monkeypatch, payload, mirror.url)
    load_dataset("mnist")
    assert waits == [0.5, 1.0]


def test_a_mirror_is_given_up_after_the_retries_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: dict[str, bytes], mirror: Mirror
) -> None:
    mirror.files = payload
    mirror.failures = {TRAIN_IMAGES: 100}
    use_mirrors(monkeypatch, payload, mirror.url)
    with pytest.raises(FileNotFoundError, match=rf"HTTP 503 .* \(after {images.RETRIES} attempts\)"):
        load_dataset("mnist")
    assert mirror.count(TRAIN_IMAGES) == images.RETRIES
    assert files_under(tmp_path / "cache") == []


def test_a_transfer_cut_short_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: dict[str, bytes], mirror: Mirror
) -> None:
    mirror.files = payload
    mirror.withheld = 10  # the server announces the whole file, sends less, then hangs up
    use_mirrors(monkeypatch, payload, mirror.url)
    with pytest.raises(
        FileNotFoundError, match=rf"transfer cut short: received \d+ of \d+ bytes \(after {images.RETRIES} attempts\)"
    ):
        load_dataset("mnist")
    assert files_under(tmp_path / "cache") == []


class InterruptedResponse:
    """A response that delivers one chunk, then the user presses Ctrl-C."""

    def __enter__(self) -> "InterruptedResponse":
        self.chunks = 0
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def read(self, size: int) -> bytes:
        self.chunks += 1
        if self.chunks > 1:
            raise KeyboardInterrupt
        return b"\x1f\x8b" * 100


def test_an_interrupted_download_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: dict[str, bytes]
) -> None:
    use_mirrors(monkeypatch, payload, "http://127.0.0.1:9/")
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: InterruptedResponse())
    with pytest.raises(KeyboardInterrupt):
        load_dataset("mnist")
    assert files_under(tmp_path / "cache") == []


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_real_sources_pin_a_sha256_for_every_file(name: str) -> None:
    source = REAL_SOURCES[name]
    assert sorted(source.files) == sorted(FILES)
    assert all(len(d) == 64 and set(d) <= set("0123456789abcdef") for d in source.files.values())
    assert source.mirrors
    assert all(m.endswith("/") for m in source.mirrors)


# --- digits ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits() -> images.ImageDataset:
    return load_dataset("digits")


def test_digits_are_float32_8x8_images_in_unit_range(digits: images.ImageDataset) -> None:
    assert digits.x_train.shape == (1437, 1, 8, 8)
    assert digits.x_test.shape == (360, 1, 8, 8)
    assert digits.x_train.dtype == np.float32
    assert digits.y_train.dtype == np.int64
    assert digits.x_train.min() == 0.0
    assert digits.x_train.max() == 1.0


def test_digits_hold_out_is_the_same_every_time(digits: images.ImageDataset) -> None:
    again = load_dataset("digits")
    assert np.array_equal(again.x_test, digits.x_test)
    assert np.array_equal(again.y_train, digits.y_train)


def test_digits_hold_out_has_every_class_in_both_splits(digits: images.ImageDataset) -> None:
    assert set(digits.y_train.tolist()) == set(range(10))
    assert set(digits.y_test.tolist()) == set(range(10))
    assert digits.classes == [str(d) for d in range(10)]
