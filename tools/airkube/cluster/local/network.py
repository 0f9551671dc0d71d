"""Host networking of the local cluster: the bridge, sysctls, guard rules, and the iptables cleanup plan.

Network rule of this workplace: the node lives on a bridge we create; pods may talk to each other, to the
node address and to Services, never through another interface. Guard chains (AIRKUBE-*) enforce that.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .layout import NetworkPlan

OUR_CHAIN_PREFIXES = ("KUBE-", "CNI-", "AIRKUBE-")
BUILTIN_CHAINS = {"INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"}
SYSCTLS = {
    "net/ipv4/ip_forward": "1",  # pod -> ClusterIP -> pod on the same bridge is routed by the node
    "net/bridge/bridge-nf-call-iptables": "1",  # kube-proxy DNAT for bridged pod traffic
}


class NetworkError(RuntimeError):
    pass


def run(argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise NetworkError(f"{' '.join(argv)} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result


# --- bridge ----------------------------------------------------------------------------------------------

def bridge_exists(net: NetworkPlan) -> bool:
    return Path(f"/sys/class/net/{net.bridge}").exists()


def ensure_bridge(net: NetworkPlan) -> None:
    if not bridge_exists(net):
        run(["ip", "link", "add", net.bridge, "type", "bridge"])
    addrs = run(["ip", "-o", "-4", "addr", "show", "dev", net.bridge]).stdout
    if str(net.node_cidr) not in addrs:
        run(["ip", "addr", "add", str(net.node_cidr), "dev", net.bridge])
    run(["ip", "link", "set", net.bridge, "up"])
    # Service IPs are only ever routed onto our bridge (before kube-proxy's DNAT exists, too): never via eth0.
    run(["ip", "route", "replace", str(net.service_cidr), "dev", net.bridge, "src", net.node_ip])


# While the bridge is up its own routes (metric 0) win; when it is gone (`cluster down`, deleted, never made) this
# route answers "no route to host" at once, so a stale kubeconfig's 10.88.0.1 never goes out via the default route.
UNREACHABLE_METRIC = 4242


def unreachable_routes(net: NetworkPlan) -> list[list[str]]:
    """`ip route` argv that keep the node/pod subnet and the Service range on this machine (pure; unit-tested)."""
    return [["ip", "route", "replace", "unreachable", str(cidr), "metric", str(UNREACHABLE_METRIC)]
            for cidr in (net.pod_cidr, net.service_cidr)]


def ensure_unreachable(net: NetworkPlan) -> None:
    """Install the fallback routes; idempotent, kept across `cluster down` on purpose."""
    for argv in unreachable_routes(net):
        run(argv)


def delete_bridge(net: NetworkPlan) -> bool:
    if not bridge_exists(net):
        return False
    run(["ip", "link", "delete", net.bridge], check=False)
    return True


def set_sysctls() -> dict[str, str]:
    """Apply SYSCTLS; returns the previous values."""
    previous = {}
    for key, value in SYSCTLS.items():
        path = Path("/proc/sys") / key
        if not path.exists():
            if key.startswith("net/bridge"):
                raise NetworkError(f"{path} is missing: the kernel has no br_netfilter; load it (modprobe "
                                   "br_netfilter) or use a kernel that has it built in")
            raise NetworkError(f"{path} is missing")
        previous[key] = path.read_text().strip()
        if previous[key] != value:
            path.write_text(value)
    return previous


def restore_sysctls(previous: dict[str, str]) -> None:
    for key, value in previous.items():
        path = Path("/proc/sys") / key
        if path.exists():
            path.write_text(value)


# --- guard rules -------------------------------------------------------------------------------------------

def guard_rules(net: NetworkPlan) -> dict[str, list[str]]:
    """filter-table rules per AIRKUBE-* chain (pure; unit-tested)."""
    br, node, pods = net.bridge, net.node_ip, str(net.pod_cidr)
    return {
        "AIRKUBE-FORWARD": [
            f"-i {br} ! -o {br} -m comment --comment airkube-no-egress -j DROP",
            f"! -i {br} -o {br} -m comment --comment airkube-no-ingress -j DROP",
        ],
        "AIRKUBE-INPUT": [
            f"-i {br} -d {node}/32 -j RETURN",
            f"-i {br} -m addrtype --dst-type LOCAL -m comment --comment airkube-node-ip-only -j DROP",
        ],
        "AIRKUBE-OUTPUT": [
            "-o lo -j RETURN",
            f"-o {br} -j RETURN",
            f"-s {pods} -m comment --comment airkube-bridge-only -j DROP",
        ],
    }


GUARD_HOOKS = {"AIRKUBE-FORWARD": "FORWARD", "AIRKUBE-INPUT": "INPUT", "AIRKUBE-OUTPUT": "OUTPUT"}
# The guard lives in filter AND in mangle. mangle runs before filter at every hook, and nothing else touches
# it here: the NetworkPolicy enforcer (kube-router) keeps its own jump at position 1 of filter INPUT/FORWARD/
# OUTPUT and ACCEPTs policy-compliant pod traffic there, which would otherwise skip the filter guard.
GUARD_TABLES = ("mangle", "filter")


def ensure_guard(net: NetworkPlan) -> None:
    for table in GUARD_TABLES:
        for chain, rules in guard_rules(net).items():
            if run(["iptables", "-w", "-t", table, "-n", "-L", chain], check=False).returncode != 0:
                run(["iptables", "-w", "-t", table, "-N", chain])
            run(["iptables", "-w", "-t", table, "-F", chain])
            for rule in rules:
                run(["iptables", "-w", "-t", table, "-A", chain, *shlex.split(rule)])
            hook = GUARD_HOOKS[chain]
            if run(["iptables", "-w", "-t", table, "-C", hook, "-j", chain], check=False).returncode != 0:
                run(["iptables", "-w", "-t", table, "-I", hook, "1", "-j", chain])


def chain_exists(chain: str, table: str = "filter") -> bool:
    return run(["iptables", "-w", "-t", table, "-n", "-L", chain], check=False).returncode == 0


# --- ipsets (the NetworkPolicy enforcer's) -------------------------------------------------------------------

IPSET_PREFIXES = ("KUBE-", "inet6:KUBE-", "kube-router")


def ipsets_to_destroy(names: list[str]) -> list[str]:
    """The sets kube-router's policy controller creates (pure): KUBE-SRC-…, KUBE-DST-…"""
    return [name for name in names if name.startswith(IPSET_PREFIXES)]


def cleanup_ipsets() -> list[str]:
    """Destroy the enforcer's ipsets (after the iptables rules that reference them are gone)."""
    if run(["which", "ipset"], check=False).returncode != 0:
        return []
    listed = run(["ipset", "list", "-n"], check=False)
    if listed.returncode != 0:
        return []
    destroyed = []
    for name in ipsets_to_destroy(listed.stdout.split()):
        if run(["ipset", "destroy", name], check=False).returncode == 0:
            destroyed.append(name)
    return destroyed


# --- cleanup plan ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IptablesCommand:
    table: str
    args: tuple[str, ...]

    def argv(self, binary: str) -> list[str]:
        return [binary, "-w", "-t", self.table, *self.args]


def _ours(chain: str) -> bool:
    return chain.startswith(OUR_CHAIN_PREFIXES)


def cleanup_plan(save_output: str) -> list[IptablesCommand]:
    """From `iptables-save` text: delete every rule that lives in or jumps to one of our chains, then flush
    and delete our chains. Rules of other software in the built-in chains are left untouched (pure)."""
    deletes: list[IptablesCommand] = []
    flushes: list[IptablesCommand] = []
    removes: list[IptablesCommand] = []
    table = ""
    for line in save_output.splitlines():
        line = line.strip()
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":"):
            chain = line[1:].split()[0]
            if _ours(chain):
                flushes.append(IptablesCommand(table, ("-F", chain)))
                removes.append(IptablesCommand(table, ("-X", chain)))
        elif line.startswith("-A "):
            words = shlex.split(line)
            chain = words[1]
            if _ours(chain):
                continue  # goes away with the flush
            target = None
            for flag in ("-j", "-g"):
                if flag in words:
                    target = words[words.index(flag) + 1]
            if target and _ours(target):
                deletes.append(IptablesCommand(table, ("-D", *words[1:])))
    return deletes + flushes + removes


def iptables_binaries() -> list[str]:
    return [b for b in ("iptables", "ip6tables") if run(["which", b], check=False).returncode == 0]


def cleanup_iptables() -> list[str]:
    """Apply the cleanup plan to iptables and ip6tables; returns the chains removed."""
    removed: list[str] = []
    for binary in iptables_binaries():
        save = run([f"{binary}-save"], check=False)
        if save.returncode != 0:
            continue
        for command in cleanup_plan(save.stdout):
            result = run(command.argv(binary), check=False)
            if command.args[0] == "-X" and result.returncode == 0:
                removed.append(f"{binary}/{command.table}/{command.args[1]}")
    return removed


def leftover_chains() -> list[str]:
    found = []
    for binary in iptables_binaries():
        save = run([f"{binary}-save"], check=False)
        table = ""
        for line in save.stdout.splitlines():
            if line.startswith("*"):
                table = line[1:]
            elif line.startswith(":") and _ours(line[1:].split()[0]):
                found.append(f"{binary}/{table}/{line[1:].split()[0]}")
    return found


def check_iptables() -> str:
    """Make sure iptables works here (Debian: nf_tables backend); returns its version line."""
    result = run(["iptables", "--version"], check=False)
    if result.returncode != 0:
        raise NetworkError("iptables is not usable: install it (apt-get install iptables)")
    probe = "AIRKUBE-PROBE"
    run(["iptables", "-t", "filter", "-N", probe], check=False)
    ok = run(["iptables", "-t", "filter", "-A", probe, "-m", "addrtype", "--dst-type", "LOCAL", "-j", "RETURN"],
             check=False)
    run(["iptables", "-t", "filter", "-F", probe], check=False)
    run(["iptables", "-t", "filter", "-X", probe], check=False)
    if ok.returncode != 0:
        raise NetworkError(f"iptables cannot add rules here: {ok.stderr.strip()}")
    return result.stdout.strip()
