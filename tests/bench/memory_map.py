#!/usr/bin/env python3
"""Where a WebKitGTK program's idle memory goes, mapping by mapping (runnable, not a test).

Starts PROGRAM (with ARGS) on a private Xvfb, waits, and sums the proportional set size
(PSS, /proc/<pid>/smaps) of it and its descendants by process role and by what each
mapping holds: a file (library, binary, font, cache), the heap, the stacks or anonymous
memory. With --peer, runs WebKit's MiniBrowser on about:blank the same way and prints the
difference per mapping, largest first: the desktop benchmark's "share above the floor",
taken apart. With --idle-cpu S, also the CPU each role used over S seconds of idling after
that (an idle window should use none). With --code-by-crate, which crates the program's
resident code belongs to (from its symbols, page by page: a page counts for the crate with
most bytes in it). Usage:

  tests/bench/memory_map.py [--settle S] [--idle-cpu S] [--code-by-crate] [--peer] PROGRAM [ARGS...]

The program gets a fresh temporary PIER_CONFIG and PIER_STORE and PIER_PORT=0, as the
desktop benchmark gives it.
"""
import argparse
import bisect
import collections
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

MINI_BROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"


def descendants(root):
    children = collections.defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            children[int(fields[1])].append(int(entry))
        except OSError:
            continue
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def role(pid):
    with open(f"/proc/{pid}/comm") as comm:
        name = comm.read().strip()
    if name.startswith("WebKitWebProc"):
        return "web"
    if name.startswith("WebKitNetwork"):
        return "network"
    return "app"


def mapping_kind(name):
    if not name:
        return "[anon]"
    if name.startswith("["):
        return name
    if name.startswith("/memfd:") or name.startswith("/dev/"):
        return re.sub(r"\s*\(deleted\)$", "", name)
    return os.path.basename(name)


def smaps_by_kind(pid):
    """PSS in KiB per (kind of mapping), and per (kind, permission) for anonymous memory."""
    totals = collections.Counter()
    current = None
    header = re.compile(r"^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$")
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            match = header.match(line)
            if match:
                perms, name = match.group(1), match.group(2).strip()
                kind = mapping_kind(name)
                if kind == "[anon]":
                    kind = f"[anon {perms}]"
                current = kind
            elif line.startswith("Pss:") and current is not None:
                totals[current] += int(line.split()[1])
    return totals


def cpu_ticks(pids):
    """User + system clock ticks used so far, per role."""
    ticks = collections.Counter()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            ticks[role(pid)] += int(fields[11]) + int(fields[12])
        except OSError:
            continue
    return ticks


def resident_code_pages(pid, program):
    """File offsets of the resident pages of `program`'s executable mapping in `pid`."""
    path = os.path.realpath(program)
    offsets = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) < 6 or fields[5].strip() != path or fields[1] != "r-xp":
                continue
            start, end = (int(value, 16) for value in fields[0].split("-"))
            pages = (end - start) // 4096
            pagemap.seek(start // 4096 * 8)
            entries = pagemap.read(pages * 8)
            for page in range(pages):
                if struct.unpack_from("<Q", entries, page * 8)[0] >> 63:
                    offsets.append(int(fields[2], 16) + page * 4096)
    return offsets


def crate_of(symbol):
    name = re.sub(r"^(<|&|\*const |\*mut |dyn |\[)+", "", symbol)
    match = re.match(r"([A-Za-z0-9_]+)::", name)
    return match.group(1) if match else "(other)"


def print_code_by_crate(program, offsets):
    """Resident code per crate, beside each crate's whole code."""
    segment = next(line.split() for line in subprocess.check_output(
        ["readelf", "-lW", program], text=True).splitlines() if "LOAD" in line and "R E" in line)
    file_offset, vaddr = int(segment[1], 16), int(segment[2], 16)
    symbols = []
    for line in subprocess.check_output(["nm", "-C", "--defined-only", "-S", program], text=True,
                                        errors="replace").splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[2] in "tTwW":
            symbols.append((int(parts[0], 16), int(parts[1], 16), crate_of(parts[3])))
    symbols.sort()
    starts = [symbol[0] for symbol in symbols]
    whole, resident = collections.Counter(), collections.Counter()
    for _, size, crate in symbols:
        whole[crate] += size
    for offset in offsets:
        page = offset - file_offset + vaddr
        in_page = collections.Counter()
        index = max(bisect.bisect_right(starts, page) - 1, 0)
        while index < len(symbols) and symbols[index][0] < page + 4096:
            start, size, crate = symbols[index]
            overlap = min(start + size, page + 4096) - max(start, page)
            if overlap > 0:
                in_page[crate] += overlap
            index += 1
        resident[in_page.most_common(1)[0][0] if in_page else "(no symbol)"] += 4096
    print(f"== resident code of {program}: {len(offsets) * 4096 / 2**20:.1f} MB "
          f"of {sum(whole.values()) / 2**20:.1f} MB")
    aws = [crate for crate in whole if crate.startswith("aws_")]
    print(f"  {sum(resident[c] for c in aws) / 2**20:6.2f} MB of {sum(whole[c] for c in aws) / 2**20:6.2f} MB"
          f"  the AWS SDK crates (aws_*) together")
    for crate, size in resident.most_common(20):
        print(f"  {size / 2**20:6.2f} MB of {whole[crate] / 2**20:6.2f} MB  {crate}")


def measure(program, args, settle, idle_cpu, code_by_crate=False):
    home = tempfile.mkdtemp(prefix="pier-memory-map-")
    display = ":%d" % (90 + os.getpid() % 9)
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    env = dict(os.environ, DISPLAY=display, PIER_CONFIG=f"{home}/config.toml",
               PIER_STORE=f"{home}/store", PIER_PORT="0")
    env.pop("WAYLAND_DISPLAY", None)
    if program == MINI_BROWSER:
        env["WEBKIT_DISABLE_COMPOSITING_MODE"] = "1"
    child = subprocess.Popen([program, *args], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    # Whatever happens below, the program and its X server go: a WebKit window left running
    # splits the shared pages of every later measurement (see the README's desktop figures).
    try:
        time.sleep(settle)
        if idle_cpu:
            before = cpu_ticks(descendants(child.pid))
            time.sleep(idle_cpu)
            used = cpu_ticks(descendants(child.pid))
            used.subtract(before)
            hz = os.sysconf("SC_CLK_TCK")
            print(f"CPU while idle for {idle_cpu:g} s, {os.path.basename(program)}: " + ", ".join(
                f"{name} {100 * ticks / hz / idle_cpu:.2f}% of a core" for name, ticks in sorted(used.items())))
        code_pages = resident_code_pages(child.pid, program) if code_by_crate else None
        per_role = collections.defaultdict(collections.Counter)
        for pid in descendants(child.pid):
            try:
                per_role[role(pid)].update(smaps_by_kind(pid))
            except OSError:
                continue
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait()
        xvfb.terminate()
        xvfb.wait()
        shutil.rmtree(home, ignore_errors=True)
    if code_pages is not None:
        print_code_by_crate(program, code_pages)
    return per_role


def print_roles(title, per_role):
    print(f"== {title}")
    for name, counts in sorted(per_role.items()):
        print(f"  {name} process: {sum(counts.values()) / 1024:.1f} MB")
        for kind, kib in counts.most_common(12):
            print(f"    {kib / 1024:7.2f} MB  {kind}")


def other_webkit_processes():
    count = 0
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/comm") as comm:
                count += comm.read().startswith("WebKit")
        except OSError:
            continue
    return count


def main():
    others = other_webkit_processes()
    if others:
        print(f"warning: {others} other WebKit processes are running; PSS splits shared pages "
              "with them, so the figures below read low (close them and run again)")
    parser = argparse.ArgumentParser()
    parser.add_argument("--settle", type=float, default=8.0)
    parser.add_argument("--idle-cpu", type=float, default=0.0)
    parser.add_argument("--code-by-crate", action="store_true")
    parser.add_argument("--peer", action="store_true")
    parser.add_argument("program")
    parser.add_argument("args", nargs="*")
    options = parser.parse_args()
    app = measure(options.program, options.args, options.settle, options.idle_cpu,
                  options.code_by_crate)
    print_roles(options.program, app)
    if not options.peer:
        return
    floor = measure(MINI_BROWSER, ["about:blank"], options.settle, options.idle_cpu)
    print_roles("MiniBrowser on about:blank", floor)
    print("== the program above the floor, by role and mapping (MB)")
    for name in sorted(set(app) | set(floor)):
        difference = collections.Counter(app.get(name, {}))
        difference.subtract(floor.get(name, {}))
        total = sum(difference.values())
        print(f"  {name} process: {total / 1024:+.1f} MB")
        ranked = sorted(difference.items(), key=lambda item: -abs(item[1]))
        for kind, kib in ranked[:15]:
            print(f"    {kib / 1024:+7.2f}  {kind}")


if __name__ == "__main__":
    sys.exit(main())
