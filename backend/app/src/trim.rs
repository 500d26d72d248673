//! Lets go of the code and read-only data the desktop process mapped while it started (Linux).
//!
//! Starting the window runs code from all over the app's binary and from GTK and WebKit's UI
//! side, and the kernel maps each page it faults in together with its neighbours (fault-around,
//! 64 KB at a time). Those pages stay mapped, and counted in the process's memory (RSS, PSS),
//! though most of them never run again: measured under Xvfb, 12 MB of the binary's code alone
//! was resident in an idle window. `madvise(MADV_DONTNEED)` on a mapping that nothing wrote
//! unmaps its pages from this process. The kernel keeps them in the page cache, where they count
//! to no process and are the first to go under pressure, and a page that runs again is mapped
//! back from there (a minor fault, or a read from disk if the kernel had reclaimed it).
//!
//! Only mappings that nothing wrote are released: file-backed, not writable, not locked, not a
//! device or a deleted file, and without one private (anonymous) page. A relocated read-only
//! segment (RELRO) has private pages, and dropping them would bring back the file's unrelocated
//! bytes, so it is left alone. The dynamic loader maps a library's read-only segments read-only
//! from the start, and makes RELRO read-only only once it is relocated, so a library loaded
//! meanwhile is never caught half-written. (`MADV_PAGEOUT` would drop the pages from the page
//! cache too, but the kernel takes it only for files the user could write, and an installed
//! binary belongs to root.)

/// What one release let go of.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    /// Mappings released.
    pub mappings: usize,
    /// Bytes of them that were resident before.
    pub resident_bytes: u64,
}

/// A mapping of `/proc/self/smaps` that may be released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanMapping {
    pub start: usize,
    pub end: usize,
    pub path: String,
    pub resident_bytes: u64,
}

/// Unmaps the resident pages of every mapping nothing wrote (see the module doc). Safe to call
/// at any time from any thread; a page in use is mapped back on its next access.
pub fn release_clean_file_pages() -> std::io::Result<Released> {
    #[cfg(target_os = "linux")]
    {
        let smaps = std::fs::read_to_string("/proc/self/smaps")?;
        let mut released = Released::default();
        for mapping in clean_file_mappings(&smaps) {
            // SAFETY: the range is a whole mapping of this process that is file-backed and was
            // never written (no private page), so MADV_DONTNEED only unmaps pages whose
            // contents the file still holds; the next access maps them back unchanged.
            let result = unsafe {
                rustix::mm::madvise(
                    mapping.start as *mut std::ffi::c_void,
                    mapping.end - mapping.start,
                    rustix::mm::Advice::LinuxDontNeed,
                )
            };
            // A mapping unmapped since the read (a library closed) is not an error.
            if result.is_ok() {
                released.mappings += 1;
                released.resident_bytes += mapping.resident_bytes;
            }
        }
        Ok(released)
    }
    #[cfg(not(target_os = "linux"))]
    Ok(Released::default())
}

/// Hands the allocator's free memory back to the system: glibc keeps what the start freed
/// (GTK's setup, the engine's first reads) in its arenas for reuse, resident. Returns whether
/// any was handed back.
pub fn release_free_heap() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim walks glibc's own arenas under their locks; no pointer of ours
        // is involved.
        unsafe { libc::malloc_trim(0) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    false
}

/// The mappings of an `smaps` text that may be released, with pages resident.
pub fn clean_file_mappings(smaps: &str) -> Vec<CleanMapping> {
    let mut found = Vec::new();
    let mut current: Option<Candidate> = None;
    for line in smaps.lines() {
        if let Some(header) = Candidate::parse_header(line) {
            found.extend(current.take().and_then(Candidate::finish));
            current = Some(header);
        } else if let Some(candidate) = current.as_mut() {
            candidate.read_field(line);
        }
    }
    found.extend(current.and_then(Candidate::finish));
    found
}

struct Candidate {
    start: usize,
    end: usize,
    path: String,
    eligible: bool,
    resident_kib: u64,
    private_kib: u64,
    locked_or_special: bool,
}

impl Candidate {
    /// `start-end perms offset dev inode [path]`; any other line is a field of the mapping.
    fn parse_header(line: &str) -> Option<Candidate> {
        let mut fields = line.splitn(6, ' ');
        let (start, end) = fields.next()?.split_once('-')?;
        let start = usize::from_str_radix(start, 16).ok()?;
        let end = usize::from_str_radix(end, 16).ok()?;
        let perms = fields.next()?;
        if perms.len() != 4 {
            return None;
        }
        let _offset = fields.next()?;
        let _device = fields.next()?;
        let inode: u64 = fields.next()?.parse().ok()?;
        let path = fields.next().unwrap_or("").trim_start().to_string();
        let eligible = !perms.contains('w')
            && inode != 0
            && path.starts_with('/')
            && !path.starts_with("/dev/")
            && !path.ends_with(" (deleted)");
        Some(Candidate {
            start,
            end,
            path,
            eligible,
            resident_kib: 0,
            private_kib: 0,
            locked_or_special: false,
        })
    }

    fn read_field(&mut self, line: &str) {
        let Some((name, value)) = line.split_once(':') else {
            return;
        };
        let kib = || {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .unwrap_or(0)
        };
        match name {
            "Rss" => self.resident_kib = kib(),
            // Anonymous pages of a file mapping are its private copies: written pages.
            "Anonymous" => self.private_kib = kib(),
            "Locked" => self.locked_or_special |= kib() > 0,
            "VmFlags" => {
                // lo: locked, io: memory-mapped I/O, pf: raw page frames, ht: hugetlb,
                // um/uw: userfaultfd.
                self.locked_or_special |= value
                    .split_whitespace()
                    .any(|flag| matches!(flag, "lo" | "io" | "pf" | "ht" | "um" | "uw"));
            }
            _ => {}
        }
    }

    fn finish(self) -> Option<CleanMapping> {
        (self.eligible && !self.locked_or_special && self.private_kib == 0 && self.resident_kib > 0)
            .then_some(CleanMapping {
                start: self.start,
                end: self.end,
                path: self.path,
                resident_bytes: self.resident_kib * 1024,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0c0000000-55d0c1000000 r--p 00000000 08:01 1234 /usr/bin/pier-desktop
Rss:                1200 kB
Anonymous:             0 kB
Locked:                0 kB
VmFlags: rd mr mw me sd
55d0c1000000-55d0c2000000 r-xp 01000000 08:01 1234 /usr/bin/pier-desktop
Rss:                9000 kB
Anonymous:             0 kB
Locked:                0 kB
VmFlags: rd ex mr mw me sd
55d0c2000000-55d0c2200000 r--p 02000000 08:01 1234 /usr/bin/pier-desktop
Rss:                1800 kB
Anonymous:          1780 kB
Locked:                0 kB
VmFlags: rd mr mw me ac sd
55d0c2200000-55d0c2300000 rw-p 02200000 08:01 1234 /usr/bin/pier-desktop
Rss:                  40 kB
Anonymous:            40 kB
VmFlags: rd wr mr mw me ac sd
55d0c4000000-55d0c5000000 rw-p 00000000 00:00 0 [heap]
Rss:                5000 kB
Anonymous:          5000 kB
7f0000000000-7f0000100000 r--s 00000000 00:05 77 /dev/dri/card0
Rss:                  64 kB
Anonymous:             0 kB
7f0000100000-7f0000200000 r--p 00000000 08:01 99 /tmp/old library.so (deleted)
Rss:                  64 kB
Anonymous:             0 kB
7f0000200000-7f0000300000 r-xp 00000000 08:01 98 /usr/lib/locked.so
Rss:                  64 kB
Anonymous:             0 kB
Locked:               64 kB
VmFlags: rd ex mr mw me lo
7f0000300000-7f0000400000 r-xp 00000000 08:01 97 /usr/lib/x86_64-linux-gnu/libgtk-3.so.0
Rss:                   0 kB
Anonymous:             0 kB
7f0000400000-7f0000500000 r--s 00000000 08:01 96 /usr/share/fonts/my font ünïcode.ttf
Rss:                 128 kB
Anonymous:             0 kB
VmFlags: rd sh mr mw me ms sd
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0 [vdso]
Rss:                   8 kB
Anonymous:             0 kB
";

    #[test]
    fn only_resident_mappings_nothing_wrote_are_released() {
        let found = clean_file_mappings(SMAPS);
        let described: Vec<(usize, &str, u64)> = found
            .iter()
            .map(|m| (m.start, m.path.as_str(), m.resident_bytes / 1024))
            .collect();
        assert_eq!(
            described,
            vec![
                (0x55d0c0000000, "/usr/bin/pier-desktop", 1200),
                (0x55d0c1000000, "/usr/bin/pier-desktop", 9000),
                (0x7f0000400000, "/usr/share/fonts/my font ünïcode.ttf", 128),
            ],
            "RELRO (written), rw, heap, devices, deleted files, locked and unresident mappings and the vdso stay"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_released_process_keeps_running_with_its_relocated_data_intact() {
        // Pointers in a static table are relocated at load time (RELRO): if a release dropped
        // them, the file's unrelocated bytes would come back and reading them would crash.
        static NAMES: [&str; 3] = ["ünïcode name", "with space", ".dotfile"];
        let before: Vec<String> = NAMES.iter().map(|name| name.to_string()).collect();
        let resident_code = || {
            let exe = std::fs::read_link("/proc/self/exe").unwrap();
            let exe = exe.to_str().unwrap().to_string();
            clean_file_mappings(&std::fs::read_to_string("/proc/self/smaps").unwrap())
                .into_iter()
                .filter(|m| m.path == exe)
                .map(|m| m.resident_bytes)
                .sum::<u64>()
        };
        let resident_before = resident_code();
        let released = release_clean_file_pages().unwrap();
        assert!(
            released.mappings > 0 && released.resident_bytes > 0,
            "{released:?}"
        );
        let resident_after = resident_code();
        assert!(
            resident_after < resident_before / 2,
            "the test binary's clean pages stayed mapped: {resident_before} -> {resident_after} bytes"
        );
        // Running again maps back what it needs, unchanged.
        let after: Vec<String> = NAMES.iter().map(|name| name.to_string()).collect();
        assert_eq!(before, after);
        let again = clean_file_mappings(SMAPS);
        assert_eq!(again.len(), 3);
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn freed_heap_goes_back_to_the_system() {
        let resident = || {
            std::fs::read_to_string("/proc/self/statm")
                .unwrap()
                .split_whitespace()
                .nth(1)
                .unwrap()
                .parse::<u64>()
                .unwrap()
                * 4096
        };
        // Many small blocks (below glibc's mmap threshold, so they live in the heap), freed
        // all but the last: the heap cannot shrink from its top, only be trimmed inside.
        let mut blocks: Vec<Vec<u8>> = (0..20_000).map(|i| vec![i as u8; 4000]).collect();
        let last = blocks.pop();
        drop(blocks);
        let before = resident();
        assert!(release_free_heap(), "nothing was handed back");
        let after = resident();
        assert!(
            after + 40 * 1024 * 1024 < before,
            "resident {before} -> {after} bytes after freeing 80 MB"
        );
        drop(last);
    }
}
