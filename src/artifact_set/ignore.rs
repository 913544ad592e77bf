//! Which paths of a tree are left out: the defaults (version-control and cache metadata, as
//! OpenSSF model signing leaves them out) and the user's `--exclude` globs.
//!
//! A pattern without `/` matches a file or directory name at any depth; a pattern with `/` matches
//! the path relative to the root. `*` matches within one name, `?` one character, `**` any number
//! of whole directories. A directory that matches is left out with everything under it.

use super::SetError;
use serde::Serialize;
use std::path::Path;

/// Left out by default: a git clone's metadata (`.git/` holds a second copy of every LFS
/// weight), its attribute and ignore files, CI configuration, and the hub client's download cache.
pub const DEFAULT_EXCLUDES: [&str; 5] = [
    ".git",
    ".gitattributes",
    ".gitignore",
    ".github",
    "**/.cache/huggingface",
];

/// Longest pattern accepted (matching is quadratic in the worst case).
pub const MAX_PATTERN_LEN: usize = 1024;

/// A path left out, and the rule that left it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ignored {
    /// Relative to the root, `/`-separated; a directory ends with `/`.
    pub path: String,
    /// `default` or `--exclude <pattern>`.
    pub rule: String,
}

/// The rules in force for one walk.
#[derive(Debug, Clone)]
pub struct Rules {
    patterns: Vec<(Pattern, String)>,
}

#[derive(Debug, Clone)]
struct Pattern {
    /// Matched against the whole relative path, not only the name.
    anchored: bool,
    parts: Vec<String>,
}

impl Rules {
    pub fn new(defaults: bool, excludes: &[String]) -> Result<Rules, SetError> {
        let mut patterns = Vec::new();
        if defaults {
            for d in DEFAULT_EXCLUDES {
                patterns.push((Pattern::parse(d)?, "default".to_owned()));
            }
        }
        for e in excludes {
            patterns.push((Pattern::parse(e)?, format!("--exclude {e}")));
        }
        Ok(Rules { patterns })
    }

    /// The rule leaving out `rel` (relative to the root, `/`-separated), if any.
    pub fn rule_for(&self, rel: &str) -> Option<&str> {
        let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
        let name = parts.last()?;
        self.patterns.iter().find_map(|(p, rule)| {
            let hit = if p.anchored || p.parts.len() > 1 {
                match_parts(&p.parts, &parts)
            } else {
                glob(&p.parts[0], name)
            };
            hit.then_some(rule.as_str())
        })
    }
}

impl Rules {
    /// The rule leaving out `rel` or one of the directories above it, and the path it matched
    /// (a directory ending in `/`): for listings that arrive flat, as a bucket's do.
    pub fn rule_for_path(&self, rel: &str) -> Option<(String, &str)> {
        let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
        for end in 1..=parts.len() {
            let prefix = parts[..end].join("/");
            if let Some(rule) = self.rule_for(&prefix) {
                let shown = if end < parts.len() {
                    format!("{prefix}/")
                } else {
                    prefix
                };
                return Some((shown, rule));
            }
        }
        None
    }
}

impl Pattern {
    fn parse(s: &str) -> Result<Pattern, SetError> {
        let bad = |what: &str| SetError::Pattern {
            pattern: s.to_owned(),
            what: what.to_owned(),
        };
        if s.len() > MAX_PATTERN_LEN {
            return Err(bad("longer than 1024 bytes"));
        }
        let anchored = s.starts_with('/');
        let parts: Vec<String> = s
            .trim_matches('/')
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .map(str::to_owned)
            .collect();
        if parts.is_empty() {
            return Err(bad("matches nothing; name a file, a directory or a glob"));
        }
        if parts.iter().any(|p| p == "..") {
            return Err(bad("`..` cannot match a path inside the root"));
        }
        Ok(Pattern { anchored, parts })
    }
}

/// Whether the pattern's components match the path's components exactly (`**` spans any number,
/// including none).
fn match_parts(pat: &[String], path: &[&str]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((p, rest)) if p == "**" => (0..=path.len()).any(|i| match_parts(rest, &path[i..])),
        Some((p, rest)) => match path.split_first() {
            Some((name, more)) => glob(p, name) && match_parts(rest, more),
            None => false,
        },
    }
}

/// `*` and `?` within one name.
fn glob(pat: &str, name: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative wildcard matching with one backtrack point: linear in practice, no recursion.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

/// `rel` as the `/`-separated string the rules match, or `None` if it is not UTF-8 (such a path
/// cannot be matched by a pattern, and is kept).
pub fn rel_string(rel: &Path) -> Option<String> {
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    parts.map(|p| p.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(ex: &[&str]) -> Rules {
        Rules::new(true, &ex.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn defaults_match_at_any_depth() {
        let r = rules(&[]);
        assert_eq!(r.rule_for(".git"), Some("default"));
        assert_eq!(r.rule_for("sub/.git"), Some("default"));
        assert_eq!(r.rule_for(".gitattributes"), Some("default"));
        assert_eq!(r.rule_for("home/.cache/huggingface"), Some("default"));
        assert_eq!(r.rule_for(".cache"), None);
        assert_eq!(r.rule_for("model.safetensors"), None);
        assert_eq!(r.rule_for("git"), None);
        assert!(Rules::new(false, &[]).unwrap().rule_for(".git").is_none());
    }

    #[test]
    fn user_globs() {
        let r = rules(&["*.bin", "/checkpoints/step-*", "**/optimizer.pt", "a/**/z"]);
        assert_eq!(r.rule_for("x/pytorch_model.bin"), Some("--exclude *.bin"));
        assert!(r.rule_for("checkpoints/step-1000").is_some());
        assert!(r.rule_for("x/checkpoints/step-1000").is_none());
        assert!(r.rule_for("optimizer.pt").is_some());
        assert!(r.rule_for("a/b/c/optimizer.pt").is_some());
        assert!(r.rule_for("a/z").is_some());
        assert!(r.rule_for("a/b/c/z").is_some());
        assert!(r.rule_for("model.safetensors").is_none());
        assert!(glob(
            "m*-of-*.s?fetensors",
            "model-00001-of-00002.safetensors"
        ));
        assert!(!glob("*.bin", "bin"));
    }

    #[test]
    fn flat_listings_are_matched_by_their_directories() {
        let r = rules(&[]);
        assert_eq!(
            r.rule_for_path("m/.git/lfs/objects/ab/cd/x"),
            Some(("m/.git/".to_owned(), "default"))
        );
        assert_eq!(r.rule_for_path("m/model.safetensors"), None);
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(Rules::new(true, &["".into()]).is_err());
        assert!(Rules::new(true, &["../x".into()]).is_err());
    }
}
