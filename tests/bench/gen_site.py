#!/usr/bin/env python3
"""Generate a deterministic static-site-like folder for the deploy benchmark.

    gen_site.py OUT_DIR [--files 5000] [--seed 20241127] [--min-kb 1] [--max-kb 200]
    gen_site.py --change FILE [--seed N]     # rewrite one file with new content (and size)

Sizes are drawn log-uniformly between --min-kb and --max-kb (many small files, a few large
ones, as in a real build output), so the same seed always gives the same bytes. Files are
spread over nested folders up to four levels deep with web-ish extensions. Contents are
seeded pseudo-random bytes, so no two files share a hash (each tool must upload every file).
"""

import argparse
import math
import os
import random
import sys

EXTENSIONS = [
    ("html", 4), ("js", 4), ("css", 2), ("json", 1), ("svg", 1),
    ("png", 3), ("jpg", 2), ("webp", 1), ("woff2", 1), ("txt", 1),
]
TOP = ["assets", "docs", "blog", "static", "img", "js", "css", "api", "en", "fr"]


def folders(rng: random.Random, count: int) -> list[str]:
    """Nested folder names: TOP/sub/sub/sub, depth 1-4, plus the root."""
    out = [""]
    while len(out) < count:
        depth = rng.randint(1, 4)
        parts = [rng.choice(TOP)] + [f"d{rng.randint(0, 24):02d}" for _ in range(depth - 1)]
        path = "/".join(parts)
        if path not in out:
            out.append(path)
    return out


def generate(out_dir: str, files: int, seed: int, min_kb: float, max_kb: float) -> tuple[int, int]:
    rng = random.Random(seed)
    dirs = folders(rng, max(8, files // 25))
    names = [ext for ext, weight in EXTENSIONS for _ in range(weight)]
    lo, hi = math.log(min_kb * 1024), math.log(max_kb * 1024)
    total = 0
    seen = set()
    for index in range(files):
        if index == 0:
            rel = "index.html"
        else:
            rel = f"{rng.choice(dirs)}/f{index:05d}.{rng.choice(names)}".lstrip("/")
        assert rel not in seen
        seen.add(rel)
        size = int(round(math.exp(rng.uniform(lo, hi))))
        path = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(rng.randbytes(size))
        total += size
    return files, total


def change(path: str, seed: int) -> int:
    """Replace the file with different content of a different size; return the new size."""
    rng = random.Random(f"change-{seed}")
    old = os.path.getsize(path)
    size = old + 1 + rng.randint(0, 1023)
    with open(path, "wb") as handle:
        handle.write(rng.randbytes(size))
    return size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", nargs="?")
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=20241127)
    parser.add_argument("--min-kb", type=float, default=1)
    parser.add_argument("--max-kb", type=float, default=200)
    parser.add_argument("--change", metavar="FILE", help="rewrite FILE instead of generating a site")
    args = parser.parse_args()
    if args.change:
        print(change(args.change, args.seed))
        return 0
    if not args.out_dir:
        parser.error("OUT_DIR is required")
    if os.path.exists(args.out_dir) and os.listdir(args.out_dir):
        parser.error(f"{args.out_dir} is not empty")
    count, total = generate(args.out_dir, args.files, args.seed, args.min_kb, args.max_kb)
    print(f"{count} {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
