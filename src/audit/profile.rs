//! AWS named profiles from the shared `config` and `credentials` files, which the object store
//! crate does not read. What is read, as the AWS CLI reads it:
//! - the profile: `--profile`, else `AWS_PROFILE`, else `AWS_DEFAULT_PROFILE`, else `default`;
//! - `AWS_SHARED_CREDENTIALS_FILE` (else `~/.aws/credentials`), section `[NAME]`, and
//!   `AWS_CONFIG_FILE` (else `~/.aws/config`), section `[profile NAME]` (`[default]` for the
//!   default profile); a key in the credentials file wins over the same key in the config file;
//! - static keys (`aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`), `region`
//!   and `endpoint_url`.
//!
//! Profiles that get their keys another way (`role_arn`, `credential_process`, `sso_session`,
//! `sso_start_url`, `web_identity_token_file`) are refused with the command that turns them into
//! environment variables (`aws configure export-credentials`), never silently skipped for
//! another identity.

use super::s3::S3Error;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What a profile gives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// The files it was found in, for messages.
    pub files: Vec<PathBuf>,
}

/// Keys of a profile that weightguard does not resolve.
const UNSUPPORTED: [&str; 5] = [
    "role_arn",
    "credential_process",
    "sso_session",
    "sso_start_url",
    "web_identity_token_file",
];

/// Sections of an INI file (`[name]`), each a map of `key = value`; comments (`#`, `;`) and
/// nested settings (indented lines, as under `s3 =`) skipped.
pub fn parse_ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut section: Option<String> = None;
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if let Some(name) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            out.entry(name.clone()).or_default();
            section = Some(name);
            continue;
        }
        if let (Some(s), Some((k, v))) = (&section, l.split_once('=')) {
            out.entry(s.clone())
                .or_default()
                .insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    out
}

fn home_file(env: &str, default: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".aws").join(default))
}

/// The profile `chosen` (a flag), else the one the environment names, else `default`. `None`
/// when no profile was named and there is no `default` profile in either file.
pub fn load(chosen: Option<&str>) -> Result<Option<Profile>, S3Error> {
    let named = chosen.map(str::to_owned).or_else(|| {
        ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
    });
    let name = named.clone().unwrap_or_else(|| "default".into());
    let files = [
        (
            home_file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            false,
        ),
        (home_file("AWS_CONFIG_FILE", "config"), true),
    ];
    let mut found = Profile {
        name: name.clone(),
        ..Default::default()
    };
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    let mut searched = Vec::new();
    for (path, is_config) in files {
        let Some(path) = path else { continue };
        searched.push(path.display().to_string());
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let sections = parse_ini(&text);
        let section = if is_config && name != "default" {
            format!("profile {name}")
        } else {
            name.clone()
        };
        if let Some(s) = sections.get(&section) {
            found.files.push(path.clone());
            for (k, v) in s {
                // The credentials file was read first: its keys win.
                keys.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    if found.files.is_empty() {
        if named.is_some() {
            return Err(S3Error {
                what: format!(
                    "AWS profile `{name}` is not in {}",
                    if searched.is_empty() {
                        "the shared files (HOME is not set)".to_owned()
                    } else {
                        searched.join(" or ")
                    }
                ),
                hint: "check --profile / AWS_PROFILE, or AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE",
            });
        }
        return Ok(None);
    }
    let get = |k: &str| keys.get(k).filter(|v| !v.is_empty()).cloned();
    found.access_key_id = get("aws_access_key_id");
    found.secret_access_key = get("aws_secret_access_key");
    found.session_token = get("aws_session_token");
    found.region = get("region");
    found.endpoint_url = get("endpoint_url");
    if found.access_key_id.is_none()
        && let Some(k) = UNSUPPORTED.iter().find(|k| keys.contains_key(**k))
    {
        return Err(S3Error {
            what: format!(
                "AWS profile `{name}` gets its credentials through `{k}`, which weightguard does not resolve (it reads a profile's static keys, region and endpoint_url)"
            ),
            hint: "export the profile's temporary credentials first: eval \"$(aws configure export-credentials --profile NAME --format env)\"",
        });
    }
    if found.access_key_id.is_some() != found.secret_access_key.is_some() {
        return Err(S3Error {
            what: format!(
                "AWS profile `{name}` has only one of aws_access_key_id and aws_secret_access_key"
            ),
            hint: "give the profile both keys, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        });
    }
    Ok(Some(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_sections_keys_comments_and_nested_settings() {
        let s = parse_ini(
            "# c\n[default]\naws_access_key_id = A\n[profile  x]\nregion=eu-west-1\ns3 =\n  addressing_style = path\n; c\nendpoint_url = http://h\n",
        );
        assert_eq!(s["default"]["aws_access_key_id"], "A");
        assert_eq!(s["profile x"]["region"], "eu-west-1");
        assert_eq!(s["profile x"]["endpoint_url"], "http://h");
        assert!(!s["profile x"].contains_key("addressing_style"));
    }
}
