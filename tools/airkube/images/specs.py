"""What each image is: reference, pinned versions, Debian packages, runtime config. No build logic here."""

from __future__ import annotations

from dataclasses import dataclass, field

from airkube.images.oci import ImageConfig

REGISTRY = "airkube.local"
DEBIAN_SUITE = "trixie"  # Python 3.13 (supported by apache-airflow 3.3.2), postgresql-17
BASE_PACKAGES = ("ca-certificates", "netbase")
STD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

AIRFLOW_VERSION = "3.3.2"
AIRFLOW_PYPI = (
    f"apache-airflow=={AIRFLOW_VERSION}",
    "apache-airflow-providers-cncf-kubernetes==10.25.0",
    "apache-airflow-providers-postgres==7.1.1",
    "apache-airflow-providers-amazon==9.39.0",
    "apache-airflow-providers-git==1.0.1",  # GitDagBundle (dags.bundles): git + openssh-client below
    "psycopg2-binary==2.9.13",
    "statsd==4.0.1",  # apache-airflow[statsd]: without it metrics.enabled logs "No module named 'statsd'" and sends nothing
)
# apache-airflow-providers-google is installed with --no-deps plus only what GCS remote logging (and the
# secret-manager import of the base hook) needs: its full dependency set pulls Vertex AI / ray / pandas /
# pyarrow / scikit-learn (+1.5 GB). Pins are the versions pip resolved with the full provider installed.
AIRFLOW_GOOGLE_NODEPS = "apache-airflow-providers-google==22.8.0"
AIRFLOW_GOOGLE_GCS_DEPS = (
    "gcloud-aio-auth==5.6.0", "gcloud-aio-bigquery==7.3.0", "gcloud-aio-storage==9.6.5",
    "google-api-core==2.44.0", "google-api-python-client==2.202.0", "google-auth==2.63.0",
    "google-auth-httplib2==0.4.4", "google-cloud-core==2.8.0", "google-cloud-secret-manager==2.32.0",
    "google-cloud-storage==3.17.1", "google-crc32c==1.9.0", "google-resumable-media==2.11.0",
    "googleapis-common-protos==1.76.0", "grpc-google-iam-v1==0.14.6", "grpcio==1.85.3", "grpcio-status==1.85.3",
    "httplib2==0.32.1", "proto-plus==1.29.0", "protobuf==7.36.2", "uritemplate==4.2.0",
)

FAKE_GCS_VERSION = "v1.56.1"
# The metrics stack: binaries from scripts/build-go.sh statsd-exporter / prometheus (same versions there)
STATSD_EXPORTER_VERSION = "v0.31.0"
PROMETHEUS_VERSION = "v0.316.0"  # Go module version of Prometheus 3.16.0
TRAEFIK_VERSION = "v3.7.13"  # scripts/build-go.sh traefik (same version there)
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"  # github.com/minio/minio has no semver tags


@dataclass
class ImageSpec:
    """One image. `ref` is the full reference containerd stores it under (never `:latest`)."""

    name: str
    ref: str
    description: str
    builder: str  # function name in airkube.images.builders
    inputs: tuple[str, ...] = ()  # repo-relative files/dirs whose contents key the cache
    debian: bool = False  # built on the shared Debian base layer
    packages: tuple[str, ...] = ()  # Debian packages added on top of the base
    versions: dict[str, str] = field(default_factory=dict)
    config: ImageConfig = field(default_factory=ImageConfig)
    default: bool = True  # built by `build_images()` / `airkube images build` without names

    @property
    def tag(self) -> str:
        return self.ref.rsplit(":", 1)[1]

    def key_material(self) -> dict:
        return {"ref": self.ref, "builder": self.builder, "inputs": list(self.inputs), "debian": self.debian,
                "suite": DEBIAN_SUITE if self.debian else None,
                "base_packages": list(BASE_PACKAGES) if self.debian else None,
                "packages": list(self.packages), "versions": self.versions, "config": self.config.to_json()}


def _specs() -> dict[str, ImageSpec]:
    specs = [
        ImageSpec(
            name="pause", ref=f"{REGISTRY}/pause:3.10",
            description="pod sandbox: static C binary that sleeps and reaps zombies (single layer)",
            builder="build_pause", inputs=("scripts/images/pause",),
            config=ImageConfig(entrypoint=["/pause"], user="65535:65535"),
        ),
        ImageSpec(
            name="coredns", ref=f"{REGISTRY}/coredns:1.14.7",
            description="CoreDNS v1.14.7 static binary (scripts/build-go.sh coredns) + /etc/passwd",
            builder="build_coredns", inputs=("scripts/build-go.sh",), versions={"coredns": "v1.14.7"},
            config=ImageConfig(entrypoint=["/coredns"], exposed_ports=["53/tcp", "53/udp"],
                               env={"PATH": STD_PATH}),
        ),
        ImageSpec(
            name="bash", ref=f"{REGISTRY}/bash:5.2",
            description=f"Debian {DEBIAN_SUITE} minbase (bash, coreutils): KubernetesPodOperator smoke tasks",
            builder="build_bash", debian=True,
            config=ImageConfig(cmd=["bash"], env={"PATH": STD_PATH, "LANG": "C.UTF-8"}),
        ),
        ImageSpec(
            name="airflow", ref=f"{REGISTRY}/airflow:{AIRFLOW_VERSION}",
            description="Apache Airflow 3.3.2 + providers (cncf.kubernetes, postgres, amazon, google, git), "
                        "laid out like apache/airflow (uid 50000, AIRFLOW_HOME=/opt/airflow)",
            builder="build_airflow", debian=True, inputs=("scripts/images/airflow",),
            packages=("python3", "python3-venv", "dumb-init", "libpq5", "procps", "tini", "git", "openssh-client"),
            versions={"pypi": " ".join(AIRFLOW_PYPI), "google-nodeps": AIRFLOW_GOOGLE_NODEPS,
                      "google-gcs-deps": " ".join(AIRFLOW_GOOGLE_GCS_DEPS)},
            config=ImageConfig(
                entrypoint=["/usr/bin/dumb-init", "--", "/entrypoint"], cmd=[],
                env={
                    "PATH": f"/home/airflow/.local/bin:{STD_PATH}",
                    "AIRFLOW_HOME": "/opt/airflow", "AIRFLOW_USER_HOME_DIR": "/home/airflow",
                    "AIRFLOW_UID": "50000", "AIRFLOW_VERSION": AIRFLOW_VERSION,
                    "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONUNBUFFERED": "1",
                    "DUMB_INIT_SETSID": "1", "PIP_NO_CACHE_DIR": "1",
                },
                user="50000", workdir="/opt/airflow", exposed_ports=["8080/tcp"],
            ),
        ),
        ImageSpec(
            name="postgres", ref=f"{REGISTRY}/postgres:17",
            description="Debian postgresql-17 with an entrypoint compatible with the official image",
            builder="build_postgres", debian=True, inputs=("scripts/images/postgres",),
            packages=("postgresql-17", "postgresql-client-17"),
            versions={"postgresql": "17"},
            config=ImageConfig(
                entrypoint=["docker-entrypoint.sh"], cmd=["postgres"],
                env={"PATH": f"/usr/lib/postgresql/17/bin:{STD_PATH}", "PG_MAJOR": "17",
                     "PGDATA": "/var/lib/postgresql/data", "LANG": "C.UTF-8"},
                user="999:999", exposed_ports=["5432/tcp"], stop_signal="SIGINT",
            ),
        ),
        ImageSpec(
            name="git-sync", ref=f"{REGISTRY}/git-sync:v4.4.2",
            description="git-sync v4-compatible replacement (Go, scripts/images/git-sync) + git, ssh, "
                        "git daemon / http-backend, and sshd for the in-cluster git server's ssh:// (tests)",
            builder="build_git_sync", debian=True, inputs=("scripts/images/git-sync",),
            packages=("git", "openssh-client", "openssh-server"),
            versions={"git-sync-compat": "v4.4.2"},
            config=ImageConfig(entrypoint=["/git-sync"], env={"PATH": STD_PATH, "HOME": "/tmp"},
                               user="65533:65533"),
        ),
        ImageSpec(
            name="statsd-exporter", ref=f"{REGISTRY}/statsd-exporter:{STATSD_EXPORTER_VERSION}",
            description="prometheus/statsd_exporter static binary (scripts/build-go.sh statsd-exporter): the chart's "
                        "metrics.enabled exporter",
            builder="build_statsd_exporter", inputs=("scripts/build-go.sh",), default=False,
            versions={"statsd-exporter": STATSD_EXPORTER_VERSION},
            config=ImageConfig(entrypoint=["/bin/statsd_exporter"], exposed_ports=["9102/tcp", "9125/udp"],
                               env={"PATH": STD_PATH}, user="65534:65534"),
        ),
        ImageSpec(
            name="prometheus", ref=f"{REGISTRY}/prometheus:{PROMETHEUS_VERSION}",
            description="Prometheus 3.16 (scripts/build-go.sh prometheus: no SD plugins, no UI assets) for the "
                        "metrics e2e test",
            builder="build_prometheus", inputs=("scripts/build-go.sh",), default=False,
            versions={"prometheus": PROMETHEUS_VERSION},
            config=ImageConfig(entrypoint=["/bin/prometheus"], exposed_ports=["9090/tcp"],
                               env={"PATH": STD_PATH}, user="65534:65534", workdir="/prometheus"),
        ),
        ImageSpec(
            name="traefik", ref=f"{REGISTRY}/traefik:{TRAEFIK_VERSION}",
            description="Traefik v3.7 static binary (scripts/build-go.sh traefik: no dashboard assets, no DNS-01 "
                        "providers): ingress controller + Gateway API of tests/e2e/test_ingress_browser.py",
            builder="build_traefik", inputs=("scripts/build-go.sh", "scripts/build/traefik-ext"), default=False,
            versions={"traefik": TRAEFIK_VERSION},
            config=ImageConfig(entrypoint=["/bin/traefik"], exposed_ports=["8000/tcp", "9000/tcp"],
                               env={"PATH": STD_PATH}, user="65532:65532"),
        ),
        ImageSpec(
            name="fake-gcs-server", ref=f"{REGISTRY}/fake-gcs-server:{FAKE_GCS_VERSION}",
            description="fake-gcs-server (Go module github.com/fsouza/fake-gcs-server) for GCS remote-logging tests",
            builder="build_fake_gcs_server", versions={"fake-gcs-server": FAKE_GCS_VERSION}, default=False,
            config=ImageConfig(entrypoint=["/bin/fake-gcs-server", "-data", "/data"], exposed_ports=["4443/tcp"],
                               env={"PATH": STD_PATH}),
        ),
        ImageSpec(
            name="minio", ref=f"{REGISTRY}/minio:{MINIO_VERSION}",
            description="MinIO server (Go module github.com/minio/minio, pseudo-version pinned) for S3 log tests",
            builder="build_minio", versions={"minio": MINIO_VERSION}, default=False,
            config=ImageConfig(entrypoint=["/usr/bin/minio"], cmd=["server", "/data"],
                               exposed_ports=["9000/tcp", "9001/tcp"],
                               env={"PATH": STD_PATH}),
        ),
    ]
    return {s.name: s for s in specs}


# --- Object-storage emulators for the remote-logging e2e tests (tests/e2e/test_logs_remote.py) -----------------
# Python servers from PyPI (a MinIO / fake-gcs-server Go build costs many minutes on 2 cores). Sources and the
# launcher live in scripts/images/emulators; builder: build_emulator. On demand (default=False): the e2e fixture
# builds and loads them. Why not fake-gcs-server for the logs test: it answers a missing object with the body
# "Not Found", and the google provider (22.8) only uploads a task's first log when the 404 says "No such object".
# moto[s3] + the server's web stack only: moto[server] pulls every service's deps (cfn-lint, docker, ...; 400 MB image)
S3_EMULATOR_PYPI = ("moto[s3]==5.2.5", "flask==3.1.3", "flask-cors==6.0.5")
GCS_EMULATOR_PYPI = ("gcp-storage-emulator==2026.7.19",)
EMULATOR_VENV = "/opt/emulator"


def _emulator_specs() -> dict[str, ImageSpec]:
    env = {"PATH": f"{EMULATOR_VENV}/bin:{STD_PATH}", "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp"}
    specs = [
        ImageSpec(
            name="s3-emulator", ref=f"{REGISTRY}/s3-emulator:5.2.5",
            description="S3-compatible server for tests: moto 5.2.5 server, S3 only (in memory, any access key)",
            builder="build_emulator", debian=True, inputs=("scripts/images/emulators",), default=False,
            packages=("python3", "python3-venv"), versions={"pypi": " ".join(S3_EMULATOR_PYPI)},
            config=ImageConfig(entrypoint=[f"{EMULATOR_VENV}/bin/moto_server"], cmd=["-H", "0.0.0.0", "-p", "9000"],
                               env=env, user="65532:65532", exposed_ports=["9000/tcp"]),
        ),
        ImageSpec(
            name="gcs-emulator", ref=f"{REGISTRY}/gcs-emulator:2026.7.19",
            description="GCS JSON-API emulator for tests: gcp-storage-emulator 2026.7.19 + GCS-faithful 404s "
                        "(scripts/images/emulators/gcs_emulator.py)",
            builder="build_emulator", debian=True, inputs=("scripts/images/emulators",), default=False,
            packages=("python3", "python3-venv"), versions={"pypi": " ".join(GCS_EMULATOR_PYPI)},
            config=ImageConfig(entrypoint=[f"{EMULATOR_VENV}/bin/python", "/opt/emulators/gcs_emulator.py"],
                               cmd=["--host", "0.0.0.0", "--port", "4443"],
                               env=env, user="65532:65532", exposed_ports=["4443/tcp"]),
        ),
    ]
    return {s.name: s for s in specs}


IMAGES: dict[str, ImageSpec] = {**_specs(), **_emulator_specs()}
