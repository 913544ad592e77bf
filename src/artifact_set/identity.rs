//! A file's identity, and opening a regular file without ever blocking on a FIFO.
//!
//! The set records each file's identity when it is listed; every later open checks it, so what is
//! hashed, parsed or sealed is the file that was listed and gated, not one swapped in since.

use serde::Serialize;
use std::fs::{File, Metadata};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Device, inode, length and modification time: what changes when a file is replaced, grown,
/// truncated or rewritten in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i128,
}

impl FileId {
    pub fn of(meta: &Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        }
    }

    /// What differs between `self` (when listed) and `now`, in words; `None` if nothing does.
    pub fn change_to(&self, now: &FileId) -> Option<String> {
        if (self.dev, self.ino) != (now.dev, now.ino) {
            Some("the path now names another file".into())
        } else if self.size != now.size {
            Some(format!(
                "length {} bytes when listed, {} now",
                self.size, now.size
            ))
        } else if self.mtime_ns != now.mtime_ns {
            Some("modified since it was listed".into())
        } else {
            None
        }
    }
}

/// What a non-regular file is, in words for an error message.
pub fn kind_name(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading only if it is a regular file. `O_NONBLOCK` makes opening a FIFO
/// return at once instead of waiting for a writer (a file swapped for a FIFO after it was listed
/// cannot hang us); on a regular file the flag changes nothing. The type is then checked on the
/// open descriptor, so no later swap of the name matters.
pub fn open_regular(path: &Path) -> std::io::Result<(File, Metadata)> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{}, not a regular file", kind_name(&meta)),
        ));
    }
    Ok((file, meta))
}

/// [`open_regular`], then checks the open file is the one listed as `expected`.
pub fn open_listed(path: &Path, expected: &FileId) -> std::io::Result<(File, Metadata)> {
    let (file, meta) = open_regular(path)?;
    if let Some(what) = expected.change_to(&FileId::of(&meta)) {
        return Err(std::io::Error::other(format!(
            "changed after it was listed ({what}); nothing from it was used"
        )));
    }
    Ok((file, meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        // mkfifo(1): the crate forbids unsafe code outside digest::mmap.
        let ok = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(ok.success());
        let err = open_regular(&fifo).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
    }

    #[test]
    fn a_changed_file_is_named_as_changed() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("w");
        std::fs::write(&f, b"abc").unwrap();
        let id = FileId::of(&std::fs::metadata(&f).unwrap());
        std::fs::write(&f, b"abcd").unwrap();
        let err = open_listed(&f, &id).unwrap_err();
        assert!(
            err.to_string()
                .contains("length 3 bytes when listed, 4 now")
        );
    }
}
