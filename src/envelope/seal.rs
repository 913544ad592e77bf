//! Sealing: files → tar stream → age payload, hashing and encrypting in one pass.
//!
//! The main thread reads each file once into 8 MiB batches of tar plaintext and hashes the bytes
//! as they arrive; a second thread encrypts each batch's 64 KiB chunks on all cores and writes
//! them. Two batches in flight bound the memory, whatever the model's size. The envelope is
//! written under a temporary name beside the output and renamed into place when complete.

use super::EnvelopeError;
use super::claims::{self, Claims, PolicyRef};
use super::filehash::FileHasher;
use super::header::{self, Stanza};
use super::keys::{BoxedRecipient, SigningKey};
use super::manifest::{self, Manifest};
use super::sink::{FileSink, Sink};
use super::stream::{self, BATCH, NONCE_LEN, PayloadKey};
use super::tar;
use age::secrecy::ExposeSecret;
use age_core::format::FileKey;
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use crate::artifact_set::identity::open_regular;
use crate::artifact_set::{ArtifactSet, FileId, Ignored};

/// Everything the sealer decides before sealing (from the gate).
#[derive(Debug, Clone)]
pub struct SealTerms {
    pub destination: String,
    pub site: Option<String>,
    pub holder_hq: Option<String>,
    pub decision: String,
    pub authorization: Option<String>,
    pub classification: String,
    pub policy: PolicyRef,
    pub expires: Option<String>,
    pub sealed_on: String,
    /// The gate's full output, kept in the manifest.
    pub gate: serde_json::Value,
}

/// What was sealed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SealReport {
    pub output: PathBuf,
    pub files: usize,
    /// Plaintext bytes of the files.
    pub bytes: u64,
    /// Envelope size.
    pub envelope_bytes: u64,
    pub root: Option<String>,
    pub claims: Claims,
    /// What the set's rules left out (recorded in the manifest too).
    pub ignored: Vec<Ignored>,
}

/// Seals the file or directory `input` (its artifact set with the default rules) into the
/// envelope `output`.
pub fn seal(
    input: &Path,
    output: &Path,
    recipients: &[BoxedRecipient],
    key: &SigningKey,
    terms: &SealTerms,
    overwrite: bool,
) -> Result<SealReport, EnvelopeError> {
    seal_with_progress(input, output, recipients, key, terms, overwrite, &|_| {})
}

/// [`seal`], calling `progress` with each count of file bytes read (for a progress bar).
pub fn seal_with_progress(
    input: &Path,
    output: &Path,
    recipients: &[BoxedRecipient],
    key: &SigningKey,
    terms: &SealTerms,
    overwrite: bool,
    progress: &dyn Fn(u64),
) -> Result<SealReport, EnvelopeError> {
    let set = crate::artifact_set::collect(input, &Default::default()).map_err(|e| {
        EnvelopeError::Input {
            path: input.to_owned(),
            what: e.to_string(),
        }
    })?;
    seal_set(&set, output, recipients, key, terms, overwrite, progress)
}

/// Seals exactly the files of `set` (the set that was gated) into `output`. Each file is opened
/// only if it is still the file listed; after the last byte, the path is listed again, and any
/// file added, removed or changed since the set was built makes the seal fail with nothing left
/// behind.
pub fn seal_set(
    set: &ArtifactSet,
    output: &Path,
    recipients: &[BoxedRecipient],
    key: &SigningKey,
    terms: &SealTerms,
    overwrite: bool,
    progress: &dyn Fn(u64),
) -> Result<SealReport, EnvelopeError> {
    seal_set_capped(
        set,
        output,
        recipients,
        key,
        terms,
        overwrite,
        progress,
        manifest::MAX_MANIFEST_BYTES,
    )
}

/// [`seal_set`] with another manifest cap than `open`'s, so a test can reach the refusal with a
/// small model. Not a way to seal: an envelope whose manifest is over `open`'s cap never opens.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn seal_set_capped(
    set: &ArtifactSet,
    output: &Path,
    recipients: &[BoxedRecipient],
    key: &SigningKey,
    terms: &SealTerms,
    overwrite: bool,
    progress: &dyn Fn(u64),
    manifest_cap: u64,
) -> Result<SealReport, EnvelopeError> {
    check_destination(output, recipients, overwrite)?;
    check_not_inside(&set.path, output)?;
    let files = entries(set)?;
    let ignored = set.ignored.clone();
    let last_check = || {
        set.recheck().map_err(|e| EnvelopeError::Input {
            path: set.path.clone(),
            what: e.to_string(),
        })
    };
    let sealed = write_envelope(
        &|| Ok(Box::new(FileSink::create(output, overwrite)?)),
        recipients,
        key,
        terms,
        |batcher, claims| {
            produce(
                &files,
                &ignored,
                claims,
                terms,
                key,
                batcher,
                progress,
                manifest_cap,
            )
        },
        &last_check,
    )?;
    let (manifest, bytes) = sealed.filled;
    Ok(SealReport {
        output: output.to_owned(),
        files: manifest.files.len(),
        bytes,
        envelope_bytes: sealed.envelope_bytes,
        root: manifest.root,
        claims: sealed.claims,
        ignored: manifest.ignored,
    })
}

/// [`seal_set`] into an object in S3-compatible storage: the envelope is streamed into a
/// multipart upload (`remote.rs`) and completed only once whole and checked; on any error the
/// upload is aborted, leaving neither an object nor a pending upload.
pub fn seal_set_to_object(
    set: &ArtifactSet,
    target: &std::sync::Arc<super::remote::ObjectTarget>,
    recipients: &[BoxedRecipient],
    key: &SigningKey,
    terms: &SealTerms,
    overwrite: bool,
    progress: &dyn Fn(u64),
) -> Result<SealReport, EnvelopeError> {
    if recipients.is_empty() {
        return Err(EnvelopeError::Keys {
            what: "no recipients: name at least one with --recipient".into(),
        });
    }
    let files = entries(set)?;
    let ignored = set.ignored.clone();
    let last_check = || {
        set.recheck().map_err(|e| EnvelopeError::Input {
            path: set.path.clone(),
            what: e.to_string(),
        })
    };
    // The envelope's size, for the part size: the files, a tar header and padding each, and
    // at most a manifest's worth more; sealing adds 16 bytes per 64 KiB.
    let plain: u64 = files
        .iter()
        .map(|f| f.size + 2 * tar::BLOCK as u64)
        .sum::<u64>()
        + manifest::MAX_MANIFEST_BYTES;
    let size = plain + plain / stream::CHUNK as u64 * stream::TAG_LEN as u64 + (1 << 20);
    let sealed = write_envelope(
        &|| target.sink(overwrite, size),
        recipients,
        key,
        terms,
        |batcher, claims| {
            produce(
                &files,
                &ignored,
                claims,
                terms,
                key,
                batcher,
                progress,
                manifest::MAX_MANIFEST_BYTES,
            )
        },
        &last_check,
    )?;
    let (manifest, bytes) = sealed.filled;
    Ok(SealReport {
        output: PathBuf::from(target.url()),
        files: manifest.files.len(),
        bytes,
        envelope_bytes: sealed.envelope_bytes,
        root: manifest.root,
        claims: sealed.claims,
        ignored: manifest.ignored,
    })
}

/// An envelope written into the directory it seals would be sealed into itself (or, with
/// `--force`, replace the weights it seals): refused.
fn check_not_inside(input: &Path, output: &Path) -> Result<(), EnvelopeError> {
    let Ok(input) = std::fs::canonicalize(input) else {
        return Ok(());
    };
    let parent = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(dir) = std::fs::canonicalize(parent) else {
        return Ok(());
    };
    let out = dir.join(output.file_name().unwrap_or_default());
    if out == input || out.starts_with(&input) {
        return Err(EnvelopeError::Input {
            path: output.to_owned(),
            what: format!(
                "the envelope would be written inside what it seals ({}); write it elsewhere",
                input.display()
            ),
        });
    }
    Ok(())
}

/// Seals the bytes `payload` returns as the envelope's entire plaintext, in place of the tar
/// stream [`seal`] writes, under real claims and a real header; `payload` is given the digest of
/// those claims, which a manifest must carry. Tests and the `open_payload` fuzz target use it to
/// reach what `open` does after decryption (the tar reader, the manifest and digest checks) with
/// plaintext that no honest sealer writes. It is not a way to seal weights: `open` refuses
/// anything but a well-formed tar stream ending in a manifest signed by a trusted key.
#[doc(hidden)]
pub fn seal_raw_payload(
    payload: impl FnOnce(&str) -> Vec<u8>,
    output: &Path,
    recipients: &[BoxedRecipient],
    key: &SigningKey,
    terms: &SealTerms,
) -> Result<u64, EnvelopeError> {
    check_destination(output, recipients, false)?;
    let sealed = write_envelope(
        &|| Ok(Box::new(FileSink::create(output, false)?)),
        recipients,
        key,
        terms,
        |batcher, claims| batcher.push(&payload(claims)),
        &|| Ok(()),
    )?;
    Ok(sealed.envelope_bytes)
}

fn check_destination(
    output: &Path,
    recipients: &[BoxedRecipient],
    overwrite: bool,
) -> Result<(), EnvelopeError> {
    if recipients.is_empty() {
        return Err(EnvelopeError::Keys {
            what: "no recipients: name at least one with --recipient".into(),
        });
    }
    if output.exists() && !overwrite {
        return Err(EnvelopeError::OutputExists {
            path: output.to_owned(),
        });
    }
    Ok(())
}

/// What [`write_envelope`] wrote.
struct Sealed<T> {
    claims: Claims,
    envelope_bytes: u64,
    /// What the plaintext producer returned.
    filled: T,
}

/// Writes an envelope into the sink `open_sink` makes: a fresh file key wrapped for every
/// recipient, the claims stanza signed by `key`, the header MAC, then the plaintext that `fill`
/// pushes into the batcher (given the claims digest the manifest must bind), encrypted on all
/// cores. The sink is committed only after the last batch and `last_check`; on any error it is
/// dropped, which leaves nothing behind (`sink.rs`).
fn write_envelope<T>(
    open_sink: &dyn Fn() -> Result<Box<dyn Sink>, EnvelopeError>,
    recipients: &[BoxedRecipient],
    key: &SigningKey,
    terms: &SealTerms,
    fill: impl FnOnce(&mut Batcher, &str) -> Result<T, EnvelopeError>,
    last_check: &dyn Fn() -> Result<(), EnvelopeError>,
) -> Result<Sealed<T>, EnvelopeError> {
    let rng = SystemRandom::new();
    let mut key_bytes = [0u8; 16];
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut key_bytes)
        .and_then(|_| rng.fill(&mut nonce))
        .map_err(|_| EnvelopeError::Keys {
            what: "the system random source failed".into(),
        })?;
    let file_key = FileKey::new(Box::new(key_bytes));

    let mut stanzas = Vec::new();
    let mut labels: Option<HashSet<String>> = None;
    for r in recipients {
        let (wrapped, l) = r
            .wrap_file_key(&file_key)
            .map_err(|e| EnvelopeError::Keys {
                what: format!("wrapping the file key: {e}"),
            })?;
        // age's rule: recipients combine only if they carry the same labels.
        if let Some(prev) = labels.as_ref().filter(|prev| **prev != l) {
            let pq = super::pq::is_postquantum(prev) != super::pq::is_postquantum(&l);
            return Err(EnvelopeError::Keys {
                what: if pq {
                    super::pq::MIXED_RECIPIENTS.into()
                } else {
                    "these recipients cannot be combined in one envelope".into()
                },
            });
        }
        labels = Some(l);
        stanzas.extend(wrapped.into_iter().map(|s| Stanza {
            tag: s.tag,
            args: s.args,
            body: s.body,
        }));
    }
    let claims = Claims {
        destination: terms.destination.clone(),
        site: terms.site.clone(),
        holder_hq: terms.holder_hq.clone(),
        decision: terms.decision.clone(),
        authorization: terms.authorization.clone(),
        classification: terms.classification.clone(),
        policy: terms.policy.clone(),
        expires: terms.expires.clone(),
        sealed_on: terms.sealed_on.clone(),
        sealer: key.public().to_string(),
        recipients: stanzas.len(),
        recipients_blake3: claims::recipients_digest(&stanzas),
    };
    // Every claim string is printed by `verify` and `open`: only printable text is signed, so a
    // library caller cannot seal what the CLI refuses.
    claims
        .check_printable()
        .map_err(|what| EnvelopeError::Keys {
            what: format!("claims: {what}"),
        })?;
    let claims_stanza = claims::to_stanza(&claims, key);
    let claims_digest = blake3::hash(&claims_stanza.body[..claims_stanza.body.len() - 64])
        .to_hex()
        .to_string();
    stanzas.push(claims_stanza);
    let fk = *file_key.expose_secret();
    let head = header::encode(&stanzas, &fk);

    let sink = open_sink()?;
    let name = sink.name().to_owned();
    let payload_key = PayloadKey::derive(&fk, &nonce);

    // The header and nonce first; then batches, each encrypted in place and handed to the sink
    // by one of several workers, so encryption and the sink's writes both run on every core.
    // Every batch but the last is full, so batch i starts at
    // `base + i · (BATCH + BATCH_CHUNKS · TAG_LEN)`.
    let mut first = head.clone();
    first.extend_from_slice(&nonce);
    sink.head(&first).map_err(EnvelopeError::io(&name))?;
    let base = (head.len() + nonce.len()) as u64;
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let (tx, rx) = mpsc::sync_channel::<(u64, Vec<u8>, bool)>(workers);
    let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    let payload_key = std::sync::Arc::new(payload_key);
    let mut handles = Vec::new();
    for _ in 0..workers {
        let rx = rx.clone();
        let free_tx = free_tx.clone();
        let key = payload_key.clone();
        let path = name.clone();
        let mut w = sink.worker().map_err(EnvelopeError::io(&name))?;
        handles.push(std::thread::spawn(move || -> Result<u64, EnvelopeError> {
            let mut written = 0u64;
            let mut result = Ok(());
            loop {
                let msg = rx
                    .lock()
                    .map_err(|_| EnvelopeError::Input {
                        path: path.clone(),
                        what: "an encryption worker failed".into(),
                    })?
                    .recv();
                let Ok((index, mut batch, last)) = msg else {
                    break;
                };
                if result.is_ok() {
                    let first = index * stream::BATCH_CHUNKS as u64;
                    let tags = stream::seal_batch_in_place(&key, first, &mut batch, last);
                    let at = base + index * (BATCH + stream::BATCH_CHUNKS * stream::TAG_LEN) as u64;
                    written += (batch.len() + tags.len() * stream::TAG_LEN) as u64;
                    result = w.write(index, at, &batch, &tags, last);
                }
                let _ = free_tx.send(batch);
            }
            result.map_err(EnvelopeError::io(&path))?;
            Ok(written)
        }));
    }
    drop(free_tx);
    let mut batcher = Batcher::new(&tx, &free_rx);
    let produced = fill(&mut batcher, &claims_digest).and_then(|filled| {
        batcher.finish()?;
        Ok(filled)
    });
    drop(tx);
    let mut written = Ok(base);
    for h in handles {
        let r = h.join().map_err(|_| EnvelopeError::Input {
            path: name.clone(),
            what: "an encryption worker panicked".into(),
        })?;
        written = match (written, r) {
            (Ok(a), Ok(b)) => Ok(a + b),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
    }
    let filled = produced?;
    let written = written?;
    sink.commit(last_check)?;
    Ok(Sealed {
        claims,
        envelope_bytes: written,
        filled,
    })
}

/// A file to seal and its name inside the envelope.
struct Entry {
    /// Where its bytes are read.
    path: PathBuf,
    /// As the user sees it (in errors).
    shown: PathBuf,
    name: String,
    size: u64,
    id: FileId,
}

fn entries(set: &ArtifactSet) -> Result<Vec<Entry>, EnvelopeError> {
    let mut out = Vec::new();
    for f in &set.files {
        let name = crate::artifact_set::ignore::rel_string(&f.rel).ok_or_else(|| {
            EnvelopeError::Input {
                path: f.shown.clone(),
                what: "file names must be UTF-8".into(),
            }
        })?;
        tar::check_name(&name).map_err(|what| EnvelopeError::Input {
            path: f.shown.clone(),
            what,
        })?;
        if name == manifest::ENTRY_NAME {
            return Err(EnvelopeError::Input {
                path: f.shown.clone(),
                what: "a file may not take the manifest's name".into(),
            });
        }
        out.push(Entry {
            path: f.real.clone(),
            shown: f.shown.clone(),
            name,
            size: f.id.size,
            id: f.id,
        });
    }
    Ok(out)
}

/// Bytes read at a time: hashed at once, while still in the core's cache (1 MiB of L2 here),
/// rather than after a whole batch was read.
const READ_SLICE: usize = 128 << 10;

/// Fills batches with the tar stream of `files` and the signed manifest; returns the manifest.
#[allow(clippy::too_many_arguments)]
fn produce(
    files: &[Entry],
    ignored: &[Ignored],
    claims_digest: &str,
    terms: &SealTerms,
    key: &SigningKey,
    batcher: &mut Batcher,
    progress: &dyn Fn(u64),
    manifest_cap: u64,
) -> Result<(Manifest, u64), EnvelopeError> {
    let mut entries = Vec::with_capacity(files.len());
    let mut bytes = 0u64;
    // The manifest's size so far, counted as each file's entry is made: `open` refuses a manifest
    // over its cap, so the seal refuses first, holding no more than about a cap's worth of
    // entries (a file of a million tensors used to grow the manifest without a bound).
    let mut manifest_bytes = 0u64;
    let too_big = |what: String| EnvelopeError::ManifestTooLarge {
        limit: manifest_cap,
        what,
    };
    for f in files {
        // A checkpoint still being written must not be sealed half-done: it must be the file
        // listed (and gated), and nothing about it may change until it was read to the end.
        let (mut file, before) = open_regular(&f.path).map_err(EnvelopeError::io(&f.shown))?;
        if let Some(what) = f.id.change_to(&FileId::of(&before)) {
            return Err(EnvelopeError::Input {
                path: f.shown.clone(),
                what: format!("changed while being sealed ({what})"),
            });
        }
        let head = tar::file_header(&f.name, f.size).map_err(|what| EnvelopeError::Input {
            path: f.shown.clone(),
            what,
        })?;
        batcher.push(&head)?;
        let mut hasher = FileHasher::for_sealing(&f.path, &f.name, f.size).map_err(|what| {
            EnvelopeError::Input {
                path: f.shown.clone(),
                what,
            }
        })?;
        let mut left = f.size;
        while left > 0 {
            let spare = batcher.spare()?;
            let want = spare
                .len()
                .min(READ_SLICE)
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = file
                .read(&mut spare[..want])
                .map_err(EnvelopeError::io(&f.shown))?;
            if n == 0 {
                return Err(EnvelopeError::Input {
                    path: f.shown.clone(),
                    what: format!("file shrank while being sealed ({left} bytes missing)"),
                });
            }
            hasher
                .feed(&spare[..n])
                .map_err(|what| EnvelopeError::Input {
                    path: f.shown.clone(),
                    what,
                })?;
            batcher.commit(n);
            left -= n as u64;
            progress(n as u64);
        }
        let changed = crate::digest::change_since(&f.path, &file, &before)
            .map_err(EnvelopeError::io(&f.shown))?;
        if let Some(what) = changed {
            return Err(EnvelopeError::Input {
                path: f.shown.clone(),
                what: format!("changed while being sealed ({what})"),
            });
        }
        batcher.push(&vec![0u8; tar::padding(f.size)])?;
        let entry = hasher.finish().map_err(|what| EnvelopeError::Input {
            path: f.shown.clone(),
            what,
        })?;
        manifest_bytes += serde_json::to_vec(&entry).map_or(0, |v| v.len() as u64 + 1);
        if manifest_bytes > manifest_cap {
            return Err(too_big(format!(
                "{} files so far, up to {}",
                entries.len() + 1,
                f.shown.display()
            )));
        }
        entries.push(entry);
        bytes += f.size;
    }
    let manifest = Manifest {
        version: 1,
        claims_blake3: claims_digest.to_owned(),
        root: root_of(&entries),
        files: entries,
        decision: terms.gate.clone(),
        ignored: ignored.to_vec(),
    };
    let signed = manifest::sign(&manifest, key);
    if signed.len() as u64 > manifest_cap {
        return Err(too_big(format!(
            "{} bytes for {} files",
            signed.len(),
            manifest.files.len()
        )));
    }
    let head = tar::file_header(manifest::ENTRY_NAME, signed.len() as u64)
        .map_err(|what| EnvelopeError::Keys { what })?;
    batcher.push(&head)?;
    batcher.push(&signed)?;
    batcher.push(&vec![0u8; tar::padding(signed.len() as u64)])?;
    batcher.push(&[0u8; 2 * tar::BLOCK])?;
    Ok((manifest, bytes))
}

/// The model root digest over every tensor in the manifest, as `weightguard hash` computes it.
pub fn root_of(files: &[manifest::FileEntry]) -> Option<String> {
    let mut entries = Vec::new();
    for f in files {
        for t in &f.tensors {
            let digest = blake3::Hash::from_hex(&t.blake3).ok()?;
            entries.push(crate::digest::RootEntry {
                name: t.name.clone(),
                dtype: t.dtype.clone(),
                shape: t.shape.clone(),
                digest: *digest.as_bytes(),
            });
        }
    }
    (!entries.is_empty()).then(|| crate::digest::root_digest(&entries).to_hex().to_string())
}

/// Batches of exactly `BATCH` bytes, except the last; a full batch is sent only once more bytes
/// follow it, so the writer always knows which batch is final. Buffers stay `BATCH` long and are
/// recycled from the workers, so no byte is zeroed or allocated per batch: only `len` moves.
struct Batcher<'a> {
    /// Always `BATCH` long; the first `len` bytes are the batch.
    buf: Vec<u8>,
    len: usize,
    /// Index of the next batch sent.
    next: u64,
    tx: &'a mpsc::SyncSender<(u64, Vec<u8>, bool)>,
    free: &'a mpsc::Receiver<Vec<u8>>,
}

impl<'a> Batcher<'a> {
    fn new(
        tx: &'a mpsc::SyncSender<(u64, Vec<u8>, bool)>,
        free: &'a mpsc::Receiver<Vec<u8>>,
    ) -> Batcher<'a> {
        Batcher {
            buf: vec![0; BATCH],
            len: 0,
            next: 0,
            tx,
            free,
        }
    }

    fn send_full(&mut self) -> Result<(), EnvelopeError> {
        let mut next = self.free.try_recv().unwrap_or_default();
        // A recycled buffer is full-length already; a new one is zeroed once, here.
        next.resize(BATCH, 0);
        let full = std::mem::replace(&mut self.buf, next);
        self.len = 0;
        self.next += 1;
        self.tx
            .send((self.next - 1, full, false))
            .map_err(|_| EnvelopeError::Keys {
                what: "the encryption thread stopped (see the error above)".into(),
            })
    }

    /// The free space of the current batch (sending it first if it is full), to be read into;
    /// [`Batcher::commit`] then keeps what was read.
    fn spare(&mut self) -> Result<&mut [u8], EnvelopeError> {
        if self.len == BATCH {
            self.send_full()?;
        }
        Ok(&mut self.buf[self.len..])
    }

    /// Keeps the first `n` bytes of the space [`Batcher::spare`] returned.
    fn commit(&mut self, n: usize) {
        self.len = (self.len + n).min(BATCH);
    }

    fn push(&mut self, mut bytes: &[u8]) -> Result<(), EnvelopeError> {
        while !bytes.is_empty() {
            let spare = self.spare()?;
            let take = bytes.len().min(spare.len());
            spare[..take].copy_from_slice(&bytes[..take]);
            self.commit(take);
            bytes = &bytes[take..];
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), EnvelopeError> {
        let mut last = std::mem::take(&mut self.buf);
        last.truncate(self.len);
        self.tx
            .send((self.next, last, true))
            .map_err(|_| EnvelopeError::Keys {
                what: "the encryption thread stopped (see the error above)".into(),
            })
    }
}
