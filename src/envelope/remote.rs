//! Envelopes in S3-compatible object storage: `seal -o s3://bucket/key` streams the envelope
//! into a multipart upload as it is hashed and encrypted, `verify` and `open` read one with
//! ranged GETs. The bytes are those of a local envelope.
//!
//! Writing ([`ObjectSink`]): the encryption workers hand sealed batches over out of order; they
//! are put back in order (at most [`REORDER_WINDOW`] batches ahead of the next one) and cut into
//! parts of exactly `part_size` bytes (the last one shorter), at most `parts_in_flight` of them
//! uploading at once. The upload starts with the first full part; an envelope smaller than one
//! part is a single conditional PUT (`If-None-Match: *`). A multipart upload is completed only
//! after the last batch (which holds the signed manifest) and the seal's last check; dropped
//! without that, and on SIGINT/SIGTERM/SIGHUP (an abort hook in [`crate::interrupt`]), it is
//! aborted, so neither an object nor a pending upload is left. The object store crate completes
//! a multipart upload unconditionally, so without `--force` an existing object is refused by a
//! HEAD before the upload starts and another just before it completes, and the object is
//! checked after (its ETag must be the one the completion returned).
//!
//! Reading ([`ObjectReader`]): every GET is ranged and carries `If-Match` with the ETag seen
//! first, so an object replaced while it is read is refused rather than mixed. The payload is
//! read ahead in batch-sized ranges, `reads_in_flight` at once, and handed on in order.

use super::EnvelopeError;
use super::sink::{BatchWriter, Sink};
use super::stream::{BATCH_CHUNKS, SEALED_CHUNK, TAG_LEN};
use crate::audit::s3::{Connection, S3Error, S3Options};
use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{
    GetOptions, GetRange, MultipartUpload, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload, PutPayloadMut,
};
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Sealed batches held for reordering beyond the next one the upload needs.
pub const REORDER_WINDOW: u64 = 4;
/// The default part size: 16 MiB (S3 allows 5 MiB to 5 GiB; larger envelopes get larger parts).
pub const PART_SIZE: usize = 16 << 20;
/// Parts uploading at once.
pub const PARTS_IN_FLIGHT: usize = 4;
/// S3's limit on the parts of one upload; part sizes are chosen to stay under it with room.
pub const MAX_PARTS: u64 = 10_000;
/// Payload ranges being fetched at once by `open`.
pub const READS_IN_FLIGHT: usize = 4;
/// How long an abort may take before the run gives up on it (and says so).
pub const ABORT_TIMEOUT: Duration = Duration::from_secs(10);

/// `s3://bucket/key` of one object.
pub fn parse_object_url(url: &str) -> Result<(String, String), S3Error> {
    let bad = |what: &str| S3Error {
        what: format!("`{url}`: {what}"),
        hint: "write s3://BUCKET/KEY, the object's full key",
    };
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| bad("not an S3 URL"))?;
    let (bucket, key) = rest.split_once('/').ok_or_else(|| bad("no object key"))?;
    if bucket.is_empty() {
        return Err(bad("no bucket"));
    }
    if key.is_empty() || key.ends_with('/') {
        return Err(bad("names a prefix, not an object"));
    }
    if ObjectPath::parse(key).is_err() {
        return Err(bad("not a valid object key (empty, `.` or `..` segments)"));
    }
    Ok((bucket.to_owned(), key.to_owned()))
}

/// One object's address and a client for it, with the runtime that drives the client.
pub struct ObjectTarget {
    url: String,
    key: ObjectPath,
    conn: Connection,
    runtime: tokio::runtime::Runtime,
    pub part_size: usize,
    pub parts_in_flight: usize,
    pub reads_in_flight: usize,
}

impl ObjectTarget {
    /// A client for `url` (`s3://bucket/key`), without a request.
    pub fn connect(url: &str, opts: &S3Options) -> Result<ObjectTarget, S3Error> {
        let (bucket, key) = parse_object_url(url)?;
        let conn = crate::audit::s3::connect(url, &bucket, opts)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("weightguard-s3")
            .enable_all()
            .build()
            .map_err(|e| S3Error {
                what: format!("starting the I/O runtime: {e}"),
                hint: "",
            })?;
        Ok(ObjectTarget {
            url: url.to_owned(),
            key: ObjectPath::from(key.as_str()),
            conn,
            runtime,
            part_size: PART_SIZE,
            parts_in_flight: PARTS_IN_FLIGHT,
            reads_in_flight: READS_IN_FLIGHT,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn store(&self) -> Arc<dyn ObjectStore> {
        self.conn.store.clone()
    }

    /// What to do about a failed request, as an envelope error naming the object.
    fn fail(&self, doing: &str, e: &object_store::Error, writing: bool) -> EnvelopeError {
        let mut x = self.conn.explain(&format!("{doing} {}", self.url), e);
        if doing == "checking" && x.hint.starts_with("the credentials need") {
            // A HEAD answer has no body, so no S3 error code tells a wrong key from a missing
            // permission.
            x.hint = "check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the AWS profile) and that they allow s3:GetObject on the key";
        } else if writing && x.hint.starts_with("the credentials need") {
            x.hint = "sealing needs s3:PutObject and s3:AbortMultipartUpload on the key (and s3:GetObject for the checks)";
        }
        remote_error(&self.url, x)
    }

    /// The object's size and ETag, or `None` if there is none.
    pub fn head(&self) -> Result<Option<(u64, Option<String>)>, EnvelopeError> {
        match self.runtime.block_on(self.store().head(&self.key)) {
            Ok(m) => Ok(Some((m.size, m.e_tag))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.fail("checking", &e, false)),
        }
    }

    /// Opens the sink of a seal into this object (refusing an existing one unless `overwrite`),
    /// with parts large enough that an envelope of about `size` bytes needs at most
    /// [`MAX_PARTS`] − 1,000 of them.
    pub(crate) fn sink(
        self: &Arc<Self>,
        overwrite: bool,
        size: u64,
    ) -> Result<Box<dyn Sink>, EnvelopeError> {
        if !overwrite && self.head()?.is_some() {
            return Err(EnvelopeError::OutputExists {
                path: PathBuf::from(&self.url),
            });
        }
        let need = size.div_ceil(MAX_PARTS - 1_000);
        let mib = 1u64 << 20;
        let part = (self.part_size as u64).max(need.div_ceil(mib) * mib) as usize;
        Ok(Box::new(ObjectSink::start(self.clone(), overwrite, part)))
    }

    /// A reader of the object as it is now (its size and ETag pinned).
    pub fn reader(self: &Arc<Self>) -> Result<ObjectReader, EnvelopeError> {
        let Some((len, etag)) = self.head()? else {
            return Err(remote_error(
                &self.url,
                S3Error {
                    what: format!("{}: no such object", self.url),
                    hint: "check the key (and the bucket, endpoint and region)",
                },
            ));
        };
        Ok(ObjectReader {
            target: self.clone(),
            len,
            etag,
        })
    }
}

/// An S3 error as an envelope error: what went wrong, then what to do.
fn remote_error(url: &str, e: S3Error) -> EnvelopeError {
    EnvelopeError::Remote {
        url: url.to_owned(),
        what: if e.hint.is_empty() {
            e.what
        } else {
            format!("{}; {}", e.what, e.hint)
        },
    }
}

/// Sealed batches put back in order. Slot 0 is the header, slot i + 1 batch i.
struct Reorder {
    state: Mutex<ReorderState>,
    cv: Condvar,
}

struct ReorderState {
    next: u64,
    pending: BTreeMap<u64, (Bytes, bool)>,
    /// Set when the upload stopped (failed or aborted): nothing more is taken.
    closed: Option<String>,
}

impl Reorder {
    fn put(&self, slot: u64, bytes: Bytes, last: bool) -> std::io::Result<()> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while slot >= s.next + REORDER_WINDOW && s.closed.is_none() {
            s = self.cv.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        if let Some(why) = &s.closed {
            return Err(std::io::Error::other(why.clone()));
        }
        s.pending.insert(slot, (bytes, last));
        self.cv.notify_all();
        Ok(())
    }

    /// The next slot's bytes, waiting for them; `None` once closed.
    fn take(&self) -> Option<(Bytes, bool)> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if s.closed.is_some() {
                return None;
            }
            let next = s.next;
            if let Some(x) = s.pending.remove(&next) {
                s.next += 1;
                self.cv.notify_all();
                return Some(x);
            }
            s = self.cv.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn close(&self, why: &str) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.closed.get_or_insert_with(|| why.to_owned());
        s.pending.clear();
        self.cv.notify_all();
    }
}

/// The multipart upload, shared by the uploader thread, the committing thread and the abort
/// hook.
struct Upload {
    upload: Mutex<Option<Box<dyn MultipartUpload>>>,
    tasks: Mutex<tokio::task::JoinSet<()>>,
    failed: Arc<Mutex<Option<String>>>,
    permits: Arc<tokio::sync::Semaphore>,
    /// Set once the upload was completed or aborted: the hook then does nothing.
    finished: std::sync::atomic::AtomicBool,
}

impl Upload {
    /// Aborts the upload (if one was started and not finished): cancels the parts in flight and
    /// asks the store to drop the parts it has. Returns what it did.
    fn abort(&self, target: &ObjectTarget) -> Option<String> {
        if self
            .finished
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return None;
        }
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .abort_all();
        let mut guard = self.upload.lock().unwrap_or_else(|e| e.into_inner());
        let mut upload = guard.take()?;
        let r = target
            .runtime
            .block_on(async { tokio::time::timeout(ABORT_TIMEOUT, upload.abort()).await });
        Some(match r {
            Ok(Ok(())) => format!(
                "aborted the multipart upload to {}: no object and no pending upload left",
                target.url
            ),
            Ok(Err(e)) => format!(
                "could not abort the multipart upload to {} ({e}): list it with `aws s3api list-multipart-uploads --bucket {}` and abort it, or let a lifecycle rule (AbortIncompleteMultipartUpload) do it",
                target.url, target.conn.bucket
            ),
            Err(_) => format!(
                "aborting the multipart upload to {} took over {} s: list it with `aws s3api list-multipart-uploads --bucket {}` and abort it",
                target.url,
                ABORT_TIMEOUT.as_secs(),
                target.conn.bucket
            ),
        })
    }
}

/// A seal's sink into an object (see the module's documentation).
pub(crate) struct ObjectSink {
    target: Arc<ObjectTarget>,
    name: PathBuf,
    overwrite: bool,
    reorder: Arc<Reorder>,
    upload: Arc<Upload>,
    /// Returns the bytes after the last full part (all of them if no part was full).
    uploader: Option<std::thread::JoinHandle<Result<PutPayloadMut, String>>>,
    _hook: crate::interrupt::HookGuard,
}

impl ObjectSink {
    fn start(target: Arc<ObjectTarget>, overwrite: bool, part_size: usize) -> ObjectSink {
        let reorder = Arc::new(Reorder {
            state: Mutex::new(ReorderState {
                next: 0,
                pending: BTreeMap::new(),
                closed: None,
            }),
            cv: Condvar::new(),
        });
        let upload = Arc::new(Upload {
            upload: Mutex::new(None),
            tasks: Mutex::new(tokio::task::JoinSet::new()),
            failed: Arc::new(Mutex::new(None)),
            permits: Arc::new(tokio::sync::Semaphore::new(target.parts_in_flight)),
            finished: std::sync::atomic::AtomicBool::new(false),
        });
        let hook = {
            let (t, u, r) = (target.clone(), upload.clone(), reorder.clone());
            crate::interrupt::on_interrupt(move || {
                r.close("interrupted");
                u.abort(&t)
            })
        };
        let uploader = {
            let (t, u, r) = (target.clone(), upload.clone(), reorder.clone());
            std::thread::Builder::new()
                .name("weightguard-upload".into())
                .spawn(move || upload_parts(&t, &u, &r, part_size))
                .ok()
        };
        ObjectSink {
            name: PathBuf::from(&target.url),
            target,
            overwrite,
            reorder,
            upload,
            uploader,
            _hook: hook,
        }
    }

    /// Waits for the uploader and every part in flight; the bytes after the last full part.
    fn drain(&mut self) -> Result<PutPayloadMut, EnvelopeError> {
        let fail = |what: String| EnvelopeError::Remote {
            url: self.target.url.clone(),
            what,
        };
        let tail = self
            .uploader
            .take()
            .ok_or_else(|| fail("the upload thread did not start".into()))?
            .join()
            .map_err(|_| fail("the upload thread panicked".into()))?
            .map_err(fail)?;
        let all = self.target.parts_in_flight as u32;
        let permits = self.upload.permits.clone();
        let _all = self
            .target
            .runtime
            .block_on(permits.acquire_many_owned(all))
            .map_err(|_| fail("the upload was stopped".into()))?;
        if let Some(e) = self
            .upload
            .failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Err(fail(e));
        }
        Ok(tail)
    }
}

/// The uploader thread: takes batches in order and uploads every full part.
fn upload_parts(
    target: &ObjectTarget,
    upload: &Upload,
    reorder: &Reorder,
    part_size: usize,
) -> Result<PutPayloadMut, String> {
    let mut buf = PutPayloadMut::new();
    loop {
        let Some((mut bytes, last)) = reorder.take() else {
            return Err("the upload was stopped".into());
        };
        while buf.content_length() + bytes.len() >= part_size {
            let room = part_size - buf.content_length();
            buf.push(bytes.split_to(room));
            let part = std::mem::take(&mut buf).freeze();
            if let Err(e) = put_part(target, upload, part) {
                reorder.close(&e);
                return Err(e);
            }
        }
        if !bytes.is_empty() {
            buf.push(bytes);
        }
        if last {
            return Ok(buf);
        }
    }
}

/// Starts the upload if needed, waits for a free slot, and uploads `part` in the background.
fn put_part(target: &ObjectTarget, upload: &Upload, part: PutPayload) -> Result<(), String> {
    if let Some(e) = upload
        .failed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
    {
        return Err(e);
    }
    let permit = target
        .runtime
        .block_on(upload.permits.clone().acquire_owned())
        .map_err(|_| "the upload was stopped".to_string())?;
    let mut guard = upload.upload.lock().unwrap_or_else(|e| e.into_inner());
    if upload.finished.load(std::sync::atomic::Ordering::SeqCst) {
        return Err("the upload was aborted".into());
    }
    if guard.is_none() {
        let started = target
            .runtime
            .block_on(target.store().put_multipart(&target.key))
            .map_err(|e| target.fail("starting the upload to", &e, true).to_string())?;
        *guard = Some(started);
    }
    let fut = guard
        .as_mut()
        .map(|u| u.put_part(part))
        .ok_or("no upload")?;
    drop(guard);
    let url = target.url.clone();
    let errors = upload.failed.clone();
    upload
        .tasks
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .spawn_on(
            async move {
                if let Err(e) = fut.await {
                    let mut f = errors.lock().unwrap_or_else(|e| e.into_inner());
                    f.get_or_insert_with(|| format!("uploading a part of {url}: {e}"));
                }
                drop(permit);
            },
            target.runtime.handle(),
        );
    Ok(())
}

impl Sink for ObjectSink {
    fn name(&self) -> &Path {
        &self.name
    }

    fn head(&self, bytes: &[u8]) -> std::io::Result<()> {
        self.reorder.put(0, Bytes::copy_from_slice(bytes), false)
    }

    fn worker(&self) -> std::io::Result<Box<dyn BatchWriter>> {
        Ok(Box::new(ObjectWorker(self.reorder.clone())))
    }

    fn commit(
        mut self: Box<Self>,
        last_check: &dyn Fn() -> Result<(), EnvelopeError>,
    ) -> Result<(), EnvelopeError> {
        let tail = self.drain()?;
        let t = self.target.clone();
        let started = self
            .upload
            .upload
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some();
        // The envelope is complete but not yet in place: the last moment to find that what it
        // holds is no longer what was decided on (the upload is aborted on this error).
        last_check()?;
        if !started {
            return self.put_whole(tail.freeze());
        }
        if !self.overwrite && t.head()?.is_some() {
            return Err(EnvelopeError::OutputExists {
                path: self.name.clone(),
            });
        }
        let mut guard = self.upload.upload.lock().unwrap_or_else(|e| e.into_inner());
        let upload = guard.as_mut().ok_or_else(|| EnvelopeError::Remote {
            url: t.url.clone(),
            what: "the upload was aborted".into(),
        })?;
        if tail.content_length() > 0 {
            t.runtime
                .block_on(upload.put_part(tail.freeze()))
                .map_err(|e| t.fail("uploading the last part of", &e, true))?;
        }
        let done = t
            .runtime
            .block_on(upload.complete())
            .map_err(|e| t.fail("completing the upload to", &e, true))?;
        self.upload
            .finished
            .store(true, std::sync::atomic::Ordering::SeqCst);
        guard.take();
        drop(guard);
        if !self.overwrite {
            self.check_after(done.e_tag)?;
        }
        Ok(())
    }
}

impl ObjectSink {
    /// An envelope smaller than one part: a single PUT, conditional where the store supports it.
    fn put_whole(&self, payload: PutPayload) -> Result<(), EnvelopeError> {
        let t = &self.target;
        self.upload
            .finished
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let mode = if self.overwrite {
            PutMode::Overwrite
        } else {
            PutMode::Create
        };
        let put = |mode| {
            t.runtime.block_on(t.store().put_opts(
                &t.key,
                payload.clone(),
                PutOptions {
                    mode,
                    ..Default::default()
                },
            ))
        };
        match put(mode) {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => Err(EnvelopeError::OutputExists {
                path: self.name.clone(),
            }),
            Err(object_store::Error::NotImplemented { .. }) => {
                // No conditional put here: a check before, then a check after.
                if t.head()?.is_some() {
                    return Err(EnvelopeError::OutputExists {
                        path: self.name.clone(),
                    });
                }
                let done = put(PutMode::Overwrite).map_err(|e| t.fail("writing", &e, true))?;
                self.check_after(done.e_tag)
            }
            Err(e) => Err(t.fail("writing", &e, true)),
        }
    }

    /// The object at the key must be the one just written: another writer racing this one
    /// between the last check and the completion would show as another ETag.
    fn check_after(&self, written: Option<String>) -> Result<(), EnvelopeError> {
        let now = self.target.head()?;
        match (now, written) {
            (Some((_, Some(now))), Some(ours)) if now != ours => Err(EnvelopeError::Remote {
                url: self.target.url.clone(),
                what: "another writer replaced the object as this seal completed (its ETag is not the one written); check who writes to this key, then verify the object".into(),
            }),
            (None, _) => Err(EnvelopeError::Remote {
                url: self.target.url.clone(),
                what: "the object is gone right after this seal completed it: something deletes objects at this key".into(),
            }),
            _ => Ok(()),
        }
    }
}

impl Drop for ObjectSink {
    fn drop(&mut self) {
        // Not committed (an error or a refusal): stop the workers and the uploader, then abort.
        self.reorder.close("the seal failed");
        if let Some(h) = self.uploader.take() {
            let _ = h.join();
        }
        if let Some(done) = self.upload.abort(&self.target) {
            // Only said when an abort could not be done: a refusal already says why.
            if done.starts_with("could not") || done.contains("took over") {
                eprintln!("warning: {done}");
            }
        }
    }
}

/// One encryption worker's writer: the sealed batch, made contiguous, into the reorder buffer.
struct ObjectWorker(Arc<Reorder>);

impl BatchWriter for ObjectWorker {
    fn write(
        &mut self,
        index: u64,
        _at: u64,
        bodies: &[u8],
        tags: &[[u8; TAG_LEN]],
        last: bool,
    ) -> std::io::Result<()> {
        let mut v = Vec::with_capacity(bodies.len() + tags.len() * TAG_LEN);
        for s in super::sink::interleave(bodies, tags) {
            v.extend_from_slice(&s);
        }
        self.0.put(index + 1, Bytes::from(v), last)
    }
}

/// An object read with ranged GETs pinned to the ETag seen first.
pub struct ObjectReader {
    target: Arc<ObjectTarget>,
    pub len: u64,
    etag: Option<String>,
}

impl ObjectReader {
    pub fn url(&self) -> &str {
        &self.target.url
    }

    /// Bytes `range` of the object (one ranged GET).
    pub fn read_range(&self, range: std::ops::Range<u64>) -> Result<Vec<u8>, EnvelopeError> {
        let t = &self.target;
        let bytes = t
            .runtime
            .block_on(fetch(
                t.store(),
                t.key.clone(),
                self.etag.clone(),
                range.clone(),
            ))
            .map_err(|e| self.read_error(&e))?;
        Ok(bytes.to_vec())
    }

    fn read_error(&self, e: &object_store::Error) -> EnvelopeError {
        if matches!(e, object_store::Error::Precondition { .. }) {
            return EnvelopeError::Remote {
                url: self.target.url.clone(),
                what: "the object changed while it was read (its ETag is not the one first seen); nothing was written: read it again once it is no longer being written".into(),
            };
        }
        self.target.fail("reading", e, false)
    }

    /// A sequential reader of bytes `start..len` that keeps `reads_in_flight` ranged GETs of
    /// `chunk` bytes ahead of what was taken.
    pub fn read_ahead(&self, start: u64, chunk: usize) -> ReadAhead<'_> {
        ReadAhead {
            reader: self,
            next: start,
            chunk: chunk as u64,
            queue: VecDeque::new(),
            cur: Bytes::new(),
        }
    }
}

async fn fetch(
    store: Arc<dyn ObjectStore>,
    key: ObjectPath,
    etag: Option<String>,
    range: std::ops::Range<u64>,
) -> object_store::Result<Bytes> {
    let want = range.end - range.start;
    let r = store
        .get_opts(
            &key,
            GetOptions {
                if_match: etag,
                range: Some(GetRange::Bounded(range)),
                ..Default::default()
            },
        )
        .await?;
    let b = r.bytes().await?;
    if b.len() as u64 != want {
        return Err(object_store::Error::Generic {
            store: "S3",
            source: format!("asked for {want} bytes, the store sent {}", b.len()).into(),
        });
    }
    Ok(b)
}

/// See [`ObjectReader::read_ahead`].
pub struct ReadAhead<'a> {
    reader: &'a ObjectReader,
    next: u64,
    chunk: u64,
    queue: VecDeque<tokio::task::JoinHandle<object_store::Result<Bytes>>>,
    cur: Bytes,
}

impl ReadAhead<'_> {
    fn fill(&mut self) {
        let t = &self.reader.target;
        while self.queue.len() < t.reads_in_flight && self.next < self.reader.len {
            let end = (self.next + self.chunk).min(self.reader.len);
            self.queue.push_back(t.runtime.spawn(fetch(
                t.store(),
                t.key.clone(),
                self.reader.etag.clone(),
                self.next..end,
            )));
            self.next = end;
        }
    }
}

impl std::io::Read for ReadAhead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cur.is_empty() {
            self.fill();
            let Some(h) = self.queue.pop_front() else {
                return Ok(0);
            };
            let got = self
                .reader
                .target
                .runtime
                .block_on(h)
                .map_err(std::io::Error::other)?;
            self.cur = got.map_err(|e| std::io::Error::other(self.reader.read_error(&e)))?;
            self.fill();
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur.split_to(n));
        Ok(n)
    }
}

impl Drop for ReadAhead<'_> {
    fn drop(&mut self) {
        for h in &self.queue {
            h.abort();
        }
    }
}

/// Bytes of one sealed batch: what `open` reads ahead per GET.
pub const SEALED_BATCH: usize = BATCH_CHUNKS * SEALED_CHUNK;
