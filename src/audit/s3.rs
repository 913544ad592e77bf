//! Objects in S3-compatible storage as [`Source`]s: ranged GETs through `object_store`, cached
//! per object in aligned blocks so parsing a header costs few requests.
//!
//! The parsers are synchronous; they run on blocking threads and each read waits on the tokio
//! runtime that owns the HTTP client (`Handle::block_on`). Concurrency is bounded by the audit
//! driver, not here.

use super::listing::Listing;
use super::store::{ListedTree, Opener, Store};
use crate::artifact::read::Source;
use crate::artifact::tree::Tree;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::runtime::Handle;

/// Reads are served from blocks of this many bytes, aligned to multiples of it: a safetensors
/// header of a few KiB, a GGUF's metadata, a zip's central directory each take one request.
pub const BLOCK: u64 = 64 * 1024;
/// Reads longer than this many blocks (tensor data, for fingerprints) bypass the cache.
const MAX_CACHED_BLOCKS: u64 = 4;

/// `s3://bucket/prefix` split into bucket and prefix (without slashes at its ends).
pub fn parse_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return None;
    }
    Some((bucket.to_owned(), prefix.trim_matches('/').to_owned()))
}

/// Connection settings beyond the AWS environment variables.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// `--endpoint-url` (else `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile's
    /// `endpoint_url`, else AWS).
    pub endpoint: Option<String>,
    /// `--allow-http` (else `AWS_ALLOW_HTTP`).
    pub allow_http: bool,
    /// `--region` (else `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`).
    pub region: Option<String>,
    /// `--profile` (else `AWS_PROFILE`, `AWS_DEFAULT_PROFILE`, `default`): see `profile.rs`.
    pub profile: Option<String>,
}

/// A client for one bucket, with what its errors must name.
pub struct Connection {
    pub store: Arc<object_store::aws::AmazonS3>,
    pub bucket: String,
    /// The endpoint URL, if not AWS's own.
    pub endpoint: Option<String>,
    /// The AWS profile whose keys are used, if the keys came from one.
    pub profile: Option<String>,
}

impl Connection {
    /// [`explain`], naming the profile when its keys were refused.
    pub fn explain(&self, doing: &str, e: &object_store::Error) -> S3Error {
        let mut x = explain(doing, self.endpoint.as_deref(), e);
        if x.hint == CREDENTIALS_HINT
            && let Some(p) = &self.profile
        {
            x.what = format!("{} (the keys of AWS profile `{p}`)", x.what);
            x.hint = PROFILE_HINT;
        }
        x
    }
}

const PROFILE_HINT: &str = "check the profile's aws_access_key_id and aws_secret_access_key in ~/.aws/credentials (or name another with --profile / AWS_PROFILE)";

/// Builds a client for `bucket` (of `url`, named in errors) without a request: credentials from
/// the environment (keys, web identity, container and instance credentials, as the object store
/// crate reads them), else from the AWS profile's static keys; region and endpoint from the
/// flags, else the environment, else the profile. A plain-HTTP endpoint is refused unless
/// allowed.
pub fn connect(url: &str, bucket: &str, opts: &S3Options) -> Result<Connection, S3Error> {
    use object_store::aws::AmazonS3ConfigKey;
    let profile = super::profile::load(opts.profile.as_deref())?;
    let mut b = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut keys_from = None;
    if let Some(p) = &profile {
        if env("AWS_ACCESS_KEY_ID").is_none()
            && let (Some(id), Some(secret)) = (&p.access_key_id, &p.secret_access_key)
        {
            b = b.with_access_key_id(id).with_secret_access_key(secret);
            if let Some(t) = &p.session_token {
                b = b.with_token(t);
            }
            keys_from = Some(p.name.clone());
        }
        if let Some(r) = &p.region
            && env("AWS_REGION").is_none()
            && env("AWS_DEFAULT_REGION").is_none()
        {
            b = b.with_region(r);
        }
        if let Some(e) = &p.endpoint_url {
            b = b.with_endpoint(e);
        }
    }
    if let Some(e) = env("AWS_ENDPOINT_URL") {
        b = b.with_endpoint(e);
    }
    if let Some(e) = env("AWS_ENDPOINT_URL_S3") {
        b = b.with_endpoint(e);
    }
    if let Some(e) = &opts.endpoint {
        // The flag wins over AWS_ENDPOINT_URL_S3, which the builder would otherwise prefer.
        b = b
            .with_endpoint(e)
            .with_config(AmazonS3ConfigKey::S3Endpoint, e);
    }
    if let Some(r) = &opts.region {
        b = b.with_region(r);
    } else if let Some(r) = env("AWS_REGION") {
        b = b.with_region(r);
    }
    if opts.allow_http {
        b = b.with_allow_http(true);
    }
    let endpoint = b
        .get_config_value(&AmazonS3ConfigKey::S3Endpoint)
        .or_else(|| b.get_config_value(&AmazonS3ConfigKey::Endpoint));
    let allowed = b
        .get_config_value(&AmazonS3ConfigKey::Client(
            object_store::ClientConfigKey::AllowHttp,
        ))
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    // Refused here, before any request, rather than as the client's "builder error".
    if let Some(e) = &endpoint
        && e.get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
        && !allowed
    {
        return Err(S3Error {
            what: format!("{url}: {e} is a plain-HTTP endpoint, which is refused unless allowed"),
            hint: HTTP_HINT,
        });
    }
    let store = b.build().map_err(|e| S3Error {
        what: format!("{url}: {e}"),
        hint: "credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or an AWS profile; the endpoint from --endpoint-url or AWS_ENDPOINT_URL",
    })?;
    Ok(Connection {
        store: Arc::new(store),
        bucket: bucket.to_owned(),
        endpoint,
        profile: keys_from,
    })
}

/// What went wrong talking to the store, and what to do about it: the object store's own
/// errors ("builder error", "error sending request" after ten retries) say neither.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Error {
    pub what: String,
    pub hint: &'static str,
}

impl std::fmt::Display for S3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.what)
    }
}

pub(crate) const HTTP_HINT: &str = "add --allow-http (or set AWS_ALLOW_HTTP=true) for a test server on loopback; anything else should be an https:// endpoint";
const CREDENTIALS_HINT: &str =
    "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones)";

/// `e` (from `doing`, e.g. "listing s3://b/p") in words: the S3 error code the server sent, a
/// connection that failed, a plain-HTTP endpoint that was not allowed, else the error as is.
pub fn explain(doing: &str, endpoint: Option<&str>, e: &object_store::Error) -> S3Error {
    let server = endpoint.unwrap_or("the S3 endpoint");
    let mut chain = Vec::new();
    let mut kind = None;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(h) = err.downcast_ref::<object_store::client::HttpError>() {
            kind = kind.or(Some(h.kind()));
        }
        chain.push(err.to_string());
        source = err.source();
    }
    let all = chain.join(": ");
    let innermost = chain.last().cloned().unwrap_or_default();
    // The code in an S3 error body (`<Code>NoSuchBucket</Code>`).
    let code = all
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(c, _)| c.to_owned());
    let out = |what: String, hint| S3Error { what, hint };
    use object_store::client::HttpErrorKind;
    if all.contains("URL scheme is not allowed") {
        return out(
            format!("{doing}: {server} is a plain-HTTP endpoint, which is refused unless allowed"),
            HTTP_HINT,
        );
    }
    match code.as_deref() {
        Some("NoSuchBucket") => {
            return out(
                format!("{doing}: the bucket does not exist at {server}"),
                "check the bucket name in s3://BUCKET/prefix, and the endpoint and region",
            );
        }
        Some(
            c @ ("InvalidAccessKeyId" | "SignatureDoesNotMatch" | "ExpiredToken" | "InvalidToken"),
        ) => {
            return out(
                format!("{doing}: {server} refused the credentials ({c})"),
                CREDENTIALS_HINT,
            );
        }
        Some(c @ ("AccessDenied" | "AllAccessDisabled")) => {
            return out(
                format!("{doing}: access denied by {server} ({c})"),
                "the credentials need s3:ListBucket on the bucket and s3:GetObject on its objects",
            );
        }
        _ => {}
    }
    match (e, kind) {
        (object_store::Error::Unauthenticated { .. }, _) => out(
            format!("{doing}: {server} did not accept the credentials"),
            CREDENTIALS_HINT,
        ),
        (object_store::Error::PermissionDenied { .. }, _) => out(
            format!("{doing}: access denied by {server}"),
            "the credentials need s3:ListBucket on the bucket and s3:GetObject on its objects",
        ),
        (object_store::Error::NotFound { .. }, _) => out(
            format!("{doing}: not found at {server}"),
            "check the bucket name and prefix in s3://BUCKET/prefix",
        ),
        (_, Some(HttpErrorKind::Connect)) => out(
            format!("{doing}: could not connect to {server} ({innermost})"),
            "check --endpoint (or AWS_ENDPOINT_URL) and that the server is up and reachable",
        ),
        (_, Some(HttpErrorKind::Timeout)) => out(
            format!("{doing}: {server} did not answer in time"),
            "check the endpoint and the network; retry later",
        ),
        _ => out(
            format!("{doing}: {e}"),
            "check the endpoint, the bucket name and the credentials",
        ),
    }
}

/// A bucket (and prefix) under audit.
pub struct S3Store {
    store: Arc<dyn ObjectStore>,
    bucket: String,
    prefix: String,
    handle: Handle,
    /// The endpoint URL, if not AWS's own (named in errors).
    endpoint: Option<String>,
}

impl S3Store {
    /// Connects ([`connect`]) without a request.
    pub fn new(url: &str, opts: &S3Options, handle: Handle) -> Result<S3Store, S3Error> {
        let (bucket, prefix) = parse_url(url).ok_or_else(|| S3Error {
            what: format!("`{url}` is not an S3 URL"),
            hint: "write s3://bucket/prefix",
        })?;
        let c = connect(url, &bucket, opts)?;
        Ok(S3Store {
            store: c.store,
            bucket,
            prefix,
            handle,
            endpoint: c.endpoint,
        })
    }

    /// Lists every object under the prefix (one LIST request per 1,000 objects).
    pub async fn list(&self) -> Result<Listing, S3Error> {
        use futures::TryStreamExt;
        let prefix = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
        let metas: Vec<_> = self
            .store
            .list(prefix.as_ref())
            .try_collect()
            .await
            .map_err(|e| {
                explain(
                    &format!("listing {}", self.root()),
                    self.endpoint.as_deref(),
                    &e,
                )
            })?;
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let objects = metas.into_iter().filter_map(|m| {
            let key = m.location.as_ref();
            let rel = key.strip_prefix(&strip)?;
            Some((PathBuf::from(rel), m.size))
        });
        Ok(Listing::new(objects))
    }

    fn location(&self, key: &Path) -> ObjectPath {
        let k = key.to_string_lossy();
        if self.prefix.is_empty() {
            ObjectPath::from(k.as_ref())
        } else {
            ObjectPath::from(format!("{}/{k}", self.prefix))
        }
    }
}

impl Store for S3Store {
    fn root(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    fn uri(&self, key: &Path) -> String {
        format!("s3://{}/{}", self.bucket, self.location(key))
    }

    fn view(&self, listing: Arc<Listing>, fetched: Arc<AtomicU64>) -> Box<dyn Tree> {
        Box::new(ListedTree {
            listing,
            opener: Box::new(ObjectOpener {
                store: self.store.clone(),
                prefix_of: self.location(Path::new("")),
                prefix_empty: self.prefix.is_empty(),
                handle: self.handle.clone(),
                fetched,
                open: Mutex::new(HashMap::new()),
            }),
        })
    }
}

/// Opens objects of one unit's view, keeping each open so detection and parsing share blocks.
struct ObjectOpener {
    store: Arc<dyn ObjectStore>,
    prefix_of: ObjectPath,
    prefix_empty: bool,
    handle: Handle,
    fetched: Arc<AtomicU64>,
    open: Mutex<HashMap<PathBuf, Arc<ObjectSource>>>,
}

impl Opener for ObjectOpener {
    fn open(&self, key: &Path, len: u64) -> std::io::Result<Box<dyn Source>> {
        let mut open = self
            .open
            .lock()
            .map_err(|_| std::io::Error::other("lock poisoned"))?;
        let src = open
            .entry(key.to_owned())
            .or_insert_with(|| {
                let k = key.to_string_lossy();
                let location = if self.prefix_empty {
                    ObjectPath::from(k.as_ref())
                } else {
                    ObjectPath::from(format!("{}/{k}", self.prefix_of))
                };
                Arc::new(ObjectSource {
                    store: self.store.clone(),
                    location,
                    len,
                    handle: self.handle.clone(),
                    fetched: self.fetched.clone(),
                    blocks: Mutex::new(BTreeMap::new()),
                })
            })
            .clone();
        Ok(Box::new(Shared(src)))
    }
}

struct Shared(Arc<ObjectSource>);

impl Source for Shared {
    fn len(&self) -> u64 {
        self.0.len
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.0.read_exact_at(offset, buf)
    }
}

/// One object, read with ranged GETs and cached in [`BLOCK`]-sized blocks.
pub struct ObjectSource {
    store: Arc<dyn ObjectStore>,
    location: ObjectPath,
    len: u64,
    handle: Handle,
    fetched: Arc<AtomicU64>,
    blocks: Mutex<BTreeMap<u64, Vec<u8>>>,
}

impl ObjectSource {
    fn get(&self, range: std::ops::Range<u64>) -> std::io::Result<Vec<u8>> {
        let want = range.end - range.start;
        let bytes = self
            .handle
            .block_on(self.store.get_range(&self.location, range))
            .map_err(|e| {
                let doing = format!("reading {}", self.location);
                std::io::Error::other(explain(&doing, None, &e).what)
            })?;
        self.fetched
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if bytes.len() as u64 != want {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("asked for {want} bytes, the store sent {}", bytes.len()),
            ));
        }
        Ok(bytes.to_vec())
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|e| *e <= self.len)
            .ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "read past the end")
            })?;
        let first = offset / BLOCK;
        let last = (end - 1) / BLOCK;
        if last - first >= MAX_CACHED_BLOCKS {
            let data = self.get(offset..end)?;
            buf.copy_from_slice(&data);
            return Ok(());
        }
        let mut blocks = self
            .blocks
            .lock()
            .map_err(|_| std::io::Error::other("lock poisoned"))?;
        // Fetch each run of missing blocks with one request.
        let mut b = first;
        while b <= last {
            if blocks.contains_key(&b) {
                b += 1;
                continue;
            }
            let mut e = b;
            while e < last && !blocks.contains_key(&(e + 1)) {
                e += 1;
            }
            let start = b * BLOCK;
            let stop = ((e + 1) * BLOCK).min(self.len);
            let data = self.get(start..stop)?;
            for (i, chunk) in data.chunks(BLOCK as usize).enumerate() {
                blocks.insert(b + i as u64, chunk.to_vec());
            }
            b = e + 1;
        }
        let mut pos = offset;
        let mut out = 0usize;
        while pos < end {
            let blk = pos / BLOCK;
            let within = (pos - blk * BLOCK) as usize;
            let data = &blocks[&blk];
            let n = (data.len() - within).min(buf.len() - out);
            buf[out..out + n].copy_from_slice(&data[within..within + n]);
            out += n;
            pos += n as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use object_store::PutPayload;
    use object_store::memory::InMemory;

    /// An object of `len` bytes (byte i = i mod 251) in an in-memory store, and its source.
    fn object(rt: &tokio::runtime::Runtime, len: usize) -> (ObjectSource, Arc<AtomicU64>) {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let location = ObjectPath::from("a/b.safetensors");
        rt.block_on(store.put(&location, PutPayload::from(data)))
            .unwrap();
        let fetched = Arc::new(AtomicU64::new(0));
        let src = ObjectSource {
            store,
            location,
            len: len as u64,
            handle: rt.handle().clone(),
            fetched: fetched.clone(),
            blocks: Mutex::new(BTreeMap::new()),
        };
        (src, fetched)
    }

    fn expect(offset: usize, n: usize) -> Vec<u8> {
        (offset..offset + n).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn reads_come_from_aligned_cached_blocks() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let len = 5 * BLOCK as usize + 100;
        let (src, fetched) = object(&rt, len);
        let mut buf = vec![0u8; 8];
        src.read_exact_at(0, &mut buf).unwrap();
        assert_eq!(buf, expect(0, 8));
        assert_eq!(fetched.load(Ordering::Relaxed), BLOCK, "one whole block");
        let mut buf = vec![0u8; 1000];
        src.read_exact_at(8, &mut buf).unwrap();
        assert_eq!(buf, expect(8, 1000));
        assert_eq!(
            fetched.load(Ordering::Relaxed),
            BLOCK,
            "served from the cache"
        );
        // Across a block boundary: only the missing block is fetched.
        let mut buf = vec![0u8; 200];
        src.read_exact_at(BLOCK - 100, &mut buf).unwrap();
        assert_eq!(buf, expect(BLOCK as usize - 100, 200));
        assert_eq!(fetched.load(Ordering::Relaxed), 2 * BLOCK);
        // The short last block.
        let mut buf = vec![0u8; 100];
        src.read_exact_at(5 * BLOCK, &mut buf).unwrap();
        assert_eq!(buf, expect(5 * BLOCK as usize, 100));
        assert_eq!(fetched.load(Ordering::Relaxed), 2 * BLOCK + 100);
        // Past the end is an error, not a short read.
        let mut buf = vec![0u8; 101];
        assert!(src.read_exact_at(5 * BLOCK, &mut buf).is_err());
        // A long read bypasses the cache and fetches exactly what it asks.
        let mut buf = vec![0u8; 5 * BLOCK as usize];
        let before = fetched.load(Ordering::Relaxed);
        src.read_exact_at(50, &mut buf).unwrap();
        assert_eq!(buf, expect(50, 5 * BLOCK as usize));
        assert_eq!(fetched.load(Ordering::Relaxed) - before, 5 * BLOCK);
    }

    #[test]
    fn urls() {
        assert_eq!(parse_url("s3://b/p/q/"), Some(("b".into(), "p/q".into())));
        assert_eq!(parse_url("s3://b"), Some(("b".into(), "".into())));
        assert_eq!(parse_url("s3:///x"), None);
        assert_eq!(parse_url("/tmp"), None);
    }
}
