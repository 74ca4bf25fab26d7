"""The deployment files with the real binaries, without Docker: secrets made
by deploy/prepare-secrets.sh, roles made by the postgres image's init script
(deploy/postgres/10-tessera-roles.sh) in a throwaway cluster, and every
service and the portal started with its deploy/config/<name>.env through
TSR_CONFIG_FILE. Only what a container changes is rewritten: host names and
ports (one host here), and the secret and volume paths. Then the images'
health check (deploy/docker/tsr-healthcheck) must pass for each, the tools
configuration must reach every service over CURVE with the prepared keys,
and SIGTERM must stop each with status 0.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tsrtest import CLI, SOURCE, BUILD, Cluster, claim_port_base

SERVICES = {"enrollment": 1, "validation": 2, "ca": 3, "perso": 4, "mail": 5,
            "revocation": 6, "publisher": 7}
HEALTHCHECK = SOURCE / "deploy" / "docker" / "tsr-healthcheck"


def rewrite(text, root, base, pg_port, name):
    """A deploy/config file as this one host sees it."""
    def endpoint(match):
        kind, number = match.group(2), int(match.group(3))
        return f"tcp://127.0.0.1:{base + (0 if kind == '71' else 100) + number}"
    text = text.replace("host=postgres port=5432", f"host=127.0.0.1 port={pg_port}")
    text = text.replace("/run/secrets/pgpass", str(root / f"pgpass_{name}"))
    text = text.replace("/run/secrets/perso-master.key", str(root / "deploy/secrets/perso-master.key"))
    text = text.replace("/run/secrets/", str(root / "deploy/keys") + "/")
    text = text.replace("/etc/tessera/keyring", str(root / "deploy/keyring"))
    text = text.replace("/var/lib/tessera/", str(root / "state") + "/")
    text = re.sub(r"tcp://([a-z0-9.]+):(71|72)0(\d)", endpoint, text)
    text = re.sub(r"^(TSR_[A-Z_]*ADDRESS)=0\.0\.0\.0$", r"\1=127.0.0.1", text, flags=re.M)
    text = re.sub(r"^TSR_HTTP_PORT=810(\d)$", lambda m: f"TSR_HTTP_PORT={base + 200 + int(m.group(1))}",
                  text, flags=re.M)
    text = text.replace("TSR_PUBLISH_PORT=8207", f"TSR_PUBLISH_PORT={base + 208}")
    text = text.replace("TSR_PORTAL_PORT=8180", f"TSR_PORTAL_PORT={base + 209}")
    text = text.replace("smtp://smtp-relay:25", f"smtp://127.0.0.1:{base + 98}")
    assert "0.0.0.0" not in text and "/run/secrets" not in text, text
    return text


def wait_healthy(port, path, process, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if subprocess.run([str(HEALTHCHECK), str(port), path], capture_output=True).returncode == 0:
            return True
        time.sleep(0.3)
    return False


@pytest.fixture
def deployment():
    root = Path(tempfile.mkdtemp(prefix="tessera-it-deploy-"))
    os.chmod(root, 0o755)     # the cluster belongs to the postgres user when we are root
    base, lock = claim_port_base()
    cluster = Cluster(root, base + 99)
    processes = {}
    try:
        cluster.start()
        yield root, base, cluster, processes
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
        cluster.stop()
        lock.close()
        if os.environ.get("TSR_KEEP_TEST_DIR") != "1":
            shutil.rmtree(root, ignore_errors=True)


def test_services_start_from_the_deploy_files(deployment):
    root, base, cluster, processes = deployment
    pg_port = base + 99
    subprocess.run([str(SOURCE / "deploy/prepare-secrets.sh"), str(root / "deploy")],
                   check=True, env=dict(os.environ, TESSERA=str(CLI)), capture_output=True)
    secrets = root / "deploy/secrets"
    for name in list(SERVICES) + ["portal"]:
        assert (root / f"deploy/keyring/{name}.cert").exists()
        secret = root / f"deploy/keys/{name}.cert_secret"
        assert secret.stat().st_mode & 0o077 == 0, f"{secret} is readable by others"
    assert not (root / "deploy/keyring/ca.cert_secret").exists()
    assert subprocess.run([str(SOURCE / "deploy/prepare-secrets.sh"), str(root / "deploy")],
                          env=dict(os.environ, TESSERA=str(CLI)),
                          capture_output=True).returncode == 1, "overwrote existing secrets"

    # The postgres image's side: its superuser password, then the init script.
    superuser = (secrets / "pg_superuser_password").read_text().strip()
    subprocess.run(["psql", cluster.admin_dsn, "-qc",
                    f"ALTER ROLE postgres PASSWORD '{superuser}'"], check=True)
    subprocess.run(["bash", str(SOURCE / "deploy/postgres/10-tessera-roles.sh")], check=True,
                   capture_output=True,
                   env=dict(os.environ, POSTGRES_USER="postgres", POSTGRES_DB="tessera",
                            PGHOST="127.0.0.1", PGPORT=str(pg_port), PGPASSWORD=superuser,
                            PG_ROLES_FILE=str(secrets / "pg_roles")))

    # The folders the runtime image makes for its volumes (deploy/docker/Dockerfile).
    for folder in ("mail-keys", "publisher", "portal", "operator"):
        (root / "state" / folder).mkdir(mode=0o700, parents=True)
    (root / "softhsm").mkdir()
    (root / "softhsm2.conf").write_text(f"directories.tokendir = {root / 'softhsm'}\n"
                                        "objectstore.backend = file\n")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TSR_")}
    ports = {}
    for name in list(SERVICES) + ["portal"]:
        if name != "portal":
            pgpass = (secrets / f"pgpass_{name}").read_text()
            target = root / f"pgpass_{name}"
            target.write_text(pgpass.replace("postgres:5432:", f"127.0.0.1:{pg_port}:"))
            target.chmod(0o600)
        config = root / f"{name}.env"
        config.write_text(rewrite((SOURCE / f"deploy/config/{name}.env").read_text(),
                                  root, base, pg_port, name))
        env = dict(environment, TSR_CONFIG_FILE=str(config),
                   SOFTHSM2_CONF=str(root / "softhsm2.conf"))
        binary = BUILD / "services" / name / f"tessera-{name}"
        log = open(root / f"{name}.log", "w")
        processes[name] = subprocess.Popen([str(binary)], env=env, stdout=log, stderr=log)
        ports[name] = (base + 209, "/healthz") if name == "portal" else \
                      (base + 200 + SERVICES[name], "/readyz")

    for name, (port, path) in ports.items():
        assert wait_healthy(port, path, processes[name]), \
            f"{name} never healthy:\n" + (root / f"{name}.log").read_text()[-3000:]

    # The operators' configuration reaches each service with the prepared keys.
    tools = root / "tools.env"
    text = rewrite((SOURCE / "deploy/config/tools.env").read_text(), root, base, pg_port, "tools")
    tools.write_text(text.replace(str(root / "state/operator"), str(root / "deploy/operator")))
    for name in SERVICES:
        ping = subprocess.run([str(CLI), "ping", name], capture_output=True, text=True, timeout=30,
                              env=dict(environment, TSR_CONFIG_FILE=str(tools)))
        assert ping.returncode == 0, f"ping {name}: {ping.stdout}{ping.stderr}"

    for name, process in processes.items():
        process.send_signal(signal.SIGTERM)
    for name, process in processes.items():
        assert process.wait(timeout=30) == 0, f"{name} did not stop cleanly"
