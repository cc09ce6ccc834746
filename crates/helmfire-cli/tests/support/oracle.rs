//! Where the tests find the reference binaries (helm v4.1.4, kubectl v1.34 from
//! `scripts/install-oracles.sh`; helmfile v0.166.0 with its helm v3.15.3 from
//! `scripts/install-helmfile.sh`), the helmfire binary under test, and the repository's
//! `testdata/`. A missing oracle fails the test loudly; nothing is ever skipped.

use std::path::{Path, PathBuf};

/// The oracle cache `scripts/install-oracles.sh` fills.
const ORACLE_CACHE: &str = ".cache/helmfire/oracles/kubectl-v34-2.2.2/bin";
/// The oracle cache `scripts/install-helmfile.sh` fills.
const HELMFILE_CACHE: &str = ".cache/helmfire/oracles/helmfile-v0-2.0.2/bin";

/// `name` (`helm`, `kubectl`): `HELMFIRE_<NAME>`, else on `PATH`, else the oracle cache.
pub fn locate(name: &str) -> PathBuf {
    locate_in(name, ORACLE_CACHE, "scripts/install-oracles.sh")
}

/// The real helmfile v0.166.0: `HELMFIRE_HELMFILE`, else on `PATH`, else the cache of
/// `scripts/install-helmfile.sh`.
pub fn helmfile() -> PathBuf {
    locate_in("helmfile", HELMFILE_CACHE, "scripts/install-helmfile.sh")
}

/// The helm v3.15.3 helmfile drives: next to the helmfile binary, as `scripts/install-helmfile.sh`
/// installs it (helm v4 is not what helmfile v0.166 was built for).
pub fn helmfile_helm() -> PathBuf {
    let helmfile = helmfile();
    let helm = helmfile.with_file_name("helm");
    assert!(
        helm.is_file(),
        "helmfile's helm v3.15.3 is expected next to `{}` (run scripts/install-helmfile.sh)",
        helmfile.display()
    );
    helm
}

fn locate_in(name: &str, cache: &str, script: &str) -> PathBuf {
    let env = format!("HELMFIRE_{}", name.to_ascii_uppercase());
    if let Some(path) = std::env::var_os(&env) {
        return PathBuf::from(path);
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let cached = home.join(cache).join(name);
    if cached.is_file() {
        return cached;
    }
    panic!("`{name}` not found (set {env}, put it on PATH, or run {script})");
}

/// The real helm v4.1.4.
pub fn helm() -> PathBuf {
    locate("helm")
}

/// The real kubectl v1.34.
pub fn kubectl() -> PathBuf {
    locate("kubectl")
}

/// The helmfire binary under test.
pub fn helmfire() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_helmfire"))
}

/// The repository root: `testdata/`, `examples/` and `schemas/` live there.
pub const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// [`ROOT`] as a path.
pub fn root() -> &'static Path {
    Path::new(ROOT)
}
