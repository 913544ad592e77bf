//! Memory-mapped reading, guarded so that a file truncated while it is hashed gives an error, not
//! a crash. The only module of the crate allowed `unsafe` code.
//!
//! Why map at all: on a page-cached file, `pread` copies every byte from the page cache into a
//! buffer before BLAKE3 reads it, and that copy costs about as much CPU as a third of the hashing
//! on the machines measured (see `docs/digest.md`); mapping lets BLAKE3 read the page cache
//! directly, which is how `b3sum` reaches its speed.
//!
//! The hazard: if another process truncates a mapped file, touching a page past the new end
//! raises `SIGBUS`, which kills the process. Guard: while a file is mapped, its address range is
//! registered in a small fixed table; a `SIGBUS` handler that finds the faulting address in a
//! registered range replaces the rest of the range with anonymous zero pages (so the access, and
//! every later one, succeeds), records the offset, and returns. The caller then sees
//! [`Mapped::fault_offset`] and reports the truncation as an error; the zeros it hashed are
//! discarded with the digest. Faults outside registered ranges go to the handler that was
//! installed before (Rust's own stack-overflow handler) or, failing that, the default action.
//!
//! Only regular files on local filesystems are mapped: network and FUSE filesystems take the
//! buffered path, where truncation is an ordinary short read.
//!
//! (`unsafe` is allowed for this module alone, at its declaration in `digest/mod.rs`.)

#[cfg(target_os = "linux")]
pub(crate) use linux::map;

#[cfg(not(target_os = "linux"))]
pub(crate) use fallback::map;

#[cfg(target_os = "linux")]
mod linux {
    use std::fs::File;
    use std::os::fd::AsRawFd;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// Most files mapped at once. The engine maps one large file at a time; a full table only
    /// means the buffered path is used.
    const SLOTS: usize = 16;
    const NO_FAULT: usize = usize::MAX;

    #[allow(clippy::declare_interior_mutable_const)]
    const ZERO: AtomicUsize = AtomicUsize::new(0);
    #[allow(clippy::declare_interior_mutable_const)]
    const FREE: AtomicBool = AtomicBool::new(false);
    static IN_USE: [AtomicBool; SLOTS] = [FREE; SLOTS];
    /// Registered ranges `[START, END)`; `START == 0` means the slot is not (yet) live.
    static START: [AtomicUsize; SLOTS] = [ZERO; SLOTS];
    static END: [AtomicUsize; SLOTS] = [ZERO; SLOTS];
    /// Lowest faulting offset in the range, or `NO_FAULT`.
    static FAULT: [AtomicUsize; SLOTS] = [ZERO; SLOTS];
    static PAGE: AtomicUsize = AtomicUsize::new(4096);
    /// The `SIGBUS` disposition before ours, to pass on faults that are not ours.
    static PREVIOUS: OnceLock<Option<libc::sigaction>> = OnceLock::new();

    /// Filesystems where the buffered path is used: remote or user-space, where pages can vanish
    /// for reasons other than truncation and `pread` reports errors properly.
    const UNMAPPED_FILESYSTEMS: [u32; 8] = [
        0x6969,      // NFS
        0x517b,      // SMB
        0xff53_4d42, // CIFS
        0xfe53_4d42, // SMB2
        0x6573_5546, // FUSE
        0x0102_1997, // 9P
        0x00c3_6400, // Ceph
        0x6b41_4653, // AFS
    ];

    /// A read-only mapping of a file's first `len` bytes, registered with the `SIGBUS` guard.
    pub(crate) struct Mapped {
        map: memmap2::Mmap,
        slot: usize,
    }

    /// Maps `file` (of `len` bytes, `len > 0`) if it is on a local filesystem and the guard is
    /// available; `None` means use the buffered path.
    pub(crate) fn map(file: &File, len: u64) -> std::io::Result<Option<Mapped>> {
        if len == 0 || !local_filesystem(file)? || !install_guard() {
            return Ok(None);
        }
        let Ok(len) = usize::try_from(len) else {
            return Ok(None);
        };
        let Some(slot) = claim_slot() else {
            return Ok(None);
        };
        // SAFETY: `memmap2` requires that the file not be modified or truncated while mapped.
        // We cannot prevent another process from doing either, so each case is contained:
        // truncation faults are caught by the SIGBUS guard registered below (zero pages, an
        // error, the digests discarded); a concurrent write changes bytes under a `&[u8]`, which
        // BLAKE3 only reads as plain bytes (as `b3sum` does), and the engine reports the file as
        // changed when its modification time moved. The mapping is read-only and private, so we
        // never write through it, and it lives no longer than this `Mapped`.
        let map = match unsafe { memmap2::MmapOptions::new().len(len).map(file) } {
            Ok(map) => map,
            Err(e) => {
                release_slot(slot);
                return Err(e);
            }
        };
        let _ = map.advise(memmap2::Advice::Sequential);
        let start = map.as_ptr() as usize;
        FAULT[slot].store(NO_FAULT, Ordering::Relaxed);
        END[slot].store(start + len, Ordering::Relaxed);
        START[slot].store(start, Ordering::Release);
        Ok(Some(Mapped { map, slot }))
    }

    impl Mapped {
        pub(crate) fn bytes(&self) -> &[u8] {
            &self.map
        }

        /// The lowest offset whose page vanished while mapped (the file was truncated), if any.
        pub(crate) fn fault_offset(&self) -> Option<u64> {
            match FAULT[self.slot].load(Ordering::Acquire) {
                NO_FAULT => None,
                off => Some(off as u64),
            }
        }
    }

    impl Drop for Mapped {
        fn drop(&mut self) {
            // Unregister before memmap2 unmaps, so a later fault at a reused address is not
            // mistaken for ours.
            release_slot(self.slot);
        }
    }

    fn claim_slot() -> Option<usize> {
        (0..SLOTS).find(|&i| {
            IN_USE[i]
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        })
    }

    fn release_slot(slot: usize) {
        START[slot].store(0, Ordering::Release);
        END[slot].store(0, Ordering::Relaxed);
        IN_USE[slot].store(false, Ordering::Release);
    }

    fn local_filesystem(file: &File) -> std::io::Result<bool> {
        // SAFETY: `statfs` is plain old data; zeroed is a valid value for every field.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: the descriptor is open for the lifetime of `file`; `st` is a valid pointer.
        if unsafe { libc::fstatfs(file.as_raw_fd(), &mut st) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // The magic numbers fit 32 bits; `f_type`'s width differs between architectures.
        let kind = (st.f_type as u64 & 0xffff_ffff) as u32;
        Ok(!UNMAPPED_FILESYSTEMS.contains(&kind))
    }

    /// Installs the `SIGBUS` handler once; false if that failed (then nothing is mapped).
    fn install_guard() -> bool {
        PREVIOUS
            .get_or_init(|| {
                // SAFETY: sysconf has no preconditions.
                let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
                if page > 0 {
                    PAGE.store(page as usize, Ordering::Relaxed);
                }
                // SAFETY: zeroed `sigaction` is valid (empty mask, no flags); we fill the
                // handler, flags and mask before passing it to the kernel.
                let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
                action.sa_sigaction = on_sigbus as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                // SAFETY: valid pointer to a mask we own.
                unsafe { libc::sigemptyset(&mut action.sa_mask) };
                // SAFETY: as above.
                let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
                // SAFETY: both pointers are valid for the call; the handler is async-signal-safe
                // (atomics and the mmap syscall only).
                if unsafe { libc::sigaction(libc::SIGBUS, &action, &mut previous) } == 0 {
                    Some(previous)
                } else {
                    None
                }
            })
            .is_some()
    }

    /// The `SIGBUS` handler. Runs on the faulting thread; uses only atomics and syscalls.
    extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
        let addr = unsafe { (*info).si_addr() } as usize;
        let page = PAGE.load(Ordering::Relaxed);
        for slot in 0..SLOTS {
            let start = START[slot].load(Ordering::Acquire);
            let end = END[slot].load(Ordering::Relaxed);
            if start == 0 || addr < start || addr >= end {
                continue;
            }
            let first = addr & !(page - 1);
            let last = end.div_ceil(page) * page;
            // SAFETY: [first, last) lies inside our own live mapping (registered, not yet
            // unmapped: Mapped::drop unregisters before unmapping); replacing it with anonymous
            // zero pages keeps every address valid until memmap2 unmaps the whole range.
            let replaced = unsafe {
                libc::mmap(
                    first as *mut libc::c_void,
                    last - first,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if replaced != libc::MAP_FAILED {
                FAULT[slot].fetch_min(addr - start, Ordering::AcqRel);
                return;
            }
        }
        // Not ours: hand over to the previous handler, or restore the default action so the
        // returning fault terminates the process as it would have without us.
        if let Some(Some(prev)) = PREVIOUS.get() {
            let handler = prev.sa_sigaction;
            if handler != libc::SIG_DFL && handler != libc::SIG_IGN {
                if prev.sa_flags & libc::SA_SIGINFO != 0 {
                    // SAFETY: the previous SA_SIGINFO handler has exactly this signature.
                    let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                        unsafe { std::mem::transmute(handler) };
                    f(sig, info, ctx);
                } else {
                    // SAFETY: a handler installed without SA_SIGINFO takes the signal number.
                    let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
                    f(sig);
                }
                return;
            }
        }
        // SAFETY: resetting a disposition to the default is always valid.
        unsafe { libc::signal(libc::SIGBUS, libc::SIG_DFL) };
    }
}

#[cfg(not(target_os = "linux"))]
mod fallback {
    use std::fs::File;

    /// No mapping on this platform: the engine always reads through the buffered path.
    pub(crate) enum Mapped {}

    pub(crate) fn map(_file: &File, _len: u64) -> std::io::Result<Option<Mapped>> {
        Ok(None)
    }

    impl Mapped {
        pub(crate) fn bytes(&self) -> &[u8] {
            match *self {}
        }

        pub(crate) fn fault_offset(&self) -> Option<u64> {
            match *self {}
        }
    }
}
