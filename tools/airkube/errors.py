"""Every error the toolkit raises on purpose, under one base (`AirkubeError`), caught once in `airkube.cli.main`.

The message of each error is what the user reads: name the bad key, file or object, and the fix. ``exit_code``
is 2 for bad input (a values file, an option, a duration) and 1 for everything that went wrong while working.
Set ``AIRKUBE_DEBUG=1`` to see the traceback too.
"""

from __future__ import annotations


class AirkubeError(Exception):
    """Base of every toolkit error."""

    exit_code = 1


# ---- bad input: exit code 2 -------------------------------------------------------------------------------
class ConfigError(AirkubeError):
    """Bad input given to airkube: an option, a duration, a kubeconfig, a file that should exist."""

    exit_code = 2


class ValuesError(ConfigError):
    """A values file or a --set assignment that is unreadable or breaks the schema or a rule (exit 1: invalid)."""

    exit_code = 1


class EditError(ValuesError):
    """`airkube values set|unset` refused an edit (the file is left unchanged)."""


class OptionsError(ConfigError):
    """Contradicting or missing options of `airkube values generate`."""


class ChartNotFound(ConfigError, FileNotFoundError):
    """The chart directory (or its values.yaml / schema) is missing."""


# ---- Kubernetes, helm, waiting ----------------------------------------------------------------------------
class KubeError(AirkubeError):
    """The Kubernetes API refused or could not be reached; an object the toolkit needs is missing."""


class PortForwardError(KubeError):
    """`kubectl port-forward` is missing or did not come up."""


class WaitTimeout(KubeError, TimeoutError):
    """A condition polled with `airkube.kube.poll_until` did not hold in time."""


class HelmError(AirkubeError):
    """helm failed (render, install, uninstall, status); the message carries helm's own stderr."""


class ReleaseError(AirkubeError):
    """A release could not be installed or did not become ready."""


# ---- clusters and images ----------------------------------------------------------------------------------
class ClusterError(AirkubeError):
    """A cluster provider could not create, delete or report its cluster."""


class NetworkError(ClusterError):
    """The local cluster's bridge, routes or NAT rules could not be set up."""


class ImageBuildError(AirkubeError):
    """An OCI image could not be built."""


class HostToolMissing(ImageBuildError):
    """A host tool an image build needs (mount, overlayfs, ...) is missing."""


# ---- what runs on the cluster -----------------------------------------------------------------------------
class SmokeError(AirkubeError):
    """The smoke run could not start, or a smoke DAG failed."""


SmokeFailure = SmokeError


class AirflowAPIError(SmokeError):
    """The Airflow REST API answered an error status (``status``, ``body``) or could not be reached."""

    def __init__(self, message: str, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class GitServerError(SmokeError):
    """The in-cluster git server of the git-sync smoke test failed."""


class DagsPushError(AirkubeError):
    """`airkube dags push` could not deliver the DAG files."""


class DeployError(AirkubeError):
    """A step of `airkube deploy` failed; the message names the step."""


class BenchError(AirkubeError):
    """A benchmark could not run (bad option, a release that never became ready, a run that did not succeed)."""


class MigrationError(AirkubeError):
    """`airkube migrate-dag` cannot convert a construct faithfully; the message names the line and the fix."""
