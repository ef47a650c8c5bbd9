#!/usr/bin/env python3
"""`make image-test`: the Containerfile's runtime stage, run without a container engine.

Builds the release binary with the `swift build` command the Containerfile's build stage runs,
debootstraps the Debian suite of its runtime base image (minbase, slimmed like Debian's -slim
images), runs the runtime stage's RUN instructions in it (so the packages installed are exactly
those the Containerfile names), applies its COPY, ENV, WORKDIR and USER, and then, in new mount,
PID and network namespaces, with the root read-only: serves the demo store with the image's
ENTRYPOINT and checks readiness, a prediction, the OpenAPI document and the HEALTHCHECK; serves
a WAL-mode store from a read-only bind mount at /mnt/models with `--model-dir`; stops both with
SIGTERM. Prints the root's size. Needs root (chroot, mounts), debootstrap and curl.
The roots are cached under .build-image/ (ignored by git); a changed RUN line rebuilds them.
"""
import hashlib
import json
import os
import pathlib
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[2]
CACHE = REPO / ".build-image"
MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
# What Debian's -slim images leave out (debuerreotype's slimify), kept out of later installs too.
SLIM_EXCLUDES = ["/usr/share/doc/*", "/usr/share/info/*", "/usr/share/man/*", "/usr/share/locale/*",
                 "/usr/share/groff/*", "/usr/share/linda/*", "/usr/share/lintian/*"]
SLIM_INCLUDES = ["/usr/share/doc/*/copyright", "/usr/share/locale/locale.alias"]

# Debian's container images drop downloaded packages after each install (their docker-clean).
DOCKER_CLEAN = """DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
"""


def log(message):
    print(f"image-test: {message}", flush=True)


def run(command, **kwargs):
    kwargs.setdefault("check", True)
    return subprocess.run(command, **kwargs)


def instructions(path):
    """(stage index, INSTRUCTION, arguments) of the Containerfile, continuations joined."""
    logical, current = [], ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    stage, args, out = -1, {}, []
    for text in logical:
        word, _, rest = text.partition(" ")
        word = word.upper()
        if word == "ARG" and stage < 0:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
            continue
        if word == "FROM":
            stage += 1
            rest = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), rest)
        out.append((stage, word, rest.strip()))
    return out


def parse_env(text):
    """`K=V K2="V 2"` (or the legacy `K V`) as a dict."""
    parts = shlex.split(text)
    if parts and "=" not in parts[0]:
        return {parts[0]: " ".join(parts[1:])}
    return dict(part.split("=", 1) for part in parts)


def exec_form(text):
    text = text.strip()
    return json.loads(text) if text.startswith("[") else ["/bin/sh", "-c", text]


def build_binary(build_stage):
    """Runs the build stage's `swift build` as written, and lays /out/ out the same way."""
    command = next((m.group(0) for _, word, rest in build_stage if word == "RUN"
                    for m in [re.search(r"swift build [^&;]*", rest)] if m), None)
    if command is None:
        sys.exit("image-test: the build stage runs no `swift build`")
    command = command.strip()
    log(f"building as the Containerfile does: {command}")
    run(shlex.split(command), cwd=REPO)
    bin_path = run(shlex.split(command) + ["--show-bin-path"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    out = CACHE / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    shutil.copy2(pathlib.Path(bin_path) / "peephole", out / "peephole")
    for bundle in pathlib.Path(bin_path).glob("*.resources"):
        shutil.copytree(bundle, out / bundle.name)
    if any(re.search(r"\bstrip\s+/out/peephole\b", rest) for _, word, rest in build_stage if word == "RUN"):
        run(["strip", str(out / "peephole")])
    needed = run(["objdump", "-p", str(out / "peephole")], capture_output=True, text=True).stdout
    libraries = re.findall(r"NEEDED\s+(\S+)", needed)
    swift = [lib for lib in libraries if "swift" in lib.lower() or "Foundation" in lib or "dispatch" in lib]
    if swift:
        sys.exit(f"image-test: the binary links Swift's runtime dynamically: {swift}")
    log(f"binary links (objdump -p NEEDED): {' '.join(libraries)}")
    return out, libraries


def base_root(suite):
    base = CACHE / f"base-{suite}"
    if (base / ".complete").exists():
        return base
    shutil.rmtree(base, ignore_errors=True)
    log(f"debootstrap --variant=minbase {suite} (once; cached in {base.relative_to(REPO)})")
    run(["debootstrap", "--variant=minbase", suite, str(base), MIRROR])
    (base / "etc/apt/sources.list").write_text(
        f"deb {MIRROR} {suite} main\ndeb {MIRROR} {suite}-updates main\n"
        f"deb http://deb.debian.org/debian-security {suite}-security main\n")
    config = "".join(f"path-exclude {p}\n" for p in SLIM_EXCLUDES) + "".join(f"path-include {p}\n" for p in SLIM_INCLUDES)
    (base / "etc/dpkg/dpkg.cfg.d/slim").write_text(config)
    (base / "etc/apt/apt.conf.d/docker-clean").write_text(DOCKER_CLEAN)
    run(["chroot", str(base), "sh", "-c",
         "apt-get clean && rm -rf /var/lib/apt/lists/* /usr/share/man/* /usr/share/info/* /usr/share/groff/* "
         "/usr/share/lintian/* /usr/share/linda/* && find /usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete; "
         "find /usr/share/locale -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +; true"])
    (base / ".complete").touch()
    return base


def runtime_root(base, steps):
    """The base with the runtime stage's RUN steps applied; cached by their text."""
    key = hashlib.sha256("\n".join(steps).encode()).hexdigest()[:12]
    root = CACHE / f"root-{key}"
    if (root / ".complete").exists():
        log(f"runtime root cached: {root.relative_to(REPO)}")
        return root
    for old in CACHE.glob("root-*"):
        shutil.rmtree(old, ignore_errors=True)
    log(f"runtime root {root.relative_to(REPO)}: {len(steps)} RUN steps")
    run(["cp", "-a", str(base), str(root)])
    shutil.copy2("/etc/resolv.conf", root / "etc/resolv.conf")
    for step in steps:
        log(f"RUN {step[:110]}{'…' if len(step) > 110 else ''}")
        run(["chroot", str(root), "/bin/sh", "-c", step], env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                                              "HOME": "/root", "LANG": "C.UTF-8"})
    (root / "etc/resolv.conf").write_text("")
    (root / ".complete").touch()
    return root


def copy_into(root, source, destination, workdir):
    destination = destination if destination.startswith("/") else f"{workdir}/{destination}"
    target = root / destination.lstrip("/")
    if source.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        run(["cp", "-a", f"{source}/.", str(target)])
    else:
        if destination.endswith("/"):
            target = target / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def wal_store(directory):
    """A WAL-mode copy of the demo store, alone in `directory`, as a storage initializer leaves it."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "peephole.sqlite"
    shutil.copy2(REPO / "models/peephole.sqlite", path)
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA journal_mode=wal").fetchone()[0] == "wal"
    connection.close()
    for suffix in ("-wal", "-shm"):
        pathlib.Path(f"{path}{suffix}").unlink(missing_ok=True)
    return directory


def main():
    if os.geteuid() != 0:
        sys.exit("image-test: needs root (debootstrap, chroot, mounts)")
    for tool in ("debootstrap", "curl", "unshare", "objdump"):
        if shutil.which(tool) is None:
            sys.exit(f"image-test: needs {tool} (apt-get install debootstrap curl util-linux binutils)")
    steps = instructions(REPO / "Containerfile")
    final = max(stage for stage, _, _ in steps)
    runtime = [(word, rest) for stage, word, rest in steps if stage == final]
    image = runtime[0][1]
    match = re.search(r"debian:(\w+)", image)
    if not match:
        sys.exit(f"image-test: the runtime stage is FROM {image}; only debian:<suite>[-slim] can be debootstrapped")
    suite = match.group(1)
    CACHE.mkdir(exist_ok=True)
    out, libraries = build_binary([(s, w, r) for s, w, r in steps if s == 0])

    run_steps = [rest for word, rest in runtime if word == "RUN"]
    first_copy = next(i for i, (word, _) in enumerate(runtime) if word == "COPY")
    if any(word == "RUN" for word, _ in runtime[first_copy:]):
        sys.exit("image-test: a RUN after a COPY in the runtime stage; keep RUN steps first so the root can be cached")
    root = runtime_root(base_root(suite), run_steps)

    env, workdir, user, ports = {}, "/", "0:0", []
    healthcheck = entrypoint = None
    for word, rest in runtime[1:]:
        if word == "ENV":
            env.update(parse_env(rest))
        elif word == "WORKDIR":
            workdir = rest if rest.startswith("/") else f"{workdir}/{rest}"
            (root / workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
        elif word == "COPY":
            parts = rest.split()
            source = parts[-2]
            if parts[0].startswith("--from="):
                source_path = out if source.rstrip("/") == "/out" else None
                if source_path is None:
                    sys.exit(f"image-test: cannot map COPY {rest}")
            else:
                source_path = REPO / source
            copy_into(root, source_path, parts[-1], workdir)
        elif word == "USER":
            user = rest
        elif word == "EXPOSE":
            ports.append(int(rest.split("/")[0]))
        elif word == "HEALTHCHECK":
            healthcheck = exec_form(rest.split(" CMD ", 1)[1])
        elif word == "ENTRYPOINT":
            entrypoint = exec_form(rest)
    if entrypoint is None or healthcheck is None or not ports:
        sys.exit("image-test: the runtime stage needs ENTRYPOINT, HEALTHCHECK and EXPOSE")
    (root / "mnt/models").mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="peephole-image-test-") as temporary:
        temporary = pathlib.Path(temporary)
        models = wal_store(temporary / "models")
        environment = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        serve = " ".join(map(shlex.quote, entrypoint))
        check = " ".join(map(shlex.quote, healthcheck))
        port = ports[0]
        script = temporary / "inside.sh"
        script.write_text(INSIDE.format(
            root=shlex.quote(str(root)), models=shlex.quote(str(models)), user=shlex.quote(user),
            env=environment, serve=serve, healthcheck=check, workdir=shlex.quote(workdir), port=port,
            libraries=" ".join(libraries), logs=shlex.quote(str(temporary))))
        result = run(["unshare", "--mount", "--pid", "--net", "--fork", "--kill-child", "bash", str(script)], check=False)
        providers = set((temporary / "providers").read_text().split()) if (temporary / "providers").exists() else set()
        if result.returncode != 0:
            for name in ("serve.log", "kserve.log"):
                if (temporary / name).exists():
                    print(f"--- {name}\n" + (temporary / name).read_text()[-3000:])
            sys.exit(f"image-test: FAILED (exit {result.returncode})")

    packages = [p for step in run_steps for p in re.findall(r"install\s+(?:-\S+\s+)*([^&|;]+)", step) for p in p.split() if not p.startswith("-")]
    unneeded = [p for p in packages if p not in providers]
    if unneeded:
        sys.exit(f"image-test: the Containerfile installs packages that provide none of the libraries peephole links: {unneeded}")
    size = int(run(["du", "-sb", "--exclude=./proc", str(root)], capture_output=True, text=True).stdout.split()[0])
    base = int(run(["du", "-sb", str(CACHE / f"base-{suite}")], capture_output=True, text=True).stdout.split()[0])
    binary = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    log(f"runtime packages (from the Containerfile): {' '.join(packages)}")
    log(f"root size: {size / 1e6:.1f} MB (Debian {suite} minbase, slimmed: {base / 1e6:.1f} MB; "
        f"packages: {(size - base - binary) / 1e6:.1f} MB; peephole and its resources: {binary / 1e6:.1f} MB)")
    log("PASSED")


# Runs in new mount, PID and network namespaces (only loopback, brought up here).
INSIDE = r"""
set -euo pipefail
ROOT={root}
ip link set lo up
# Like readOnlyRootFilesystem: the root is read-only, /tmp a tmpfs, /proc this namespace's.
mount --bind "$ROOT" "$ROOT"
mount -o remount,bind,ro "$ROOT"
mount -t proc proc "$ROOT/proc"
mount -t tmpfs tmpfs "$ROOT/tmp"
# KServe's storage initializer leaves the store read-only at /mnt/models: a WAL-mode store here.
mount --bind {models} "$ROOT/mnt/models"
mount -o remount,bind,ro "$ROOT/mnt/models"
say() {{ echo "image-test: $*"; }}

say "libraries resolved inside the root:"
missing=$(chroot "$ROOT" ldd /opt/peephole/peephole | grep 'not found' || true)
[ -z "$missing" ] || {{ echo "$missing"; exit 1; }}
for lib in {libraries}; do
    path=$(chroot "$ROOT" ldd /opt/peephole/peephole | awk -v l="$lib" '$1 == l {{print $3}}')
    [ -n "$path" ] || {{ [ "$lib" = "ld-linux-x86-64.so.2" ] && continue; say "  $lib: not resolved"; exit 1; }}
    real=$(chroot "$ROOT" readlink -f "$path")
    package=
    for candidate in "$real" "$path" "${{real#/usr}}" "${{path#/usr}}"; do
        package=$(chroot "$ROOT" dpkg -S "$candidate" 2>/dev/null | cut -d: -f1) && [ -n "$package" ] && break
    done
    say "  $lib -> $real (${{package:-no package}})"
    echo "$package" >> {logs}/providers
done

start() {{  # start NAME PORT ARGS...: the image's ENTRYPOINT as its USER, with its ENV and WORKDIR; sets $started
    local name=$1 port=$2; shift 2
    chroot --userspec={user} "$ROOT" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/nonexistent \
        {env} PEEPHOLE_PORT=$port sh -c 'cd "$0" && exec "$@"' {workdir} {serve} "$@" > {logs}/$name.log 2>&1 &
    started=$!
}}
wait_ready() {{  # wait_ready PORT: /v2/health/ready 200 within 30 s
    for _ in $(seq 1 300); do
        [ "$(curl -s -o /dev/null -w '%{{http_code}}' http://127.0.0.1:$1/v2/health/ready)" = 200 ] && return 0
        sleep 0.1
    done
    say "port $1 never became ready"; return 1
}}
stop() {{  # stop PID: SIGTERM, exit 0 within 15 s
    kill -TERM $1
    for _ in $(seq 1 150); do kill -0 $1 2>/dev/null || break; sleep 0.1; done
    if kill -0 $1 2>/dev/null; then say "pid $1 ignored SIGTERM"; return 1; fi
    wait $1 && say "  SIGTERM: exit 0" || {{ say "  SIGTERM: exit $?"; return 1; }}
}}
BODY='{{"text": ["This program is free software; you can"], "top_k": 3}}'

say "serve the baked-in demo store: {serve}"
start serve {port}; pid=$started
wait_ready {port}
uid=$(awk '/^Uid:/ {{print $2}}' "$ROOT/proc/$pid/status")
say "  ready; running as uid $uid"
[ "$uid" != 0 ] || {{ say "runs as root"; exit 1; }}
grep -q '0.0.0.0:{port}' {logs}/serve.log && say "  listening on 0.0.0.0:{port}" || {{ say "not bound to 0.0.0.0"; exit 1; }}
predict=$(curl -sf http://127.0.0.1:{port}/predict -d "$BODY")
echo "$predict" | grep -q '"token":"v"' || {{ say "unexpected prediction: ${{predict:0:200}}"; exit 1; }}
say "  POST /predict: 200, top token 'v' (as the README)"
curl -sf -o /dev/null http://127.0.0.1:{port}/openapi.json && say "  GET /openapi.json: 200 (resource bundle found)"
chroot --userspec={user} "$ROOT" env -i PATH=/usr/bin:/bin {env} {healthcheck} && say "  HEALTHCHECK: passes" || {{ say "HEALTHCHECK fails"; exit 1; }}
chroot "$ROOT" sh -c 'command -v sleep' > /dev/null && say "  preStop's sleep is in the image"

say "serve a WAL-mode store from a read-only bind mount, KServe style: --model-dir /mnt/models"
start kserve 8081 --model-dir /mnt/models; kpid=$started
wait_ready 8081
kpredict=$(curl -sf http://127.0.0.1:8081/predict -d "$BODY")
[ "$kpredict" = "$predict" ] && say "  POST /predict: 200, the same bytes" || {{ say "different answer: ${{kpredict:0:200}}"; exit 1; }}
ls {models} | grep -q -- '-shm' && {{ say "an -shm file appeared"; exit 1; }} || true
stop $kpid
stop $pid
"""

if __name__ == "__main__":
    main()
