#!/usr/bin/env python3
"""Reads real helmfiles with both helmfile v0.166.0 and helmfire and compares what they list.

Sources, fetched at run time and never committed: the public repositories listed in
scripts/helmfile-corpus.txt, and helmfile's own snapshot test inputs (v0.166.0) that need no
network. For every state file found and every environment it declares, `helmfile list
--skip-charts --output json` is compared with `helmfire list -o json` (releases a `condition`
disables are left out of both; a release without a namespace is in `default`). Where the lists
agree, the values each release deploys with are compared too: `helmfile build --embed-values`
against the native file `helmfire import` writes (skipped where a `prepare` hook could run).
Prints the counts and the keys helmfire refused; writes sources.tsv and pairs.tsv into the work
directory.

Called by scripts/compare-helmfiles.sh, which installs the oracle and builds helmfire.
"""

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

# helmfile's snapshot cases that need neither network nor a cluster, with the environment
# their config.yaml selects.
SNAPSHOT_CASES = {
    "issue_2098_release_template_needs": ["default"],
    "issue_493_template_yaml_anchors_merge": ["default"],
    "environments_values_gotmpl_with_environment_name": ["test"],
    "environment_missing_in_subhelmfile": ["test"],
    "environments_releases_within_same_yaml_part": ["prod"],
    "release_template_inheritance": ["default"],
    "templated_lockfile": ["prod"],
    "hcl_mix": ["default"],
}
MAX_FILES_PER_REPO = 4
MAX_ENVIRONMENTS = 4
TIMEOUT = 90


def run(args, cwd, env, timeout=TIMEOUT):
    try:
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        return done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired:
        return -1, "", "timed out"


def fetch(repo, rev, dest, mirror):
    """A working tree of `repo` at `rev` (HEAD when None) in `dest`; returns the commit."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    owner_name = repo.replace("/", "+")
    bare = Path(mirror) / owner_name / "repo" if mirror else None
    if bare and bare.exists():
        gitdir = ["git", f"--git-dir={bare}"]
    else:
        clone = dest.parent / (dest.name + ".git")
        if clone.exists():
            shutil.rmtree(clone)
        args = ["git", "clone", "--quiet", "--bare", "--filter=blob:none", f"https://github.com/{repo}", str(clone)]
        code, _, err = run(args, None, None, timeout=600)
        if code != 0:
            raise RuntimeError(f"cannot fetch {repo}: {err.strip()}")
        gitdir = ["git", f"--git-dir={clone}"]
    revision = rev or "HEAD"
    commit = subprocess.run(gitdir + ["rev-parse", revision], capture_output=True, text=True, check=True).stdout.strip()
    archive = subprocess.Popen(gitdir + ["archive", "--format=tar", commit], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, check=True)
    archive.wait()
    return commit


def entry_points(tree):
    """State files of a repository: helmfile.yaml(.gotmpl) files and helmfile.d directories."""
    found = []
    for path in sorted(tree.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(tree).parts):
            continue
        if path.is_dir() and path.name == "helmfile.d":
            found.append(path)
        elif path.is_file() and path.name in ("helmfile.yaml", "helmfile.yaml.gotmpl", "helmfile.yml"):
            if path.parent.name != "helmfile.d":
                found.append(path)
    return found[:MAX_FILES_PER_REPO]


def environments(helmfile, path, env):
    """The environments helmfile sees in `path` (from `helmfile build`), `default` first."""
    code, out, _ = run(helmfile + ["-f", path.name, "build"], path.parent, env)
    names = []
    if code == 0:
        inside = False
        for line in out.splitlines():
            if line == "environments:":
                inside = True
                continue
            if inside:
                if line and not line.startswith(" "):
                    inside = False
                    continue
                match = re.match(r"^  ([^ :#][^:]*):", line)
                if match and match.group(1) not in names:
                    names.append(match.group(1))
    names = ["default"] + [n for n in names if n != "default"]
    return names[:MAX_ENVIRONMENTS]


def rows_helmfile(stdout):
    stdout = stdout.strip()
    if not stdout:
        return []
    rows = []
    for r in json.loads(stdout):
        if not r.get("enabled"):
            continue
        labels = dict(l.split(":", 1) if ":" in l else (l, "") for l in (r.get("labels") or "").split(",") if l)
        rows.append({
            "name": r["name"],
            "namespace": r.get("namespace") or "default",
            "chart": r.get("chart", ""),
            "version": r.get("version") or "",
            "installed": bool(r.get("installed")),
            "labels": labels,
        })
    return rows


def rows_helmfire(stdout):
    return [{
        "name": r["name"],
        "namespace": r["namespace"],
        "chart": r["chart"],
        "version": r.get("version") or "",
        "installed": bool(r["installed"]),
        "labels": r.get("labels") or {},
    } for r in json.loads(stdout)]


REFUSAL = re.compile(r"(not supported|does not support|does not resolve|cannot interpret)")
KEY = re.compile(r"`([A-Za-z][A-Za-z.]*)`")


def refused_key(stderr):
    """The key helmfire refused (`secrets`, `strategicMergePatches`, …), from its first error."""
    for line in stderr.splitlines():
        if line.startswith("error:") and REFUSAL.search(line):
            if "vals secret reference" in line:
                return "ref+ values"
            if "go-getter" in line:
                return "go-getter " + ("chart" if "chart" in line else "path")
            if "chartify" in line and "Chart.yaml" in line:
                return "chart directory without Chart.yaml"
            if "HCL" in line:
                return "hcl values"
            if "helm-secrets" in line:
                return "environment secrets" if "environment" in line else "secrets"
            keys = [k for k in KEY.findall(line) if not k[0].isupper() and "/" not in k]
            return keys[-1] if keys else line[7:80]
    return None


def normalize(value):
    """Numbers as floats (YAML writers differ on `3` vs `3.0`), recursively; an empty file is {}."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, dict):
        return {str(k): normalize(v) for k, v in value.items()}
    return value


def first_document(text):
    for document in yaml.safe_load_all(text):
        if document is not None:
            return document
    return {}


def values_helmfile(build, ids):
    """Release id -> its values list, from `helmfile build --embed-values`."""
    out = {}
    for state in yaml.safe_load_all(build):
        for release in (state or {}).get("releases") or []:
            release_id = f"{release.get('namespace') or 'default'}/{release.get('name')}"
            if release_id in ids:
                out[release_id] = [normalize(v if v is not None else {}) for v in release.get("values") or []]
    return out


def values_helmfire(imported):
    """Release id -> its values list, from `helmfire import` (files read where it says they are)."""
    base = re.search(r"^# Paths are relative to `(.*)`\.$", imported, re.M)
    base = Path(base.group(1)) if base else Path(".")
    out = {}
    for release in (yaml.safe_load(imported) or {}).get("releases") or []:
        values = []
        for entry in release.get("values") or []:
            if isinstance(entry, str):
                entry = first_document((base / entry).read_text())
            values.append(normalize(entry if entry is not None else {}))
        out[f"{release['namespace']}/{release['name']}"] = values
    return out


def may_run_hooks(path):
    """Whether `helmfile build` could run a `prepare` hook from this repository (it would)."""
    # The repository's whole tree (bases and sub-helmfiles may live anywhere in it); a snapshot
    # case's own directory.
    root = path.parent
    if path.name != "input.yaml":
        while root.parent != root and "+" not in root.name:
            root = root.parent
    for file in root.rglob("*"):
        if file.is_file() and file.suffix in (".yaml", ".yml", ".gotmpl", ".tpl"):
            try:
                if "prepare" in file.read_text(errors="replace"):
                    return True
            except OSError:
                continue
    return False


def compare_values(helmfile, helmfire, args, path, env, rows):
    """(verdict, detail) for the values of the releases both tools list."""
    if may_run_hooks(path):
        return "not compared", "a `prepare` hook could run"
    code_b, out_b, err_b = run(helmfile + args + ["build", "--embed-values"], path.parent, env)
    if code_b != 0:
        return "not compared", "helmfile build: " + (err_b.strip().splitlines() or [""])[-1][:120]
    code_i, out_i, err_i = run(helmfire + args + ["import"], path.parent, env)
    if code_i != 0:
        return "helmfire import failed", (err_i.strip().splitlines() or [""])[0][:160]
    ids = {f"{r['namespace']}/{r['name']}" for r in rows}
    expected, actual = values_helmfile(out_b, ids), values_helmfire(out_i)
    differing = sorted(i for i in ids if expected.get(i) != actual.get(i))
    if differing:
        return "values differ", ", ".join(differing[:3])
    return "values identical", f"{len(ids)} releases"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--helmfire", required=True)
    parser.add_argument("--helmfile", required=True)
    parser.add_argument("--helm", required=True, help="the helm v3 helmfile drives")
    parser.add_argument("--work", required=True)
    parser.add_argument("--corpus", default=str(Path(__file__).with_name("helmfile-corpus.txt")))
    parser.add_argument("--mirror", default=os.environ.get("HELMFIRE_CORPUS_MIRROR"),
                        help="a directory of bare clones named OWNER+NAME/repo, used instead of GitHub")
    options = parser.parse_args()

    work = Path(options.work).resolve()
    (work / "home").mkdir(parents=True, exist_ok=True)
    home = work / "home"
    env = {
        "PATH": f"{Path(options.helm).parent}:/usr/bin:/bin",
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "HELMFILE_CACHE_HOME": str(home / "helmfile"),
        "HELMFILE_UPGRADE_NOTICE_DISABLED": "1",
        "HELMFILE_DISABLE_RUNNER_UNIQUE_ID": "1",
        "NO_COLOR": "1",
    }
    helmfile = [options.helmfile, "--helm-binary", options.helm]
    helmfire = [options.helmfire]

    repos = [l.strip() for l in open(options.corpus) if l.strip() and not l.startswith("#")]
    sources = []
    targets = []  # (label, path, environments or None)
    for repo in repos:
        dest = work / "src" / repo.replace("/", "+")
        try:
            commit = fetch(repo, None, dest, options.mirror)
        except (RuntimeError, subprocess.CalledProcessError) as error:
            print(f"skipping {repo}: {error}", file=sys.stderr)
            continue
        files = entry_points(dest)
        sources.append((repo, commit, len(files)))
        for path in files:
            targets.append((f"{repo}:{path.relative_to(dest)}", path, None))
    snapshots = work / "src" / "helmfile+helmfile"
    commit = fetch("helmfile/helmfile", "v0.166.0", snapshots, options.mirror)
    sources.append(("helmfile/helmfile@v0.166.0 (snapshot inputs)", commit, len(SNAPSHOT_CASES)))
    for case, envs in SNAPSHOT_CASES.items():
        path = snapshots / "test/e2e/template/helmfile/testdata/snapshot" / case / "input.yaml"
        if path.exists():
            targets.append((f"helmfile snapshot {case}", path, envs))

    with open(work / "sources.tsv", "w") as out:
        out.write("repository\tcommit\tstate files\n")
        for repo, commit, count in sources:
            out.write(f"{repo}\t{commit}\t{count}\n")

    verdicts = collections.Counter()
    values = collections.Counter()
    refused = collections.Counter()
    other_errors = collections.Counter()
    files_identical = collections.defaultdict(lambda: True)
    accepted_files = set()
    with open(work / "pairs.tsv", "w") as out:
        out.write("state file\tenvironment\tverdict\tdetail\n")
        for label, path, envs in targets:
            envs = envs or environments(helmfile, path, env)
            for environment in envs:
                args = ["-f", path.name, "-e", environment]
                # A file that needs environment variables (`requiredEnv`) gets placeholders, so
                # that both tools read it as its CI would.
                pair_env = dict(env)
                for _ in range(12):
                    code_o, out_o, err_o = run(helmfile + args + ["list", "--skip-charts", "--output", "json"], path.parent, pair_env)
                    missing = re.search(r"required env var `([^`]+)` is not set", err_o)
                    if code_o == 0 or not missing or missing.group(1) in pair_env:
                        break
                    pair_env[missing.group(1)] = "placeholder"
                env_used = pair_env
                code_h, out_h, err_h = run(helmfire + args + ["list", "-o", "json"], path.parent, env_used)
                if code_o != 0:
                    verdict = "helmfile refuses" if code_h != 0 else "helmfire only"
                    detail = (err_o.strip().splitlines() or [""])[-1][:160]
                else:
                    accepted_files.add(label)
                    if code_h != 0:
                        key = refused_key(err_h)
                        if key:
                            verdict, detail = "refused (unsupported)", key
                            refused[key] += 1
                        else:
                            detail = next((l for l in err_h.splitlines() if l.startswith("error:")), err_h[:160])
                            # `helmfile list` reads neither release values files nor charts;
                            # `build --embed-values` does, as every deploying command must.
                            code_b, _, err_b = run(helmfile + args + ["build", "--embed-values"], path.parent, env_used)
                            if code_b != 0:
                                verdict = "both fail on values"
                                detail += " | helmfile build: " + (err_b.strip().splitlines() or [""])[-1][:120]
                            else:
                                verdict = "helmfire error"
                                other_errors[detail[:120]] += 1
                    else:
                        expected, actual = rows_helmfile(out_o), rows_helmfire(out_h)
                        if expected == actual:
                            verdict, detail = "identical", f"{len(actual)} releases"
                            value_verdict, value_detail = compare_values(helmfile, helmfire, args, path, env_used, actual)
                            values[value_verdict] += 1
                            detail += f"; {value_verdict}: {value_detail}"
                        else:
                            verdict = "different"
                            missing = [f"{r['namespace']}/{r['name']}" for r in expected if r not in actual]
                            extra = [f"{r['namespace']}/{r['name']}" for r in actual if r not in expected]
                            detail = f"helmfile only: {missing[:3]}, helmfire only: {extra[:3]}"
                    if verdict != "identical":
                        files_identical[label] = False
                    else:
                        files_identical[label] = files_identical[label] and True
                verdicts[verdict] += 1
                out.write(f"{label}\t{environment}\t{verdict}\t{detail}\n")
                print(f"{verdict:24} {label} -e {environment}  {detail}", flush=True)

    accepted = sum(v for k, v in verdicts.items() if k not in ("helmfile refuses", "helmfire only"))
    identical_files = sum(1 for label in accepted_files if files_identical[label])
    print()
    print(f"sources: {len(sources)} ({sum(c for _, _, c in sources)} state files); see {work}/sources.tsv")
    print(f"(state file, environment) pairs helmfile v0.166.0 lists: {accepted}")
    print(f"  read identically by helmfire: {verdicts['identical']}")
    print(f"    of which the values every release deploys with are identical: {values['values identical']},"
          f" differ: {values['values differ']}, helmfire import failed: {values['helmfire import failed']},"
          f" not compared: {values['not compared']} (helmfile build fails offline, or a prepare hook could run)")
    print(f"  refused by helmfire (unsupported, with file:line): {verdicts['refused (unsupported)']}")
    print(f"  failing in both once release values are read (`helmfile build --embed-values` fails too): {verdicts['both fail on values']}")
    print(f"  other helmfire errors: {verdicts['helmfire error']}")
    print(f"  listed differently: {verdicts['different']}")
    print(f"state files helmfile accepts: {len(accepted_files)}, read identically in every environment: {identical_files}")
    print(f"pairs helmfile itself refuses: {verdicts['helmfile refuses']} (helmfire reads {verdicts['helmfire only']} of the others)")
    if refused:
        print("unsupported keys found (pairs):")
        for key, count in refused.most_common():
            print(f"  {key}: {count}")
    if other_errors:
        print("other helmfire errors:")
        for message, count in other_errors.most_common():
            print(f"  {count}× {message}")


if __name__ == "__main__":
    main()
