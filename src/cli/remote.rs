//! The object-storage options `seal`, `verify` and `open` share, and the client they make for an
//! `s3://bucket/key`.

use std::path::Path;
use std::sync::Arc;
use weightguard::audit::s3::S3Options;
use weightguard::envelope::ObjectTarget;

/// Where the bucket is and who asks: the AWS environment variables and shared files are read as
/// the AWS CLI reads them (`docs/user-guide.md`, "Object storage"); these flags win over them.
#[derive(Debug, Clone, clap::Args)]
pub struct S3Args {
    /// S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's
    /// endpoint_url, else AWS).
    #[arg(long = "endpoint-url", value_name = "URL")]
    endpoint_url: Option<String>,
    /// S3 region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// AWS profile of the shared config and credentials files (default: AWS_PROFILE, else
    /// `default`); only its static keys, region and endpoint_url are read.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Allow a plain-HTTP endpoint (a test server on loopback); also AWS_ALLOW_HTTP=true.
    #[arg(long)]
    allow_http: bool,
}

/// `path` as an `s3://` URL, if it is one.
pub fn object_url(path: &Path) -> Option<&str> {
    path.to_str().filter(|s| s.starts_with("s3://"))
}

/// A client for the object at `url`.
pub fn target(
    url: &str,
    args: &S3Args,
) -> Result<Arc<ObjectTarget>, (String, Option<&'static str>)> {
    let allow_http = args.allow_http
        || std::env::var("AWS_ALLOW_HTTP").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    ObjectTarget::connect(
        url,
        &S3Options {
            endpoint: args.endpoint_url.clone(),
            allow_http,
            region: args.region.clone(),
            profile: args.profile.clone(),
        },
    )
    .map(Arc::new)
    .map_err(|e| (e.what, (!e.hint.is_empty()).then_some(e.hint)))
}
