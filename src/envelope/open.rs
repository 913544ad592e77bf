//! Opening: every check that needs no key first (signer, claims, site, expiry, policy, output
//! path), then the file key, the header MAC, and a parallel decryption whose plaintext goes into
//! a temporary directory beside the output while every file is hashed. The directory is renamed
//! into place only when the whole payload authenticated and every digest matched the signed
//! manifest; on any failure it is removed, so no partial plaintext is left behind.

use super::EnvelopeError;
use super::claims::Claims;
use super::filehash::FileHasher;
use super::header;
use super::inspect;
use super::keys::{BoxedIdentity, SignerKey};
use super::manifest::{self, FileEntry};
use super::stream::{self, NONCE_LEN, PayloadKey, SEALED_CHUNK};
use super::tar::{self, Entry};
use super::writers::{Batch, WRITEBACK_FILES_FROM, WritePool, Writeback};
use age::secrecy::ExposeSecret;
use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;

/// Where and when the envelope is being opened, and what the policy says now.
pub struct Site<'a> {
    /// ISO 3166-1 alpha-2 country of this site.
    pub country: String,
    pub site: Option<String>,
    /// Today, `YYYY-MM-DD` (UTC).
    pub today: String,
    /// The current policy's verdict on the claims: `Err(why)` refuses.
    pub policy: &'a dyn Fn(&Claims) -> Result<(), String>,
}

/// What was opened.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpenReport {
    pub output: PathBuf,
    pub files: usize,
    pub bytes: u64,
    pub root: Option<String>,
    pub claims: Option<Claims>,
    /// A plain age file opened as payload, without claims or manifest.
    pub plain: bool,
    /// Tensor digests recomputed from the decrypted bytes and matched (safetensors files).
    pub tensors_verified: usize,
    /// Tensor digests the manifest gives for GGUF and PyTorch files, which are checked by their
    /// whole-file digest: the sealer's signed statement about bytes that were verified.
    pub tensors_signed_only: usize,
}

/// Checks the claims against this site; every refusal happens before decryption.
pub fn check_claims(path: &Path, claims: &Claims, site: &Site) -> Result<(), EnvelopeError> {
    let wrong = |claimed: String, actual: String| EnvelopeError::WrongSite {
        path: path.to_owned(),
        claimed,
        actual,
    };
    if !claims.destination.eq_ignore_ascii_case(&site.country) {
        return Err(wrong(
            format!("destination {}", claims.destination),
            format!("in {}", site.country.to_ascii_uppercase()),
        ));
    }
    if let Some(sealed_site) = &claims.site {
        match &site.site {
            Some(here) if here == sealed_site => {}
            Some(here) => return Err(wrong(format!("site {sealed_site}"), format!("site {here}"))),
            None => {
                return Err(wrong(
                    format!("site {sealed_site}"),
                    "not named (pass --site)".into(),
                ));
            }
        }
    }
    if let Some(expires) = &claims.expires
        && site.today.as_str() > expires.as_str()
    {
        return Err(EnvelopeError::Expired {
            path: path.to_owned(),
            expires: expires.clone(),
            today: site.today.clone(),
        });
    }
    (site.policy)(claims).map_err(|why| EnvelopeError::PolicyRefuses {
        path: path.to_owned(),
        why,
    })
}

/// Opens `path` into the new directory `output` (or, for a plain age file with `allow_plain`,
/// the new file `output`).
pub fn open(
    path: &Path,
    identities: &[BoxedIdentity],
    signer: Option<&SignerKey>,
    site: &Site,
    output: &Path,
    allow_plain: bool,
) -> Result<OpenReport, EnvelopeError> {
    open_with_progress(path, identities, signer, site, output, allow_plain, &|_| {})
}

/// [`open`], calling `progress` with each count of plaintext bytes decrypted (for a progress
/// bar).
pub fn open_with_progress(
    path: &Path,
    identities: &[BoxedIdentity],
    signer: Option<&SignerKey>,
    site: &Site,
    output: &Path,
    allow_plain: bool,
    progress: &dyn Fn(u64),
) -> Result<OpenReport, EnvelopeError> {
    let env = inspect::read(path, signer)?;
    let start = env.header.len as u64;
    let input = || -> Result<Payload<'_>, EnvelopeError> {
        let mut file = std::fs::File::open(path).map_err(EnvelopeError::io(path))?;
        file.seek(SeekFrom::Start(start))
            .map_err(EnvelopeError::io(path))?;
        Ok(Box::new(file))
    };
    open_envelope(
        path,
        env,
        &input,
        identities,
        signer,
        site,
        output,
        allow_plain,
        progress,
    )
}

/// [`open`] of an envelope in S3-compatible storage: the same checks in the same order, the
/// header read with ranged GETs and the payload with parallel ranged GETs read ahead
/// (`remote.rs`).
pub fn open_object(
    object: &super::remote::ObjectReader,
    identities: &[BoxedIdentity],
    signer: Option<&SignerKey>,
    site: &Site,
    output: &Path,
    allow_plain: bool,
) -> Result<OpenReport, EnvelopeError> {
    open_object_with_progress(
        object,
        identities,
        signer,
        site,
        output,
        allow_plain,
        &|_| {},
    )
}

/// [`open_object`], calling `progress` with each count of plaintext bytes decrypted.
pub fn open_object_with_progress(
    object: &super::remote::ObjectReader,
    identities: &[BoxedIdentity],
    signer: Option<&SignerKey>,
    site: &Site,
    output: &Path,
    allow_plain: bool,
    progress: &dyn Fn(u64),
) -> Result<OpenReport, EnvelopeError> {
    let env = inspect::read_object(object, signer)?;
    let start = env.header.len as u64;
    let input = || -> Result<Payload<'_>, EnvelopeError> {
        Ok(Box::new(
            object.read_ahead(start, super::remote::SEALED_BATCH),
        ))
    };
    open_envelope(
        Path::new(object.url()),
        env,
        &input,
        identities,
        signer,
        site,
        output,
        allow_plain,
        progress,
    )
}

/// The payload's bytes from its first (the nonce) to the end.
type Payload<'a> = Box<dyn Read + Send + 'a>;

/// Everything [`open`] does once the header was read: `input` gives the payload.
#[allow(clippy::too_many_arguments)]
fn open_envelope<'a>(
    path: &Path,
    env: inspect::Envelope,
    input: &dyn Fn() -> Result<Payload<'a>, EnvelopeError>,
    identities: &[BoxedIdentity],
    signer: Option<&SignerKey>,
    site: &Site,
    output: &Path,
    allow_plain: bool,
    progress: &dyn Fn(u64),
) -> Result<OpenReport, EnvelopeError> {
    match &env.claims {
        None if !allow_plain => {
            return Err(EnvelopeError::NoClaims {
                path: path.to_owned(),
            });
        }
        None => {}
        Some(signed) => {
            if signer.is_none() {
                return Err(EnvelopeError::Keys {
                    what: "a trusted signer is required to open an envelope (--signer)".into(),
                });
            }
            check_claims(path, &signed.claims, site)?;
        }
    }
    if output.exists() {
        return Err(EnvelopeError::OutputExists {
            path: output.to_owned(),
        });
    }

    let stanzas: Vec<age_core::format::Stanza> = env.header.stanzas[..env.recipients]
        .iter()
        .map(|s| age_core::format::Stanza {
            tag: s.tag.clone(),
            args: s.args.clone(),
            body: s.body.clone(),
        })
        .collect();
    let mut file_key = None;
    for id in identities {
        match id.unwrap_stanzas(&stanzas) {
            Some(Ok(k)) => {
                file_key = Some(*k.expose_secret());
                break;
            }
            // A malformed stanza is the header's fault; anything else (a plugin that failed, or
            // asked a question with no terminal to answer it) is the identity's, and said so.
            Some(Err(e @ age::DecryptError::InvalidHeader)) => {
                return Err(EnvelopeError::Header {
                    path: path.to_owned(),
                    offset: 0,
                    what: format!("recipient stanza: {e}"),
                });
            }
            Some(Err(e)) => {
                return Err(EnvelopeError::Input {
                    path: path.to_owned(),
                    // age's messages wrap names in Unicode isolation marks (U+2068, U+2069).
                    what: format!(
                        "unwrapping the file key with an identity: {}",
                        e.to_string().replace(['\u{2068}', '\u{2069}'], "")
                    ),
                });
            }
            None => {}
        }
    }
    let Some(fk) = file_key else {
        return Err(EnvelopeError::NoMatchingIdentity {
            path: path.to_owned(),
        });
    };
    if !header::verify_mac(&fk, &env.header_bytes, &env.header) {
        return Err(EnvelopeError::HeaderMac {
            path: path.to_owned(),
        });
    }

    let parent = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if env.claims.is_none() {
        // A plain age file: its payload, written as one file.
        let (tmp, _registered) = crate::interrupt::create(
            || {
                tempfile::Builder::new()
                    .prefix(&crate::interrupt::prefix(".weightguard-partial-"))
                    .tempfile_in(parent)
            },
            |t| t.path().to_owned(),
        )
        .map_err(EnvelopeError::io(parent))?;
        let mut w = std::io::BufWriter::with_capacity(
            1 << 20,
            tmp.reopen().map_err(EnvelopeError::io(tmp.path()))?,
        );
        let mut bytes = 0u64;
        decrypt(path, &env, &fk, input()?, |batch, range| {
            progress(range.len() as u64);
            bytes += range.len() as u64;
            w.write_all(&batch.buf[range]).map_err(|e| e.to_string())
        })?;
        w.flush()
            .and_then(|_| w.get_ref().sync_all())
            .map_err(EnvelopeError::io(tmp.path()))?;
        drop(w);
        tmp.persist_noclobber(output)
            .map_err(|e| EnvelopeError::io(output)(e.error))?;
        return Ok(OpenReport {
            output: output.to_owned(),
            files: 1,
            bytes,
            root: None,
            claims: None,
            plain: true,
            tensors_verified: 0,
            tensors_signed_only: 0,
        });
    }

    let signed = env.claims.as_ref().expect("checked above");
    let name = output
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("output");
    // Registered while it exists: an interrupted open removes it (`crate::interrupt`).
    let (tmp, _registered) = crate::interrupt::create(
        || {
            private(tempfile::Builder::new().prefix(&format!(
                ".{name}{}",
                crate::interrupt::prefix(".weightguard-partial-")
            )))
            .tempdir_in(parent)
        },
        |t| t.path().to_owned(),
    )
    .map_err(EnvelopeError::io(parent))?;
    let mut sink = TarSink::new(tmp.path().to_owned());
    decrypt(path, &env, &fk, input()?, |batch, range| {
        progress(range.len() as u64);
        sink.write(batch, range)
    })?;
    let (entries, manifest_bytes, bytes) =
        sink.finish().map_err(|what| EnvelopeError::PayloadFormat {
            path: path.to_owned(),
            what,
        })?;
    let manifest = manifest::verify(&manifest_bytes, &signed.signer).map_err(|what| {
        EnvelopeError::Manifest {
            path: path.to_owned(),
            what,
        }
    })?;
    if manifest.claims_blake3 != signed.digest() {
        return Err(EnvelopeError::Manifest {
            path: path.to_owned(),
            what: "the manifest was signed for other claims than this header carries".into(),
        });
    }
    let (tensors_verified, tensors_signed_only) = compare(path, &manifest.files, &entries)?;
    if output.exists() {
        return Err(EnvelopeError::OutputExists {
            path: output.to_owned(),
        });
    }
    std::fs::rename(tmp.path(), output).map_err(EnvelopeError::io(output))?;
    // The directory now lives at `output`: stop the guard from deleting it.
    let _ = tmp.keep();
    Ok(OpenReport {
        output: output.to_owned(),
        files: entries.len(),
        bytes,
        root: manifest.root,
        claims: Some(signed.claims.clone()),
        plain: false,
        tensors_verified,
        tensors_signed_only,
    })
}

// Decrypted weights are for this account only: the output directory (and any directory in it)
// is created 0700 and every file 0600, whatever the umask, as an age identity or an SSH key
// would be. A plain age file opened with `--allow-plain-age` is a temporary file (0600) renamed.

/// `builder` making an owner-only directory.
fn private<'b, 'p, 's>(
    builder: &'b mut tempfile::Builder<'p, 's>,
) -> &'b mut tempfile::Builder<'p, 's> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    builder
}

/// Creates `dir` and its missing parents, owner-only.
/// Creates `dir`'s missing directories below `root`, owner-only, but never `root` itself: if an
/// interrupt removed the temporary output directory, the next file fails instead of quietly
/// recreating it (which would leave plaintext behind once the process exits).
fn private_dirs(root: &Path, dir: &Path) -> std::io::Result<()> {
    let rel = dir
        .strip_prefix(root)
        .map_err(|_| std::io::Error::other(format!("{} is outside the output", dir.display())))?;
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    if !root.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the temporary output directory is gone (interrupted?)",
        ));
    }
    let mut at = root.to_owned();
    for c in rel.components() {
        at.push(c);
        match b.create(&at) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && at.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `options` creating an owner-only file.
fn private_file(options: &mut std::fs::OpenOptions) -> &mut std::fs::OpenOptions {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
    options
}

/// Every file the manifest lists, with the same digests, and nothing else. Returns how many
/// tensor digests were recomputed and matched, and how many were only signed (files checked
/// whole).
fn compare(
    path: &Path,
    expected: &[FileEntry],
    found: &[FileEntry],
) -> Result<(usize, usize), EnvelopeError> {
    let (mut verified, mut signed_only) = (0, 0);
    let fail = |what: String| EnvelopeError::Digest {
        path: path.to_owned(),
        what,
    };
    if expected.len() != found.len() {
        return Err(fail(format!(
            "the manifest lists {} files but the payload holds {}",
            expected.len(),
            found.len()
        )));
    }
    for (e, f) in expected.iter().zip(found) {
        if e.path != f.path || e.size != f.size {
            return Err(fail(format!(
                "payload file `{}` ({} bytes) where the manifest lists `{}` ({} bytes)",
                f.path, f.size, e.path, e.size
            )));
        }
        if f.header.is_none() && f.tensors.is_empty() {
            // Hashed whole while streaming (anything but safetensors): the whole-file digest
            // must be in the manifest and match. Tensor digests the manifest gives for a GGUF or
            // PyTorch file are the sealer's signed statement about these verified bytes.
            if e.blake3.is_none() || e.blake3 != f.blake3 {
                return Err(fail(format!(
                    "`{}`: digest does not match the manifest",
                    f.path
                )));
            }
            signed_only += e.tensors.len();
            continue;
        }
        if e.blake3 != f.blake3 || e.header != f.header {
            return Err(fail(format!(
                "`{}`: digest does not match the manifest",
                f.path
            )));
        }
        if e.tensors.len() != f.tensors.len() {
            return Err(fail(format!(
                "`{}`: tensors differ from the manifest",
                f.path
            )));
        }
        for (te, tf) in e.tensors.iter().zip(&f.tensors) {
            if te != tf {
                return Err(fail(format!(
                    "`{}`: tensor `{}` does not match the manifest",
                    f.path, tf.name
                )));
            }
        }
        verified += f.tensors.len();
    }
    Ok((verified, signed_only))
}

/// Sealed chunks read and decrypted at a time: 1 MiB of plaintext, still warm in the cache when
/// the main thread hashes it. Larger batches only add memory (issue 16: 8 MiB batches took open's
/// peak memory from 19 to 82 MiB at the same speed).
const READ_CHUNKS: usize = 16;

/// Batch buffers in use at most (read, being decrypted, waiting in order, or queued to a writer):
/// memory stays under this many MiB whatever the payload's size.
const BUFFERS: usize = 16;

/// A sealed batch on its way through the decryption workers: its place in the payload, and its
/// bytes (or why they could not be read).
struct Sealed {
    index: u64,
    first_chunk: u64,
    last: bool,
    bytes: Result<Vec<u8>, EnvelopeError>,
}

/// Decrypts the payload `file` (from its nonce on) and hands each authenticated batch to `sink`
/// in order: a reader thread reads batches, one decryption worker per core decrypts whole batches
/// (each on its own thread: no stage waits on another's parallel loop), and this thread puts
/// them back in order, parses and hashes them and hands them to `sink`.
fn decrypt(
    path: &Path,
    env: &inspect::Envelope,
    file_key: &[u8; 16],
    mut file: Payload<'_>,
    mut sink: impl FnMut(&Arc<Batch>, Range<usize>) -> Result<(), String>,
) -> Result<(), EnvelopeError> {
    let start = env.header.len as u64;
    let mut nonce = [0u8; NONCE_LEN];
    file.read_exact(&mut nonce)
        .map_err(EnvelopeError::io(path))?;
    let key = PayloadKey::derive(file_key, &nonce);
    let payload = env.file_len - start - NONCE_LEN as u64;
    let batch = (READ_CHUNKS * SEALED_CHUNK) as u64;
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);

    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    let owned = path.to_owned();
    // Set when this thread stops early: buffers held downstream (a writer's queue, the sink's
    // pending job) may then never come back, so the reader must not wait for one.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let stop = &stop;
    std::thread::scope(|scope| {
        let (work_tx, work_rx) = mpsc::sync_channel::<Sealed>(workers);
        let work_rx = Arc::new(std::sync::Mutex::new(work_rx));
        let (done_tx, done_rx) = mpsc::sync_channel::<Sealed>(2 * workers);
        scope.spawn(move || {
            let mut done = 0u64;
            let mut chunk = 0u64;
            let mut allocated = 0;
            let mut index = 0u64;
            while done < payload {
                let n = (payload - done).min(batch) as usize;
                let last = done + n as u64 == payload;
                // A buffer back from the writers, or a new one while fewer than BUFFERS exist.
                let mut sealed = match free_rx.try_recv() {
                    Ok(b) => b,
                    Err(_) if allocated < BUFFERS => {
                        allocated += 1;
                        Vec::new()
                    }
                    Err(_) => loop {
                        match free_rx.recv_timeout(std::time::Duration::from_millis(20)) {
                            Ok(b) => break b,
                            Err(mpsc::RecvTimeoutError::Timeout)
                                if !stop.load(std::sync::atomic::Ordering::Relaxed) => {}
                            Err(_) => return,
                        }
                    },
                };
                sealed.resize(n, 0);
                let bytes = file.read_exact(&mut sealed).map(|_| sealed).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::UnexpectedEof {
                        // The file got shorter than it was when its header was checked.
                        EnvelopeError::PayloadFormat {
                            path: owned.clone(),
                            what: format!(
                                "the file ends inside payload bytes {done}..{}, short of the {payload} bytes it had when opened: it was truncated (a partial copy?); nothing was written",
                                done + n as u64
                            ),
                        }
                    } else {
                        EnvelopeError::io(&owned)(e)
                    }
                });
                let failed = bytes.is_err();
                let item = Sealed {
                    index,
                    first_chunk: chunk,
                    last,
                    bytes,
                };
                if work_tx.send(item).is_err() || failed {
                    return;
                }
                done += n as u64;
                chunk += n.div_ceil(SEALED_CHUNK) as u64;
                index += 1;
            }
        });
        for _ in 0..workers {
            let work_rx = work_rx.clone();
            let done_tx = done_tx.clone();
            let key = &key;
            let owned = path.to_owned();
            scope.spawn(move || {
                loop {
                    let next = match work_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(mut item) = next else { return };
                    item.bytes = item.bytes.and_then(|mut sealed| {
                        // Decrypted in place: each chunk's body then holds its plaintext.
                        stream::open_batch_in_place(key, item.first_chunk, &mut sealed, item.last)
                            .map(|_| sealed)
                            .map_err(|c| EnvelopeError::Payload {
                                path: owned.clone(),
                                chunk: c,
                            })
                    });
                    if done_tx.send(item).is_err() {
                        return;
                    }
                }
            });
        }
        // The workers hold the only receivers now: when they end, the reader's sends fail.
        drop(work_rx);
        drop(done_tx);

        // Batches come back in any order; they are handed on in payload order.
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0u64;
        let mut outcome = Ok(());
        'batches: for item in &done_rx {
            waiting.insert(item.index, item.bytes);
            while let Some(bytes) = waiting.remove(&next) {
                next += 1;
                let opened = match bytes {
                    Ok(b) => Batch::new(b, free_tx.clone()),
                    Err(e) => {
                        outcome = Err(e);
                        break 'batches;
                    }
                };
                let mut at = 0;
                while at < opened.buf.len() {
                    let end = (at + SEALED_CHUNK).min(opened.buf.len());
                    if let Err(what) = sink(&opened, at..end - stream::TAG_LEN) {
                        outcome = Err(EnvelopeError::PayloadFormat {
                            path: path.to_owned(),
                            what,
                        });
                        break 'batches;
                    }
                    at = end;
                }
            }
        }
        // Ends the reader and the workers if this stopped early: their sends fail, and the
        // reader stops waiting for a free buffer.
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        drop(done_rx);
        drop(waiting);
        drop(free_tx);
        outcome
    })
}

enum State {
    /// Collecting a 512-byte header block.
    Header(Vec<u8>),
    File {
        name: Arc<str>,
        left: u64,
        /// Where the next byte goes in the file.
        offset: u64,
        pad: usize,
        out: Arc<std::fs::File>,
        hasher: Box<FileHasher>,
        /// Written here rather than by the pool: a small file is closed as soon as it is
        /// complete, so however many there are, only a few are open at once (queued pool jobs
        /// each hold their file open).
        inline: bool,
        /// The pool's writer that writes this file (if not inline).
        writer: usize,
    },
    Manifest {
        left: u64,
        pad: usize,
        buf: Vec<u8>,
    },
    Padding(usize),
    /// After the end-of-archive block: only zeros may follow.
    End,
}

/// Files up to this size are written by the parser's thread, not queued to the write pool.
const INLINE_BYTES: u64 = 1 << 20;

/// The pieces of the current batch that go to the file being written, queued as one job when the
/// batch or the file ends.
struct Pending {
    writer: usize,
    file: Arc<std::fs::File>,
    name: Arc<str>,
    data: Arc<Batch>,
    pieces: Vec<(u64, Range<usize>)>,
}

/// Queues the pending pieces, if any, to their writer.
fn flush(pool: &WritePool, pending: &mut Option<Pending>) -> Result<(), String> {
    match pending.take() {
        Some(p) => pool.submit(p.writer, &p.file, &p.name, &p.data, p.pieces),
        None => Ok(()),
    }
}

/// Writes a tar stream's files under `root`, hashing each, and keeps the manifest entry.
struct TarSink {
    root: PathBuf,
    pool: WritePool,
    pending: Option<Pending>,
    /// Files written, to flush to disk before the rename. Only their paths are kept: a file is
    /// closed once its last write is done, so an envelope of many thousand files opens within the
    /// usual `ulimit -n` of 1,024 (only the files being written are open).
    written: Vec<(Arc<str>, PathBuf)>,
    state: State,
    names: HashSet<String>,
    entries: Vec<FileEntry>,
    manifest: Option<Vec<u8>>,
    bytes: u64,
    /// Background writeback of the large file being written, and of those retired since (their
    /// threads end after the flush under way; joined at the end).
    writeback: Option<Writeback>,
    retired: Vec<Writeback>,
}

impl TarSink {
    fn new(root: PathBuf) -> Self {
        TarSink {
            root,
            pool: WritePool::new(),
            pending: None,
            written: Vec::new(),
            state: State::Header(Vec::with_capacity(tar::BLOCK)),
            names: HashSet::new(),
            entries: Vec::new(),
            manifest: None,
            bytes: 0,
            writeback: None,
            retired: Vec::new(),
        }
    }

    /// Ends the current file's background writeback without waiting for it.
    fn retire_writeback(&mut self) {
        if let Some(w) = self.writeback.take() {
            w.retire();
            self.retired.retain(|r| !r.is_finished());
            self.retired.push(w);
        }
    }

    fn write(&mut self, batch: &Arc<Batch>, range: Range<usize>) -> Result<(), String> {
        let mut start = range.start;
        while start < range.end {
            let data = &batch.buf[start..range.end];
            match &mut self.state {
                State::Header(buf) => {
                    let take = (tar::BLOCK - buf.len()).min(data.len());
                    buf.extend_from_slice(&data[..take]);
                    start += take;
                    if buf.len() == tar::BLOCK {
                        let block: [u8; tar::BLOCK] = buf[..].try_into().map_err(|_| "block")?;
                        self.state = self.begin(&block)?;
                    }
                }
                State::File {
                    name,
                    left,
                    offset,
                    pad,
                    out,
                    hasher,
                    inline,
                    writer,
                } => {
                    let take = usize::try_from(*left).unwrap_or(usize::MAX).min(data.len());
                    hasher.feed(&data[..take])?;
                    if *inline {
                        std::os::unix::fs::FileExt::write_all_at(&**out, &data[..take], *offset)
                            .map_err(|e| format!("writing `{name}`: {e}"))?;
                    } else {
                        let piece = (*offset, start..start + take);
                        match &mut self.pending {
                            Some(p) if Arc::ptr_eq(&p.data, batch) && Arc::ptr_eq(&p.file, out) => {
                                p.pieces.push(piece);
                            }
                            _ => {
                                flush(&self.pool, &mut self.pending)?;
                                self.pending = Some(Pending {
                                    writer: *writer,
                                    file: out.clone(),
                                    name: name.clone(),
                                    data: batch.clone(),
                                    pieces: vec![piece],
                                });
                            }
                        }
                    }
                    if let Some(w) = &self.writeback {
                        w.add(take as u64);
                    }
                    *left -= take as u64;
                    *offset += take as u64;
                    self.bytes += take as u64;
                    start += take;
                    if *left == 0 {
                        flush(&self.pool, &mut self.pending)?;
                        let pad = *pad;
                        let State::File { hasher, name, .. } =
                            std::mem::replace(&mut self.state, State::Padding(pad))
                        else {
                            unreachable!("matched above")
                        };
                        let path = self.root.join(&*name);
                        self.written.push((name, path));
                        self.retire_writeback();
                        self.entries.push(hasher.finish()?);
                    }
                }
                State::Manifest { left, pad, buf } => {
                    let take = usize::try_from(*left).unwrap_or(usize::MAX).min(data.len());
                    buf.extend_from_slice(&data[..take]);
                    *left -= take as u64;
                    start += take;
                    if *left == 0 {
                        let pad = *pad;
                        let State::Manifest { buf, .. } =
                            std::mem::replace(&mut self.state, State::Padding(pad))
                        else {
                            unreachable!("matched above")
                        };
                        self.manifest = Some(buf);
                    }
                }
                State::Padding(left) => {
                    let take = (*left).min(data.len());
                    if data[..take].iter().any(|&b| b != 0) {
                        return Err("non-zero padding after an entry".into());
                    }
                    *left -= take;
                    start += take;
                    if *left == 0 {
                        self.state = State::Header(Vec::with_capacity(tar::BLOCK));
                    }
                }
                State::End => {
                    if data.iter().any(|&b| b != 0) {
                        return Err("data after the end of the archive".into());
                    }
                    start = range.end;
                }
            }
        }
        Ok(())
    }

    /// Starts the entry whose header is `block`.
    fn begin(&mut self, block: &[u8; tar::BLOCK]) -> Result<State, String> {
        match tar::parse_header(block)? {
            Entry::End => {
                if self.manifest.is_none() {
                    return Err("the archive ends without the signed manifest".into());
                }
                Ok(State::End)
            }
            Entry::File { name, size } => {
                if self.manifest.is_some() {
                    return Err(format!("`{name}` follows the manifest, which must be last"));
                }
                if !self.names.insert(name.clone()) {
                    return Err(format!("`{name}` appears twice"));
                }
                let pad = tar::padding(size);
                if name == manifest::ENTRY_NAME {
                    if size > manifest::MAX_MANIFEST_BYTES {
                        return Err(format!(
                            "manifest of {size} bytes, over the limit of {} bytes",
                            manifest::MAX_MANIFEST_BYTES
                        ));
                    }
                    return Ok(State::Manifest {
                        left: size,
                        pad,
                        buf: Vec::new(),
                    });
                }
                let path = self.root.join(&name);
                if let Some(dir) = path.parent() {
                    private_dirs(&self.root, dir).map_err(|e| format!("creating `{name}`: {e}"))?;
                }
                let file = private_file(std::fs::OpenOptions::new().write(true).create_new(true))
                    .open(&path)
                    .map_err(|e| format!("creating `{name}`: {e}"))?;
                let hasher = Box::new(FileHasher::new(&name, size));
                // A large file is flushed in the background while it is written, so the fsync
                // before the rename does not write it all at the end.
                if size >= WRITEBACK_FILES_FROM
                    && let Ok(second) = file.try_clone()
                {
                    self.writeback = Some(Writeback::start(second));
                }
                let out = Arc::new(file);
                let name: Arc<str> = name.into();
                if size == 0 {
                    // An empty file is complete at once.
                    drop(out);
                    self.written.push((name, path));
                    self.entries.push(hasher.finish()?);
                    return Ok(State::Padding(pad));
                }
                let inline = size <= INLINE_BYTES;
                Ok(State::File {
                    name,
                    left: size,
                    offset: 0,
                    pad,
                    out,
                    hasher,
                    inline,
                    writer: if inline { 0 } else { self.pool.assign() },
                })
            }
        }
    }

    fn finish(mut self) -> Result<(Vec<FileEntry>, Vec<u8>, u64), String> {
        if !matches!(self.state, State::End) {
            return Err("the payload ends inside the archive".into());
        }
        flush(&self.pool, &mut self.pending)?;
        self.pool.finish()?;
        drop(self.writeback);
        drop(self.retired);
        // Every write has landed and every descriptor is closed: flush each file through a
        // short-lived descriptor of its own (fsync flushes the file, whichever descriptor asks).
        for (name, path) in &self.written {
            std::fs::File::open(path)
                .and_then(|f| f.sync_all())
                .map_err(|e| format!("writing `{name}`: {e}"))?;
        }
        let manifest = self.manifest.ok_or("no signed manifest in the payload")?;
        Ok((self.entries, manifest, self.bytes))
    }
}
