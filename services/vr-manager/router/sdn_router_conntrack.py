"""Cutting the connections a new configuration revoked: once a generation is in force, the
flows tracked under the previous rules are deleted (`conntrack -D`) where the change took
something away. The filter accepts ESTABLISHED traffic first, so without that a revoked
forward, firewall or egress rule would leave open flows working. A change that only grants
cuts nothing. Which flows is decided by conntrack_filters (pure)."""

import re
import shutil
import subprocess

import sdn_router_system as system


def _ingress_by_ip(cfg):
    """Per public IP, the rules that decide what reaches it from outside (None: not ours)."""
    return {
        a["ip"]: {
            kind: [r for r in cfg.get(kind) or [] if r["publicIp"] == a["ip"]]
            for kind in ("staticNats", "portForwards", "firewallRules")
        }
        for a in cfg["public"].get("addresses") or []
    }


def _egress_by_network(cfg):
    """Per network id, what decides its outbound traffic: its policy and source NAT address."""
    return {
        n["id"]: {"cidr": n["cidr"], "egress": n.get("egress") or {}, "sourceNatIp": n.get("sourceNatIp")}
        for n in cfg.get("networks") or []
    }


def _removed(old_rules, new_rules):
    """Whether a rule of `old_rules` is not in `new_rules` (gone, or changed)."""
    return any(r not in new_rules for r in old_rules)


def _ingress_narrowed(old, new):
    """Whether a public IP's inbound rules lost something. They only grant (default deny), so additions revoke nothing."""
    if new is None:
        return True
    return any(_removed(old[kind], new[kind]) for kind in old)


def _egress_narrowed(old, new):
    """Whether a network's outbound traffic may have lost something it had."""
    if new is None or old["cidr"] != new["cidr"] or old["sourceNatIp"] != new["sourceNatIp"]:
        return True
    policy_old = old["egress"].get("default", "allow")
    policy_new = new["egress"].get("default", "allow")
    rules_old = old["egress"].get("rules") or []
    rules_new = new["egress"].get("rules") or []
    if policy_old != policy_new:
        # allow -> deny narrows; deny -> allow widens unless the rules (now denials) deny something.
        return policy_new == "deny" or bool(rules_new)
    if policy_new == "allow":  # the rules deny: a new one narrows
        return _removed(rules_new, rules_old)
    return _removed(rules_old, rules_new)  # the rules allow: a lost one narrows


def conntrack_filters(old, new):
    """
    `conntrack -D` filters for the flows the change from `old` to `new` revoked: inbound to
    each public IP that lost a NAT or firewall rule, outbound from each network whose egress
    narrowed or whose source NAT moved and from each VM that lost its static NAT, and both
    ways between networks no longer routed with each other. A change that only grants cuts
    nothing: a cut flow the rules still allow is picked up again only when its initiator
    sends next (a download, where the far side sends, would break), so flows are cut only
    where something was taken away.
    """
    filters = []
    ingress_old, ingress_new = _ingress_by_ip(old), _ingress_by_ip(new)
    for ip in sorted(ingress_old):
        if _ingress_narrowed(ingress_old[ip], ingress_new.get(ip)):
            filters.append(["--orig-dst", ip])
    egress_old, egress_new = _egress_by_network(old), _egress_by_network(new)
    for nid in sorted(egress_old):
        if _egress_narrowed(egress_old[nid], egress_new.get(nid)):
            filters.append(["--orig-src", egress_old[nid]["cidr"]])
    nat_old = {(s["publicIp"], s["privateIp"]) for s in old.get("staticNats") or []}
    nat_new = {(s["publicIp"], s["privateIp"]) for s in new.get("staticNats") or []}
    for private in sorted({p for _, p in nat_old - nat_new}):
        filters.append(["--orig-src", private])
    routes_new = {frozenset(pair) for pair in new.get("interNetworkRoutes") or []}
    for a, b in old.get("interNetworkRoutes") or []:
        if frozenset((a, b)) not in routes_new:
            filters += [
                ["--orig-src", egress_old[a]["cidr"], "--orig-dst", egress_old[b]["cidr"]],
                ["--orig-src", egress_old[b]["cidr"], "--orig-dst", egress_old[a]["cidr"]],
            ]
    unique = []
    for f in filters:
        if f not in unique:
            unique.append(f)
    return unique


DELETED_RE = re.compile(r"(\d+) flow entries have been deleted")


def cut_connections(filters):
    """Deletes the tracked flows the filters match; (flows deleted, warnings). Never raises."""
    if not filters:
        return 0, []
    if shutil.which("conntrack") is None:
        return 0, [
            "conntrack is not installed on the router (Debian package conntrack): "
            "connections opened under the previous rules were not cut"
        ]
    deleted, warnings = 0, []
    for f in filters:
        try:
            p = system.run(["conntrack", "-D", "-f", "ipv4"] + f, check=False)
        except (OSError, subprocess.SubprocessError) as e:
            warnings.append("conntrack -D %s failed: %s" % (" ".join(f), e))
            continue
        counted = DELETED_RE.search(p.stderr or "")
        # Exit 1 with "0 flow entries have been deleted" is conntrack's way of saying none matched.
        if counted is None or (p.returncode != 0 and counted.group(1) != "0"):
            warnings.append("conntrack -D %s exited with %d: %s" % (" ".join(f), p.returncode, system.tail(p)))
            continue
        deleted += int(counted.group(1))
    return deleted, warnings
