"""What the router program keeps between runs (STATE_DIR): the applied generation, its
hash, the addresses it added and the configuration, written atomically."""

import hashlib
import json
import os
import tempfile

STATE_DIR = os.environ.get("SDN_ROUTER_STATE_DIR", "/var/lib/sdn-router")


def state_file(name):
    return os.path.join(STATE_DIR, name)


def load_state():
    try:
        with open(state_file("state.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return {"generation": 0, "hash": None, "addresses": [], "summary": {}}


def write_atomic(path, text, mode=0o600):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def config_hash(cfg):
    body = {k: v for k, v in cfg.items() if k != "generation"}
    return "sha256:" + hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def summary(cfg):
    return {
        "publicAddresses": len(cfg["public"].get("addresses") or []),
        "networks": len(cfg.get("networks") or []),
        "staticNats": len(cfg.get("staticNats") or []),
        "portForwards": len(cfg.get("portForwards") or []),
        "firewallRules": len(cfg.get("firewallRules") or []),
        "egressRules": sum(len((n.get("egress") or {}).get("rules") or []) for n in cfg.get("networks") or []),
        "loadBalancers": len(cfg.get("loadBalancers") or []),
        "interNetworkRoutes": len(cfg.get("interNetworkRoutes") or []),
    }
