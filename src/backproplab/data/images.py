"""Image classification datasets as ``(N, 1, H, W)`` float32 arrays: 8x8 digits, MNIST, Fashion-MNIST.

``load_dataset(name)`` returns an :class:`ImageDataset`. ``"digits"`` is scikit-learn's bundled 8x8
set (no network). ``"mnist"`` and ``"fashion-mnist"`` are read from their four standard IDX files
(:data:`FILES`). When ``data_dir`` is given, ``<data_dir>/<name>/`` or ``<data_dir>/`` itself is the
only place looked in (:func:`data_dir_files`): the files are read from it or downloaded into it,
never taken from another folder behind the caller's back. Otherwise they come from the first of
these folders that holds all four (:func:`search_dirs`):

1. ``$BACKPROPLAB_DATA/<name>/``;
2. the user cache, ``$XDG_CACHE_HOME/backproplab/<name>/`` (by default ``~/.cache/backproplab/<name>/``);
3. ``/usr/share/datasets/<name>/``, where Debian's ``dataset-fashion-mnist`` package puts its files.

When none does and ``download=True``, the missing files are downloaded into the first of those
folders from the dataset's mirrors (:data:`SOURCES`), tried in order with retries. Each download
streams into a temporary file that is renamed into place only once its SHA-256 matches, so no
partial or unverified file is ever left behind. Files found in a folder are not checked against
those digests (Debian's copies differ from the originals in their gzip header); :func:`read_idx`
checks their structure instead.
"""

import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backproplab._io import atomic_write
from backproplab._typing import FloatArray, IntArray
from backproplab.data.idx import read_idx

DATASETS = ("digits", "mnist", "fashion-mnist")
FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
SYSTEM_DATA_DIR = Path("/usr/share/datasets")  # Debian's dataset-* packages install here
RETRIES = 3  # attempts per mirror for errors that may pass (timeouts, 5xx, dropped connections)
BACKOFF_S = 1.0  # the k-th retry waits BACKOFF_S * 2**(k - 1) seconds
_CHUNK = 1 << 16  # bytes read per step while streaming a download

CLASSES: dict[str, list[str]] = {
    "digits": [str(d) for d in range(10)],
    "mnist": [str(d) for d in range(10)],
    "fashion-mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
}
_APT_PACKAGES = {"fashion-mnist": "dataset-fashion-mnist"}


@dataclass(frozen=True)
class Source:
    """Where a dataset is downloaded from.

    ``files`` maps each file name to the SHA-256 (hex) of its bytes; ``mirrors`` are base URLs
    ending in ``/``, tried in order.
    """

    files: dict[str, str]
    mirrors: list[str]


# SHA-256 of the original .gz files, as pinned by tensorflow_datasets (url_checksums/mnist.txt,
# fashion_mnist.txt) and many other projects. The Fashion-MNIST ones were also checked against the
# Debian package, whose files hold the same compressed data under a gzip header without name and mtime.
SOURCES: dict[str, Source] = {
    "mnist": Source(
        files={
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        mirrors=[
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ],
    ),
    "fashion-mnist": Source(
        files={
            "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
        mirrors=[
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ],
    ),
}


@dataclass
class ImageDataset:
    """A train/test split of grey-scale images.

    ``x_train: (N, 1, H, W)`` and ``x_test: (M, 1, H, W)`` float32 in ``[0, 1]``;
    ``y_train: (N,)`` and ``y_test: (M,)`` int64 class ids indexing ``classes``.
    """

    name: str
    x_train: FloatArray
    y_train: IntArray
    x_test: FloatArray
    y_test: IntArray
    classes: list[str]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        _, c, h, w = self.x_train.shape
        return c, h, w


def load_dataset(
    name: str, data_dir: str | os.PathLike[str] | None = None, download: bool = True, timeout: float = 30.0
) -> ImageDataset:
    """The dataset ``name`` (one of :data:`DATASETS`) as an :class:`ImageDataset`.

    ``"digits"``: 1437 train / 360 test images of shape ``(1, 8, 8)``, a fixed stratified 20% hold-out.
    ``"mnist"``, ``"fashion-mnist"``: 60000 / 10000 images of shape ``(1, 28, 28)``, found or
    downloaded as the module docstring describes; ``timeout`` (seconds) bounds each network wait.
    Raises ``FileNotFoundError`` listing every folder searched when the files are neither found nor
    downloaded, and ``ValueError`` naming the file when one is not a sound IDX file.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")
    if name == "digits":
        return _load_digits()
    folder = _find_or_download(name, data_dir, download, timeout)
    n_classes = len(CLASSES[name])
    x_train, y_train = _read_split(folder / FILES[0], folder / FILES[1], n_classes)
    x_test, y_test = _read_split(folder / FILES[2], folder / FILES[3], n_classes)
    return ImageDataset(name, x_train, y_train, x_test, y_test, list(CLASSES[name]))


def search_dirs(name: str, data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders searched for ``name``'s files, in order; downloads go into the first one."""
    dirs = []
    if data_dir is not None:
        dirs += [Path(data_dir).expanduser() / name, Path(data_dir).expanduser()]
    if env := os.environ.get("BACKPROPLAB_DATA"):
        dirs.append(Path(env).expanduser() / name)
    return [*dirs, cache_dir() / name, SYSTEM_DATA_DIR / name]


def cache_dir() -> Path:
    """The user cache: ``$XDG_CACHE_HOME/backproplab``, or ``~/.cache/backproplab``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"  # the XDG spec ignores relative paths
    return base / "backproplab"


def data_dir_files(name: str, data_dir: str | os.PathLike[str]) -> tuple[Path, list[str]]:
    """Of ``<data_dir>/<name>/`` and ``<data_dir>/``, the folder holding more of :data:`FILES` (the
    first on a tie), and the files it lacks, in :data:`FILES` order."""
    folders = [Path(data_dir).expanduser() / name, Path(data_dir).expanduser()]
    lacking = [[file for file in FILES if not (folder / file).is_file()] for folder in folders]
    best = 0 if len(lacking[0]) <= len(lacking[1]) else 1
    return folders[best], lacking[best]


def _find_or_download(name: str, data_dir: str | os.PathLike[str] | None, download: bool, timeout: float) -> Path:
    """The first folder holding all of :data:`FILES`, after downloading the missing ones if need be.
    A given ``data_dir`` is the only place looked in (never a silent fall back to another folder)."""
    if data_dir is not None:
        target, lacking = data_dir_files(name, data_dir)
        if not lacking:
            return target
        dirs = search_dirs(name, data_dir)[:2]
        if len(lacking) == len(FILES):
            why = f"{name}: neither {dirs[0]} nor {dirs[1]} holds any of {', '.join(FILES)}"
        else:
            why = f"{name}: {target} lacks {', '.join(lacking)}"
    else:
        dirs = search_dirs(name, data_dir)
        for folder in dirs:
            if all((folder / file).is_file() for file in FILES):
                return folder
        target = dirs[0]
        why = f"{name}: no folder holds all of {', '.join(FILES)}"
    looked = "Looked in:\n" + "\n".join(f"  {folder}" for folder in dirs)
    if not download:
        raise FileNotFoundError(f"{why} (download=False).\n{looked}\n{_how_to_get(name, target)}")
    created = not target.exists()
    try:
        _download_missing(SOURCES[name], target, timeout)
    except _DownloadError as e:
        if created and not any(target.iterdir()):
            target.rmdir()  # a failed first download leaves no trace, not even an empty folder
        raise FileNotFoundError(f"{name}: not found, and {e}\n{looked}\n{_how_to_get(name, target)}") from e
    return target


def _how_to_get(name: str, target: Path) -> str:
    command = f"backproplab train-cnn --dataset {name}  (downloads before it trains)"
    ways = [
        f"download it (online) into {target}: {command}",
        f"put the four files in one of the folders above, or in $BACKPROPLAB_DATA/{name}/",
    ]
    if name in _APT_PACKAGES:
        ways.append(f"sudo apt-get install {_APT_PACKAGES[name]}  (puts them in {SYSTEM_DATA_DIR / name})")
    return "To get the data, any one of:\n" + "\n".join(f"  - {way}" for way in ways)


class _DownloadError(Exception):
    """No mirror delivered a file with the expected digest."""


class _DigestMismatchError(Exception):
    """A mirror delivered bytes whose SHA-256 is not the expected one."""


def _download_missing(source: Source, folder: Path, timeout: float) -> None:
    """Download each of :data:`FILES` that ``folder`` lacks, from the first mirror that serves it intact."""
    folder.mkdir(parents=True, exist_ok=True)
    for file in FILES:
        target = folder / file
        if target.is_file():
            continue
        failures = []
        for mirror in source.mirrors:
            url = mirror + file
            failure = _try_mirror(url, target, source.files[file], timeout)
            if failure is None:
                break
            failures.append(f"  {url}: {failure}")
        else:
            tried = "\n".join(failures) or "  (no mirror is configured)"
            raise _DownloadError(f"the download of {file} into {folder} failed:\n{tried}")


def _try_mirror(url: str, target: Path, sha256: str, timeout: float) -> str | None:
    """Download ``url`` into ``target`` in up to :data:`RETRIES` attempts: ``None``, or why it failed."""
    reason = "not attempted"
    for attempt in range(1, RETRIES + 1):
        try:
            _fetch(url, target, sha256, timeout)
            return None
        except _DigestMismatchError as e:
            return str(e)  # this mirror serves other bytes: asking again will not change them
        except urllib.error.HTTPError as e:
            e.close()
            reason = f"HTTP {e.code} {e.reason}"
            if e.code < 500 and e.code not in (408, 429):
                return reason  # a missing or forbidden file stays so
        except (OSError, http.client.HTTPException) as e:  # refused, reset, timed out, cut short
            reason = f"{type(e).__name__}: {e}"
        if attempt < RETRIES:
            time.sleep(BACKOFF_S * 2 ** (attempt - 1))
    return f"{reason} (after {RETRIES} attempts)"


def _fetch(url: str, target: Path, sha256: str, timeout: float) -> None:
    """Stream ``url`` into a temporary file beside ``target``, renamed to ``target`` only if its
    SHA-256 is ``sha256``; on any failure, interrupts included, the temporary file is removed."""
    digest, received = hashlib.sha256(), 0
    with atomic_write(target) as out, urllib.request.urlopen(url, timeout=timeout) as response:
        while chunk := response.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
            received += len(chunk)
        announced = response.headers.get("Content-Length")
        if announced is not None and received != int(announced):  # read(n) just stops when the server hangs up
            raise ConnectionError(f"transfer cut short: received {received} of {announced} bytes")
        if digest.hexdigest() != sha256:
            raise _DigestMismatchError(f"sha256 mismatch: expected {sha256}, got {digest.hexdigest()}")


def _read_split(images_path: Path, labels_path: Path, n_classes: int) -> tuple[FloatArray, IntArray]:
    """``x: (N, 1, H, W)`` float32 in ``[0, 1]`` and ``y: (N,)`` int64 from an IDX images/labels pair."""
    images = read_idx(images_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(
            f"{images_path}: expected unsigned-byte images of shape (N, H, W), found {images.dtype} {images.shape}"
        )
    labels = read_idx(labels_path)
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(
            f"{labels_path}: expected unsigned-byte labels of shape (N,), found {labels.dtype} {labels.shape}"
        )
    if len(labels) != len(images):
        raise ValueError(
            f"expected one label per image: {labels_path} holds {len(labels)} labels, "
            f"{images_path} holds {len(images)} images"
        )
    out_of_range = np.flatnonzero(labels >= n_classes)
    if out_of_range.size:
        i = int(out_of_range[0])
        raise ValueError(f"{labels_path}: expected labels in 0..{n_classes - 1}, found {labels[i]} at index {i}")
    x = images.astype(np.float32)[:, None]  # (N, 1, H, W)
    x /= 255.0
    return x, labels.astype(np.int64)


def _load_digits() -> ImageDataset:
    """scikit-learn's 1797 8x8 digits (values 0..16, scaled to [0, 1]) with a fixed stratified 20% hold-out."""
    # imported here: scikit-learn takes a second to import, and only this dataset needs it
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    return ImageDataset("digits", x_train, y_train, x_test, y_test, list(CLASSES["digits"]))
