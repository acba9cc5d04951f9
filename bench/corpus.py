"""Fetch the corpus of bench/robustness.py: real photographs and unrelated pictures, all from
Debian packages, into a cache directory outside the repository (nothing here is committed).

- originals/: real photographs (wallpaper packages, GCompris' photo activities, the sample
  photos of opencv-doc, python3-skimage and stellarium-data), chosen by hand from contact sheets;
- distractors/: pictures unrelated to any original, hard ones included: wallpaper renders and
  same-series variants, near-uniform night skies and star fields, GIMP manual screenshots and
  its series of filtered example photos, paper and brick textures, chessboard series;
- hardneg/: other shots of an original's scene (stereo pairs, other views), reported apart;
- photographs/: the originals that are files of their package, as the package ships them (full
  size, their own format), for `credlink bench --photographs`.

Pictures are flattened to RGB, scaled to at most 1280 pixels a side and saved as PNG; a
picture within 6 pHash bits of one already kept is skipped. `manifest.csv` lists them.

    .venv/bin/python bench/corpus.py [--cache ~/.cache/credlink/cdn-corpus]

Needs `apt-get download` (Debian bookworm sources) and `dpkg-deb`; about 800 MB of packages.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import struct
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import astuple, dataclass, fields
from pathlib import Path

import imagehash
from PIL import Image, ImageOps

DEFAULT_CACHE = Path.home() / ".cache" / "credlink" / "cdn-corpus"
MAX_SIDE = 1280
DUPLICATE_BITS = 6
MIN_SIDE = 64

WALLPAPER_PACKAGES = (
    "gnome-backgrounds",
    "mate-backgrounds",
    "ukui-wallpapers",
    "desktop-base",
    "plasma-workspace-wallpapers",
    "lomiri-wallpapers",
    "lomiri-wallpapers-16.04",
    "lomiri-wallpapers-20.04",
    "lxqt-themes",
    "sway-backgrounds",
    "xfdesktop4-data",
    "debian-edu-artwork-emerald",
)
PACKAGES = (
    *WALLPAPER_PACKAGES,
    "gcompris-qt-data",
    "stellarium-data",
    "opencv-doc",
    "python3-skimage",
    "gimp-help-en",
    "krita-data",
    "mypaint-data-extras",
    "gimp-data",
)

# The real photographs among the wallpapers (the rest are renders and graphics), by package
# and path under usr/share.
WALLPAPER_PHOTOS = {
    "lomiri-wallpapers-20.04": (
        "backgrounds/Kleiber_by_Lukas_Baubkus.jpg",
        "backgrounds/Infinite-Sea_by_Aury88.jpg",
    ),
    "lomiri-wallpapers-16.04": (
        "backgrounds/seeding_by_Clements_Engelhardt.jpg",
        "backgrounds/Dragonfly_by_Bolly.jpg",
        "backgrounds/sunset_by_Aitzol_Berasategi.jpg",
        "backgrounds/Bridge_by_Sander_Klootwijk.jpg",
        "backgrounds/Wine_by_Jakkub_Mede.jpg",
        "backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg",
        "backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg",
        "backgrounds/friends_by_Aitzol_Berasategi.jpg",
        "backgrounds/life_by_Aitzol_Berasategi.jpg",
        "backgrounds/Picture_0B_by_freespace.jpg",
        "backgrounds/Picture_1A_by_freespace.jpg",
    ),
    "lxqt-themes": (
        "lxqt/themes/silver/beam.png",
        *(
            f"lxqt/wallpapers/{name}"
            for name in (
                "butterfly.png",
                "flowers.png",
                "after-the-rain.jpg",
                "appleflower.png",
                "fog.jpg",
                "cloud.png",
                "this-is-not-windows.jpg",
                "drop.png",
                "Butterfly-Kenneth-Wimer.jpg",
                "Valendas.png",
            )
        ),
    ),
    "mate-backgrounds": tuple(
        f"backgrounds/mate/nature/{name}.jpg"
        for name in (
            "Wood",
            "Garden",
            "Aqua",
            "TwoWings",
            "LadyBird",
            "YellowFlower",
            "Storm",
            "RainDrops",
            "Blinds",
            "FreshFlower",
            "Dune",
            "GreenMeadow",
        )
    ),
    "plasma-workspace-wallpapers": tuple(
        f"wallpapers/{name}/contents/images/1920x1080.jpg"
        for name in (
            "FallenLeaf",
            "Path",
            "DarkestHour",
            "summer_1am",
            "EveningGlow",
            "Grey",
            "Kite",
            "OneStandsOut",
            "ColdRipple",
            "BytheWater",
        )
    ),
}

# GCompris' Qt resource bundles whose pictures are all real photographs (animals, monuments).
GCOMPRIS_PHOTO_BUNDLES = ("erase", "explore_monuments", "explore_world_animals")
GCOMPRIS_RESOURCES = "gcompris-qt-data/usr/share/gcompris-qt/rcc"

_OPENCV = "opencv-doc/usr/share/doc/opencv-doc/examples/data/"
_SKIMAGE = "python3-skimage/usr/lib/python3/dist-packages/skimage/data/"
_STELLARIUM = "stellarium-data/usr/share/stellarium/"

# Real photographs in other data packages, by path under the extracted packages.
DATA_PHOTOS = (
    *(
        _OPENCV + name
        for name in (
            "aero1.jpg",
            "aloeL.jpg",
            "apple.jpg",
            "baboon.jpg",
            "basketball1.png",
            "board.jpg",
            "building.jpg",
            "butterfly.jpg",
            "chicky_512.png",
            "ela_original.jpg",
            "fruits.jpg",
            "graf1.png",
            "home.jpg",
            "leuvenA.jpg",
            "licenseplate_motion.jpg",
            "messi5.jpg",
            "orange.jpg",
            "left.jpg",
            "rubberwhale1.png",
            "squirrel_cls.jpg",
            "stuff.jpg",
        )
    ),
    *(
        _SKIMAGE + name
        for name in (
            "astronaut.png",
            "chelsea.png",
            "coffee.png",
            "coins.png",
            "camera.png",
            "rocket.jpg",
            "motorcycle_left.png",
            "retina.jpg",
        )
    ),
    *(
        _STELLARIUM + "landscapes/" + name
        for name in (
            "garching/garching-gl1.png",
            "hurricane/hurricane1.png",
            "mars/mars.png",
            "moon/apollo17.png",
            "guereins/guereins8.png",
        )
    ),
)

# Other shots of an original's scene: neither the same picture nor an unrelated one.
SAME_SCENE = (
    *(
        _OPENCV + name
        for name in (
            "aero3.jpg",
            "aloeR.jpg",
            "basketball2.png",
            "graf3.png",
            "leuvenB.jpg",
            "rubberwhale2.png",
            "right.jpg",
            "box.png",
            "box_in_scene.png",
        )
    ),
    _SKIMAGE + "motorcycle_right.png",
    *(_STELLARIUM + f"landscapes/garching/garching-gl{index}.png" for index in (2, 3, 4)),
    *(_STELLARIUM + f"landscapes/hurricane/hurricane{index}.png" for index in range(2, 9)),
    *(_STELLARIUM + f"landscapes/guereins/guereins{index}.png" for index in range(1, 8)),
)
# Edited copies of an original: they are the original, so they are no distractor either.
DERIVED_COPIES = (_OPENCV + "ela_modified.jpg", _OPENCV + "aloeGT.png")

SKIMAGE_TEXTURES = (
    "brick.png",
    "grass.png",
    "gravel.png",
    "moon.png",
    "hubble_deep_field.jpg",
    "page.png",
    "text.png",
    "ihc.png",
    "cell.png",
)
_PICTURE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
_ROLE_PREFIX = {"original": "o", "distractor": "d", "hardneg": "h"}
_ROLE_FOLDER = {"original": "originals", "distractor": "distractors", "hardneg": "hardneg"}


@dataclass(frozen=True)
class Entry:
    """One picture of the corpus: a line of manifest.csv."""

    role: str
    id: str
    package: str
    source: str
    category: str


class Corpus:
    """The pictures kept so far, with the hashes that keep out duplicates."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries: list[Entry] = []
        self._hashes: list[imagehash.ImageHash] = []
        self._counts: Counter[str] = Counter()
        for folder in _ROLE_FOLDER.values():
            (root / folder).mkdir(parents=True, exist_ok=True)

    def add(
        self, role: str, picture: Image.Image, package: str, source: str, category: str
    ) -> None:
        if min(picture.size) < MIN_SIDE:
            return
        picture_hash = imagehash.phash(picture.convert("L"))
        if any(picture_hash - seen <= DUPLICATE_BITS for seen in self._hashes):
            return
        identifier = f"{_ROLE_PREFIX[role]}{self._counts[role]:04d}"
        self._counts[role] += 1
        picture.save(picture_path(self.root, role, identifier), compress_level=1)
        self._hashes.append(picture_hash)
        self.entries.append(Entry(role, identifier, package, source, category))

    def write_manifest(self) -> None:
        with (self.root / "manifest.csv").open("w", newline="") as manifest:
            writer = csv.writer(manifest)
            writer.writerow([field.name for field in fields(Entry)])
            writer.writerows(astuple(entry) for entry in self.entries)


def picture_path(root: Path, role: str, identifier: str) -> Path:
    return root / _ROLE_FOLDER[role] / f"{identifier}.png"


def fetch_packages(root: Path) -> Path:
    """Download and unpack every package once; the directory holding them unpacked."""
    debs, unpacked = root / "debs", root / "packages"
    debs.mkdir(parents=True, exist_ok=True)
    for package in PACKAGES:
        if not list(debs.glob(f"{package}_*.deb")):
            subprocess.run(
                ["apt-get", "download", package], cwd=debs, check=True, stdout=subprocess.DEVNULL
            )
        target = unpacked / package
        if not target.is_dir():
            target.mkdir(parents=True)
            deb = next(debs.glob(f"{package}_*.deb"))
            subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)
    return unpacked


def flattened(picture: Image.Image, background: str = "white") -> Image.Image:
    """`picture` oriented, laid over `background` if transparent, at most MAX_SIDE a side."""
    picture = ImageOps.exif_transpose(picture)
    if picture.mode in ("RGBA", "LA", "P", "PA"):
        rgba = picture.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, background)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        picture = canvas
    picture = picture.convert("RGB")
    if max(picture.size) > MAX_SIDE:
        picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return picture


def load(path: Path, background: str = "white") -> Image.Image:
    with Image.open(path) as picture:
        return flattened(picture, background)


def picture_files(root: Path, min_side: int = 0) -> list[Path]:
    """Every decodable picture under `root` whose shortest side is at least `min_side`."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in _PICTURE_SUFFIXES or not path.is_file():
            continue
        try:
            with Image.open(path) as picture:
                size = picture.size
        except (OSError, ValueError):
            continue
        if min(size) >= min_side:
            found.append(path)
    return found


def bundled_webps(bundle: Path) -> Iterator[Image.Image]:
    """The WebP pictures inside a Qt resource bundle (.rcc), read without Qt.

    Qt stores already-compressed files as they are, so each one is a RIFF chunk in the bundle.
    """
    data = bundle.read_bytes()
    start = data.find(b"RIFF")
    while start >= 0:
        if data[start + 8 : start + 12] == b"WEBP":
            (length,) = struct.unpack_from("<I", data, start + 4)
            try:
                with Image.open(io.BytesIO(data[start : start + 8 + length])) as picture:
                    yield flattened(picture)
            except (OSError, ValueError):
                pass
        start = data.find(b"RIFF", start + 4)


def build(root: Path, unpacked: Path) -> Corpus:
    corpus = Corpus(root)
    for package, paths in WALLPAPER_PHOTOS.items():
        for path in paths:
            source = f"{package}/usr/share/{path}"
            corpus.add("original", load(unpacked / source), package, source, "wallpaper-photo")
    for bundle in GCOMPRIS_PHOTO_BUNDLES:
        resources = unpacked / GCOMPRIS_RESOURCES / f"{bundle}.rcc"
        for index, picture in enumerate(bundled_webps(resources)):
            corpus.add(
                "original", picture, "gcompris-qt-data", f"{bundle}.rcc#{index}", "gcompris-photo"
            )
    for source in DATA_PHOTOS:
        corpus.add("original", load(unpacked / source), source.split("/")[0], source, "photo")
    for source in SAME_SCENE:
        corpus.add("hardneg", load(unpacked / source), source.split("/")[0], source, "same-scene")
    _add_distractors(corpus, unpacked)
    corpus.write_manifest()
    return corpus


def write_photographs(root: Path, unpacked: Path) -> int:
    """Copy the originals of manifest.csv that are files of their package to photographs/,
    untouched; how many there are."""
    folder = root / "photographs"
    folder.mkdir(exist_ok=True)
    copied = 0
    with (root / "manifest.csv").open(newline="") as manifest:
        for entry in csv.DictReader(manifest):
            # A '#' names a picture inside a bundle or a tile of a larger one, not a file.
            if entry["role"] != "original" or "#" in entry["source"]:
                continue
            source = unpacked / entry["source"]
            shutil.copyfile(source, folder / f"{entry['id']}{source.suffix.lower()}")
            copied += 1
    return copied


def _add_distractors(corpus: Corpus, unpacked: Path) -> None:
    taken = {
        os.path.realpath(unpacked / entry.source)
        for entry in corpus.entries
        if "#" not in entry.source
    } | {os.path.realpath(unpacked / source) for source in DERIVED_COPIES}

    def distractor(path: Path, package: str, category: str, background: str = "white") -> None:
        if os.path.realpath(path) not in taken:
            corpus.add(
                "distractor",
                load(path, background),
                package,
                str(path.relative_to(unpacked)),
                category,
            )

    # Renders, graphics, login screens and light/dark variants of one series.
    for package in WALLPAPER_PACKAGES:
        for path in picture_files(unpacked / package, 300):
            if "/icons/" not in str(path):
                distractor(path, package, "wallpaper-graphic")
    nebulae = unpacked / _STELLARIUM / "nebulae"
    # Near-uniform dark skies and star fields.
    for path in picture_files(nebulae, 256):
        distractor(path, "stellarium-data", "astro-sky")
    # Ocean, fog and planet horizons: repetitive or uniform.
    for path in picture_files(unpacked / _STELLARIUM / "landscapes", 128):
        distractor(path, "stellarium-data", "texture-landscape")
    for path in picture_files(unpacked / _STELLARIUM / "skycultures", 300)[:200]:
        distractor(path, "stellarium-data", "graphic-drawing", background="black")
    # Screenshots, and many filtered variants of a few example photos.
    for path in picture_files(unpacked / "gimp-help-en", 160):
        distractor(
            path, "gimp-help-en", "gimp-example" if "/examples/" in str(path) else "screenshot"
        )
    for package in ("krita-data", "mypaint-data-extras", "gimp-data"):
        for path in picture_files(unpacked / package, 128):
            if not any(part in str(path) for part in ("/icons/", "tool_icons", "preset")):
                distractor(path, package, "texture")
    for name in SKIMAGE_TEXTURES:
        distractor(unpacked / _SKIMAGE / name, "python3-skimage", "texture")
    # Chessboard calibration series and synthetic test pictures.
    for path in picture_files(unpacked / _OPENCV, 100):
        distractor(path, "opencv-doc", "opencv-series")
    # Quarters of the large nebula pictures: more photos of the same kind of sky.
    for path in picture_files(nebulae, 1024):
        picture = load(path)
        half = min(picture.size) // 2
        for left, top in ((0, 0), (half, 0), (0, half), (half, half)):
            corpus.add(
                "distractor",
                picture.crop((left, top, left + half, top + half)),
                "stellarium-data",
                f"{path.relative_to(unpacked)}#{left},{top}",
                "astro-tile",
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    arguments = parser.parse_args()
    Image.MAX_IMAGE_PIXELS = None  # the packages are trusted; some nebulae are very large
    unpacked = fetch_packages(arguments.cache)
    corpus = build(arguments.cache, unpacked)
    counts = Counter((entry.role, entry.category) for entry in corpus.entries)
    for (role, category), count in sorted(counts.items()):
        print(f"{role:<11} {category:<18} {count}")
    for role in _ROLE_PREFIX:
        print(f"{role:<11} {'total':<18} {sum(1 for e in corpus.entries if e.role == role)}")
    print(f"photographs at full size: {write_photographs(arguments.cache, unpacked)}")


if __name__ == "__main__":
    main()
