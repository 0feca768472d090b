"""Drives an XAPI endpoint with the official XenAPI.py and prints what it saw as JSON.

usage: xenapi_probe.py <url> <user> <password>
Run by test/hypervisor-agent/xapi-fidelity.test.ts against the emulator; every step is
what a XenAPI.py script does against a real host.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import XenAPI  # noqa: E402  (the official binding, beside this file)


def failure_of(fn):
    try:
        fn()
    except XenAPI.Failure as e:
        return e.details
    return None


def main(url, user, password):
    session = XenAPI.Session(url)
    session.xenapi.login_with_password(user, password, "1.0", "xenapi-probe")
    x = session.xenapi
    out = {}
    hosts = x.host.get_all_records()
    (host_ref, host), = hosts.items()
    out["host"] = {"software_version": host["software_version"], "API_version_major": host["API_version_major"],
                   "fields": sorted(host)}
    net = x.network.create({"other_config": {}})
    out["network"] = x.network.get_record(net)
    out["network_fields"] = sorted(out["network"])
    dom0 = [r for r, v in x.VM.get_all_records().items() if v["is_control_domain"]][0]
    vif = {"device": "0", "network": net, "VM": dom0, "MAC": "02:00:00:00:00:aa", "MTU": "1500",
           "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {}}
    no_mac = dict(vif)
    del no_mac["MAC"]
    out["vif_without_mac"] = failure_of(lambda: x.VIF.create(no_mac))
    out["vif_empty_mac"] = failure_of(lambda: x.VIF.create(dict(vif, MAC="")))
    vif_ref = x.VIF.create(vif)
    out["vif_fields"] = sorted(x.VIF.get_record(vif_ref))
    out["dom0_plug"] = failure_of(lambda: x.VIF.plug(vif_ref))
    out["attach"] = x.network.attach(net, host_ref)
    out["count_mismatch"] = failure_of(lambda: x.host.get_all("extra"))
    out["bad_handle"] = failure_of(lambda: x.network.get_record("OpaqueRef:nope"))
    out["unknown"] = failure_of(lambda: x.network.frobnicate(net))
    token = x.event.inject("pool", x.pool.get_all()[0])
    x.network.add_to_other_config(net, "probe", "1")
    out["duplicate_key"] = failure_of(lambda: x.network.add_to_other_config(net, "probe", "2"))
    events = getattr(x.event, "from")(["network"], token, 1.0)
    out["events"] = [{"class": e["class"], "operation": e["operation"], "ref": e["ref"]} for e in events["events"]]
    out["net_ref"] = net
    x.VIF.destroy(vif_ref)
    x.network.destroy(net)
    out["methods"] = session.system.listMethods()
    session.xenapi.session.logout()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(*sys.argv[1:4])
