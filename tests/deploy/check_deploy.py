#!/usr/bin/python3
"""Checks docker-compose.yml, deploy/ and the Dockerfiles against the rules
docs/operations.md states, without a Docker daemon:

- every tessera service in compose has a health check, runs as non-root, and
  gets its CURVE secret key (and database password) as a secret file, never
  as an environment value;
- every TSR_ variable in deploy/config/*.env is one docs/configuration.md
  documents, and each env file's TSR_CERT is the secret compose mounts;
- every runtime stage of the Dockerfiles is debian:bookworm-slim with a
  non-root USER, and the build stage installs only packages of
  scripts/lib/deps.sh;
- with a build directory (--build-dir), each image's package list holds the
  package of every shared library its binary needs (readelf NEEDED, resolved
  by ldd, owned per dpkg -S), so a missing runtime library fails here;
- every tessera_* metric in deploy/prometheus/alerts.yml exists in common/ or
  services/ (or is one of the four being added).

Usage: check_deploy.py --source DIR [--build-dir DIR]
Prints one line per check; exits 1 on the first failing group's end.
"""
import argparse
import glob
import os
import re
import shlex
import subprocess
import sys

import yaml

SERVICES = ["enrollment", "validation", "ca", "perso", "mail", "revocation", "publisher"]
TESSERA = SERVICES + ["portal"]
# Images and their binaries (relative to a build directory).
BINARIES = {name: f"services/{name}/tessera-{name}" for name in TESSERA}
BINARIES["tools"] = "tools/tessera"
# Metrics being added alongside this check (docs/configuration.md, "Metrics").
PENDING_METRICS = {
    "tessera_outbox_backlog_events",
    "tessera_outbox_oldest_age_seconds",
    "tessera_ca_key_active",
    "tessera_publisher_crl_next_update_margin_seconds",
}
# Packages of debian:bookworm-slim itself (essential), always present.
BASE_PACKAGES = {"libc6"}
SECRET_WORDS = re.compile(r"secret|password|passwd|private|_key$|master", re.I)

failures = []


def check(ok, what, quiet=False):
    """Records a failure; prints it, and a success unless quiet."""
    if not ok or not quiet:
        print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)
    return ok


def load_env_file(path):
    """KEY=VALUE lines as tessera's config reader takes them."""
    values = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            key, sep, value = text.partition("=")
            check(sep == "=" and re.fullmatch(r"TSR_[A-Z0-9_]+", key.strip()) is not None,
                  f"{os.path.basename(path)}:{number} is TSR_KEY=VALUE", quiet=True)
            values[key.strip()] = value.strip()
    return values


def documented_settings(config_md):
    """Names and patterns of docs/configuration.md: `TSR_X`, `TSR_<SOURCE>_X`
    (any service name), and `_2` after `TSR_X_1` in the same cell."""
    names, patterns = set(), []
    for line in config_md.splitlines():
        previous = None
        for token in re.findall(r"`([^`]+)`", line):
            if re.fullmatch(r"TSR_[A-Z0-9_]+", token):
                names.add(token)
                previous = token
            elif re.fullmatch(r"TSR_<[A-Z]+>_[A-Z0-9_]+", token):
                suffix = token.split(">_", 1)[1]
                services = "|".join(s.upper() for s in SERVICES + ["portal"])
                patterns.append(re.compile(rf"TSR_({services})_{suffix}"))
            elif re.fullmatch(r"_[A-Z0-9]+", token) and previous:
                names.add(previous.rsplit("_", 1)[0] + token)
    return names, patterns


def check_compose(source, compose, env_dir):
    services = compose.get("services", {})
    secrets = compose.get("secrets", {})
    for name in TESSERA:
        service = services.get(name)
        if not check(service is not None, f"compose has service {name}"):
            continue
        check("healthcheck" in service and service["healthcheck"].get("test"),
              f"{name}: has a healthcheck")
        user = str(service.get("user", ""))
        check(user.split(":")[0] not in ("root", "0"), f"{name}: compose does not run it as root")
        build = service.get("build", {})
        check(build.get("target") == name and build.get("args", {}).get("SERVICE") == name,
              f"{name}: built from its own runtime stage (target and SERVICE = {name})")
        environment = service.get("environment", {})
        if isinstance(environment, list):
            environment = dict(item.partition("=")[::2] for item in environment)
        check("env_file" not in service, f"{name}: settings come from TSR_CONFIG_FILE, not env_file")
        leaked = [k for k in environment if k != "TSR_CONFIG_FILE"]
        check(not leaked, f"{name}: no setting in the environment but TSR_CONFIG_FILE {leaked or ''}")
        mounted = {}
        for entry in service.get("secrets", []):
            entry = entry if isinstance(entry, dict) else {"source": entry}
            mounted[entry.get("target", entry["source"])] = entry["source"]
            check(entry["source"] in secrets and "file" in secrets[entry["source"]],
                  f"{name}: secret {entry['source']} is declared with a file", quiet=True)
        check(f"{name}.cert_secret" in mounted, f"{name}: its CURVE secret key is a secret file")
        env_path = os.path.join(env_dir, f"{name}.env")
        if not check(os.path.exists(env_path), f"{name}: deploy/config/{name}.env exists"):
            continue
        volumes = [str(v) for v in service.get("volumes", [])]
        check(any(v.split(":")[0].endswith(f"deploy/config/{name}.env")
                  and v.split(":")[1] == environment.get("TSR_CONFIG_FILE") for v in volumes),
              f"{name}: its env file is mounted where TSR_CONFIG_FILE points")
        values = load_env_file(env_path)
        check(values.get("TSR_CERT") == f"/run/secrets/{name}.cert",
              f"{name}: TSR_CERT is the mounted secret /run/secrets/{name}.cert")
        for key, value in values.items():
            check(not (SECRET_WORDS.search(key) and value and not value.startswith("/")),
                  f"{name}: {key} names a file, not a secret value", quiet=True)
            check("password=" not in value.replace(" ", "").lower(),
                  f"{name}: {key} holds no password", quiet=True)
        dsn = values.get("TSR_DB_DSN", "")
        if name != "portal":
            check("passfile=/run/secrets/pgpass" in dsn and "pgpass" in mounted,
                  f"{name}: the database password comes from the pgpass secret")


def check_env_documented(source, env_dir):
    with open(os.path.join(source, "docs/configuration.md"), encoding="utf-8") as f:
        names, patterns = documented_settings(f.read())
    check(len(names) > 50, f"docs/configuration.md documents {len(names)} TSR_ settings")
    files = sorted(glob.glob(os.path.join(env_dir, "*.env")))
    check(len(files) >= len(TESSERA), f"{len(files)} env files in deploy/config")
    for path in files:
        for key in load_env_file(path):
            check(key in names or any(p.fullmatch(key) for p in patterns),
                  f"{os.path.basename(path)}: {key} is documented", quiet=True)
        print(f"ok    {os.path.basename(path)}: its settings are checked against the documentation")


def dockerfile_stages(path):
    """[(name, base, [instructions])] with continuation lines joined."""
    stages, logical, current = [], [], ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            stripped = line.strip()
            if not current and (not stripped or stripped.startswith("#")):
                continue
            if stripped.startswith("#"):
                continue
            current += " " + stripped.rstrip("\\")
            if not stripped.endswith("\\"):
                logical.append(current.strip())
                current = ""
    for instruction in logical:
        word = instruction.split(None, 1)[0].upper()
        if word == "FROM":
            parts = instruction.split()
            name = parts[3] if len(parts) >= 4 and parts[2].upper() == "AS" else None
            stages.append((name, parts[1], []))
        elif stages:
            stages[-1][2].append(instruction)
    return stages


def apt_packages(instructions):
    packages = []
    for instruction in instructions:
        if not instruction.upper().startswith("RUN "):
            continue
        for command in re.split(r"&&|;", instruction[4:]):
            words = shlex.split(command)
            if "apt-get" in words and "install" in words:
                packages += [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
    return packages


def stage_chain(stages, name):
    """The stage and the stages it is built FROM, nearest first."""
    by_name = {s[0]: s for s in stages if s[0]}
    chain = []
    while name in by_name:
        chain.append(by_name[name])
        name = by_name[name][1]
    return chain, name


def deps_packages(source):
    with open(os.path.join(source, "scripts/lib/deps.sh"), encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"TSR_PACKAGES=\((.*?)\n\)", text, re.S)
    return set(re.sub(r"#.*", "", block.group(1)).split()) if block else set()


def check_dockerfiles(source):
    runtime_packages = {}
    main = os.path.join(source, "deploy/docker/Dockerfile")
    stages = dockerfile_stages(main)
    build = [s for s in stages if s[0] == "build"]
    if check(len(build) == 1, "Dockerfile: one build stage"):
        missing = sorted(set(apt_packages(build[0][2])) - deps_packages(source))
        check(not missing, f"Dockerfile: build packages are in scripts/lib/deps.sh {missing or ''}")
    for image in BINARIES:
        chain, base = stage_chain(stages, image)
        if not check(chain, f"Dockerfile: stage {image} exists"):
            continue
        check(base == "debian:bookworm-slim", f"Dockerfile: {image} runs on {base}")
        users = [i.split(None, 1)[1] for i in chain[0][2] if i.upper().startswith("USER ")]
        check(users and users[-1].split(":")[0] not in ("root", "0"),
              f"Dockerfile: {image} ends as a non-root USER ({users[-1] if users else 'none'})")
        instructions = [i for stage in chain for i in stage[2]]
        copies = [i for i in instructions if i.upper().startswith("COPY --FROM=BUILD")]
        check(len(copies) == 1, f"Dockerfile: {image} copies one binary from the build stage")
        runtime_packages[image] = set(apt_packages(instructions))
    relay = os.path.join(source, "deploy/docker/smtp-relay.Dockerfile")
    relay_stages = dockerfile_stages(relay)
    check(len(relay_stages) == 1 and relay_stages[0][1] == "debian:bookworm-slim",
          "smtp-relay.Dockerfile: runs on debian:bookworm-slim")
    with open(relay, encoding="utf-8") as f:
        check("starts as root" in f.read(),
              "smtp-relay.Dockerfile: says why it starts as root (Postfix's master)")
    return runtime_packages


def needed_libraries(binary):
    """{library: [candidate paths]} of the libraries the binary itself needs
    (readelf NEEDED; their own dependencies come with their packages)."""
    readelf = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", readelf.stdout)
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", ldd, re.M))
    libraries = {}
    for library in needed:
        path = paths.get(library)
        candidates = set()
        if path:
            candidates = {path, os.path.realpath(path)}
            # Debian 12 is merged-/usr: a package may list /lib or /usr/lib.
            candidates |= {c[4:] if c.startswith("/usr/") else "/usr" + c for c in list(candidates)}
        libraries[library] = sorted(candidates)
    return libraries


def owners(paths):
    """{path: package} from one dpkg-query call."""
    result = subprocess.run(["dpkg-query", "-S"] + sorted(set(paths)),
                            capture_output=True, text=True)
    found = {}
    for line in result.stdout.splitlines():
        packages, sep, path = line.partition(": ")
        if sep:
            found[path.strip()] = packages.split(",")[0].split(":")[0].strip()
    return found


def check_libraries(build_dir, runtime_packages):
    binaries = {}
    for image, relative in BINARIES.items():
        binary = os.path.join(build_dir, relative)
        if os.path.exists(binary):
            binaries[image] = needed_libraries(binary)
        else:
            print(f"skip  {image}: {relative} not built in {build_dir}")
    package_of = owners(p for libraries in binaries.values()
                        for candidates in libraries.values() for p in candidates)
    for image, libraries in binaries.items():
        packages, unresolved = {}, []
        for library, candidates in libraries.items():
            owner = next((package_of[c] for c in candidates if c in package_of), None)
            if owner:
                packages[library] = owner
            else:
                unresolved.append(library)
        check(not unresolved, f"{image}: every needed library has a Debian package {unresolved or ''}")
        if any(l.startswith(("libasan", "libubsan")) for l in libraries):
            print(f"skip  {image}: a sanitizer build; images ship plain builds")
            continue
        have = runtime_packages.get(image, set()) | BASE_PACKAGES
        missing = sorted({f"{p} ({l})" for l, p in packages.items() if p not in have})
        check(not missing, f"{image}: runtime packages cover its {len(packages)} libraries "
                           f"{missing or ''}")


def check_alerts(source):
    path = os.path.join(source, "deploy/prometheus/alerts.yml")
    with open(path, encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    exported = set(PENDING_METRICS)
    for path_c in glob.glob(os.path.join(source, "common/*.c")) + \
            glob.glob(os.path.join(source, "services/*/*.c")):
        with open(path_c, encoding="utf-8") as f:
            text = f.read()
        for kind, name in re.findall(
                r"tsr_metrics_(counter|gauge|histogram)\s*\([^\"]*?\"(tessera_[a-z0-9_]+)\"",
                text, re.S):
            exported.add(name)
            if kind == "histogram":
                exported |= {name + "_bucket", name + "_sum", name + "_count"}
    check(len(exported) > 20, f"{len(exported)} metric names found in common/ and services/")
    groups = rules.get("groups", []) if isinstance(rules, dict) else []
    check(groups, "alerts.yml has rule groups")
    names = set()
    for group in groups:
        for rule in group.get("rules", []):
            alert = rule.get("alert", "?")
            check(alert not in names, f"alert {alert} is named once", quiet=True)
            names.add(alert)
            check(isinstance(rule.get("expr"), str) and rule.get("labels", {}).get("severity"),
                  f"alert {alert}: has an expression and a severity", quiet=True)
            check(rule.get("annotations", {}).get("summary")
                  and rule.get("annotations", {}).get("description"),
                  f"alert {alert}: has a summary and a description", quiet=True)
            used = set(re.findall(r"\btessera_[a-z0-9_]+", rule.get("expr", "")))
            unknown = sorted(used - exported)
            check(not unknown, f"alert {alert}: its metrics exist {unknown or ''}")
    with open(os.path.join(source, "docs/operations.md"), encoding="utf-8") as f:
        operations = f.read()
    undocumented = sorted(n for n in names if n not in operations)
    check(not undocumented, f"docs/operations.md explains every alert {undocumented or ''}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--build-dir")
    args = parser.parse_args()
    source = os.path.abspath(args.source)
    env_dir = os.path.join(source, "deploy/config")
    with open(os.path.join(source, "docker-compose.yml"), encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    check_compose(source, compose, env_dir)
    check_env_documented(source, env_dir)
    runtime_packages = check_dockerfiles(source)
    if args.build_dir:
        check_libraries(os.path.abspath(args.build_dir), runtime_packages)
    check_alerts(source)
    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
