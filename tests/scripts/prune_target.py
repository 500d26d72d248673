#!/usr/bin/env python3
"""Removes what a cargo build no longer uses from a target folder's profile directory.

Cargo never deletes a stale artifact: every change of features, flags or source path leaves
another copy of a crate behind (aws-sdk-ec2 alone is 830 MB a copy in `debug/deps`), so a
target folder reused across runs, as `.ci/run`'s is, grows until the disk is full. This keeps
exactly the units that the build it is given reported (cargo's own `--message-format json`
lists every unit, fresh or rebuilt), and, in `incremental/`, the sessions touched since the
build began. Anything else under `deps/`, `build/`, `.fingerprint/` and `examples/` whose name
carries a unit hash is removed; the uplifted binaries beside them are left alone.

usage: prune_target.py <profile-dir> <build-start-epoch-seconds> <cargo-messages.jsonl>...
"""

import json
import os
import re
import shutil
import sys

# A unit's metadata hash, as cargo writes it into file and folder names (`libfoo-<hash>.rlib`,
# `build/foo-<hash>/out`, `.fingerprint/foo-<hash>`).
UNIT_HASH = re.compile(r"-([0-9a-f]{16})(?=[./]|$)")
HASHED_FOLDERS = ("deps", "build", ".fingerprint", "examples")


def used_hashes(message_files):
    used = set()
    for path in message_files:
        with open(path, encoding="utf-8") as messages:
            for line in messages:
                if not line.startswith("{"):
                    continue
                message = json.loads(line)
                reason = message.get("reason")
                if reason == "compiler-artifact":
                    names = list(message.get("filenames", []))
                    if message.get("executable"):
                        names.append(message["executable"])
                elif reason == "build-script-executed":
                    names = [message.get("out_dir", "")]
                else:
                    continue
                for name in names:
                    used.update(UNIT_HASH.findall(name))
    return used


def size_of(path):
    if os.path.islink(path) or not os.path.isdir(path):
        return os.lstat(path).st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass
    return total


def remove(path):
    freed = size_of(path)
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.remove(path)
    return freed


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    profile_dir, build_start = sys.argv[1], float(sys.argv[2])
    used = used_hashes(sys.argv[3:])
    # An empty or unreadable message file would otherwise look like "nothing is used".
    if len(used) < 10:
        sys.exit(f"prune_target: only {len(used)} units in the build's messages; not pruning")
    freed = removed = 0
    for folder in HASHED_FOLDERS:
        base = os.path.join(profile_dir, folder)
        if not os.path.isdir(base):
            continue
        for name in os.listdir(base):
            hashes = UNIT_HASH.findall(name)
            if hashes and hashes[-1] not in used:
                freed += remove(os.path.join(base, name))
                removed += 1
    # Incremental sessions are named by a crate id cargo does not print; a crate compiled by
    # this build wrote a new session, so its folder's time is after the build began.
    incremental = os.path.join(profile_dir, "incremental")
    if os.path.isdir(incremental):
        for name in os.listdir(incremental):
            path = os.path.join(incremental, name)
            if os.path.getmtime(path) < build_start:
                freed += remove(path)
                removed += 1
    print(f"prune_target: kept {len(used)} units, removed {removed} stale entries "
          f"({freed / 1e9:.1f} GB) from {profile_dir}")


if __name__ == "__main__":
    main()
