#!/usr/bin/env python3
"""The public contract, exercised by a client relais did not write.

Python's pyzmq and the classes protoc generates from proto/relais.proto
(nothing of relais's C code): a DEALER sends one-frame Envelopes to a real
broker process and checks the replies against PROTOCOL.md.  As in
production, the broker runs CurveZMQ: the keys are made here with
zmq.curve_keypair(), the broker's written as relais-keygen would, and every
DEALER is a CURVE client with the key of the identity it speaks for.

Usage: test_contract.py BROKER_BINARY PROTO_DIR
Prints 'N passed, M failed' and exits non-zero on any failure.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import zmq

broker_bin, proto_dir = sys.argv[1], sys.argv[2]
work = tempfile.mkdtemp(prefix="relais-contract-")
subprocess.run(["protoc", f"--proto_path={proto_dir}", f"--python_out={work}",
                os.path.join(proto_dir, "relais.proto")], check=True)
sys.path.insert(0, work)
import relais_pb2 as pb  # noqa: E402

def free_port():
    """A port the kernel says is free now (the broker binds it right after)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


partner_ep = f"tcp://127.0.0.1:{free_port()}"
coord_ep = f"tcp://127.0.0.1:{free_port()}"
env = dict(os.environ, RELAIS_NOW="2026-11-20")

# Keys: the broker's pair in relais-keygen's format (mode 0600), one pair
# per identity used below, listed in the authorized-keys file.
broker_public, broker_secret = zmq.curve_keypair()
broker_key = os.path.join(work, "broker.key")
fd = os.open(broker_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, b"public-key " + broker_public + b"\nsecret-key " + broker_secret + b"\n")
os.close(fd)
keys = {}
authorized = os.path.join(work, "authorized_keys")
with open(authorized, "w") as f:
    for role, ident in [("partner", "mission-locale"), ("partner", "ccas"),
                        ("coordinator", "mdq-clairs-soleils")]:
        keys[ident] = zmq.curve_keypair()
        f.write(f"{role} {ident} {keys[ident][0].decode()}\n")
    stranger = zmq.curve_keypair()  # listed nowhere

log = open(os.path.join(work, "broker.log"), "w")
broker = subprocess.Popen([broker_bin, "--data", os.path.join(work, "data"),
                           "--partner-endpoint", partner_ep,
                           "--coordinator-endpoint", coord_ep,
                           "--secret-key", broker_key, "--keys", authorized],
                          stderr=log, env=env)
ctx = zmq.Context()
passed = failed = 0


def dealer(endpoint, identity):
    """A DEALER that does the Curve handshake as IDENTITY (a keys entry,
    or a (public, secret) pair)."""
    public, secret = keys[identity] if isinstance(identity, str) else identity
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.curve_serverkey = broker_public
    s.curve_publickey = public
    s.curve_secretkey = secret
    s.connect(endpoint)
    return s


def call(endpoint, envelope, timeout_ms=5000, identity=None):
    s = dealer(endpoint, identity or envelope.sender)
    s.send(envelope.SerializeToString())
    if not s.poll(timeout_ms):
        s.close()
        return None
    frames = s.recv_multipart()
    s.close()
    assert len(frames) == 1, f"reply of {len(frames)} frames"
    reply = pb.Envelope()
    reply.ParseFromString(frames[0])
    return reply


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def referral(ref, last, first, birth, quartier, sender="mission-locale"):
    e = pb.Envelope(version=1, request_id=str(uuid.uuid4()), sender=sender)
    r = e.referral
    r.partner_ref = ref
    r.person.last_name = last
    r.person.first_names = first
    r.person.birth_date = birth
    r.person.postcode = "25000"
    r.person.quartier = quartier
    r.consent = True
    r.needs.extend([pb.NEED_HOUSING, pb.NEED_TRAINING])
    r.referred_on = "2026-11-16"
    return e


try:
    for _ in range(100):
        probe = pb.Envelope(version=1, request_id="probe", sender="mission-locale")
        probe.fetch_events.after_seq = 0
        if call(partner_ep, probe, 200) is not None:
            break
    else:
        raise SystemExit("broker did not come up")

    req = referral("PY-1", "N'Diaye", "Léa-Marie", "2004-05-06", "Clairs-Soleils")
    rep = call(partner_ep, req)
    check("reply", rep is not None)
    check("request_id echoed", rep.request_id == req.request_id)
    check("ack body", rep.WhichOneof("body") == "ack")
    check("accepted", rep.ack.status == pb.ACK_ACCEPTED, str(rep.ack))
    check("routed", rep.ack.structure_id == "mdq-clairs-soleils", rep.ack.structure_id)
    case_id = rep.ack.case_id

    dup = referral("ASQ-9", "NDIAYE", "LEA MARIE", "2004-05-06", "Clairs-Soleils", "ccas")
    dup.referral.person.last_name = "N'DIAYE"
    rep = call(partner_ep, dup)
    check("merged", rep.ack.status == pb.ACK_MERGED and rep.ack.case_id == case_id, str(rep.ack))

    rep = call(partner_ep, req)
    check("replay", rep.ack.replay and rep.ack.case_id == case_id)

    bad = referral("PY-2", "", "X", "2003-02-30", "Centre")
    rep = call(partner_ep, bad)
    codes = {r.code for r in rep.ack.reasons}
    check("invalid", rep.ack.status == pb.ACK_INVALID and {"missing_field", "bad_date"} <= codes,
          str(codes))

    old = referral("PY-3", "Ancien", "Marc", "1995-01-01", "Centre")
    rep = call(partner_ep, old)
    check("ineligible", rep.ack.status == pb.ACK_INELIGIBLE
          and "too_old" in {r.code for r in rep.ack.reasons})

    s = dealer(partner_ep, "mission-locale")
    s.send(b"\x08\x01\x12garbage-not-protobuf\xff")
    ok = s.poll(5000)
    e = pb.Envelope()
    if ok:
        e.ParseFromString(s.recv())
    check("garbage -> Error", ok and e.WhichOneof("body") == "error", str(e))
    s.close()

    fc = pb.Envelope(version=1, request_id="c1", sender="mdq-clairs-soleils")
    fc.fetch_cases.structure_id = "mdq-clairs-soleils"
    rep = call(coord_ep, fc)
    check("cases", rep.WhichOneof("body") == "cases" and len(rep.cases.cases) == 1)
    if rep.cases.cases:
        cv = rep.cases.cases[0]
        check("case view", cv.case_id == case_id and cv.person.first_names == "Léa-Marie"
              and set(cv.referred_by) == {"mission-locale", "ccas"}, str(cv))

    act = pb.Envelope(version=1, request_id="a1", sender="mdq-clairs-soleils")
    act.case_action.case_id = case_id
    act.case_action.kind = pb.ACTION_ACCEPT
    rep = call(coord_ep, act)
    check("accept", rep.action_result.ok and rep.action_result.state == pb.CASE_ACCEPTED)

    fe = pb.Envelope(version=1, request_id="e1", sender="ccas")
    fe.fetch_events.after_seq = 0
    rep = call(partner_ep, fe)
    states = [ev.state for ev in rep.events.events]
    seqs = [ev.seq for ev in rep.events.events]
    check("ccas feed", states == [pb.CASE_ROUTED, pb.CASE_ACCEPTED] and seqs == [1, 2],
          f"{states} {seqs}")

    # The key decides who is asking: ccas's key speaking as mission-locale
    # is refused; a key listed nowhere gets no answer at all.
    spoof = pb.Envelope(version=1, request_id="s1", sender="mission-locale")
    spoof.fetch_events.after_seq = 0
    rep = call(partner_ep, spoof, identity="ccas")
    check("spoofed sender -> forbidden", rep.WhichOneof("body") == "error"
          and rep.error.code == "forbidden", str(rep))
    rep = call(partner_ep, spoof, timeout_ms=1000, identity=stranger)
    check("unknown key -> no answer", rep is None, str(rep))
finally:
    broker.send_signal(signal.SIGTERM)
    code = broker.wait(timeout=10)
    check("clean stop", code == 0, f"exit {code}")
    ctx.term()
    shutil.rmtree(work, ignore_errors=True)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
