#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/.

Seeds give libFuzzer a head start: inputs that already reach deep into the
code, which it then mutates.  They are committed (small: a few KB) and
regenerated only when this script changes; the fuzz runs work on a copy
(tests/fuzz/run.sh) so the committed corpus never grows by itself.

  envelope/  serialized relais.v1.Envelope requests (classes protoc
             generates from proto/relais.proto: nothing of relais's C code)
             and "structured" inputs (first byte 0x00; layout in
             fuzz_envelope.c)
  csv/       partner CSV files: the head of deploy/samples/referrals.csv and
             hand-written oddities
  config/    deploy/relais.conf and variants

Usage: tests/fuzz/make_corpus.py   (python3 with python3-protobuf, protoc)
"""
import os
import shutil
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.normpath(os.path.join(here, "..", ".."))
corpus = os.path.join(here, "corpus")

work = tempfile.mkdtemp(prefix="relais-corpus-")
subprocess.run(["protoc", f"--proto_path={root}/proto", f"--python_out={work}",
                "relais.proto"], check=True)
sys.path.insert(0, work)
import relais_pb2 as pb  # noqa: E402


def write(kind, name, data):
    d = os.path.join(corpus, kind)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


for kind in ("envelope", "csv", "config"):
    shutil.rmtree(os.path.join(corpus, kind), ignore_errors=True)

# ---- envelope: real requests ------------------------------------------------


def referral(ref, last, first, born, quartier, sender="mission-locale", **kw):
    e = pb.Envelope(version=1, request_id=f"seed-{ref}", sender=sender)
    r = e.referral
    r.partner_ref = ref
    r.person.last_name = last
    r.person.first_names = first
    r.person.birth_date = born
    r.person.postcode = "25000"
    r.person.city = "Besançon"
    r.person.quartier = quartier
    r.consent = True
    r.referred_on = "2026-11-16"
    for k, v in kw.items():
        if k in ("benefits", "needs"):
            getattr(r, k).extend(v)
        elif hasattr(r.person, k) and k not in ("DESCRIPTOR",):
            setattr(r.person, k, v)
        else:
            setattr(r, k, v)
    return e


seeds = {
    "referral-eligible": referral("ML-1", "Da Silva-Costa", "Hélène", "2005-03-14", "Planoise",
                                  needs=[pb.NEED_HOUSING, pb.NEED_TRAINING], sex="F",
                                  phone="06 39 98 00 01", email="h@example.org",
                                  referrer_name="Claire", referrer_email="c@example.org",
                                  notes="Orientée après un atelier CV."),
    "referral-known-person": referral("ML-2", "MARTIN", "Lea", "2004-03-15", "Planoise",
                                      sender="ccas"),
    "referral-replay": referral("base-1", "Martin", "Léa", "2004-03-15", "Planoise"),
    "referral-no-consent": referral("ML-3", "Benali", "Yanis", "2004-06-30", "Montrapon",
                                    consent=False),
    "referral-ineligible": referral("ML-4", "Roux", "Paul", "1990-01-01", "Battant",
                                    benefits=[pb.BENEFIT_RSA], resources_eur_month=900),
    "referral-invalid": referral("ML-5", "", "X", "2003-02-30", "Palente", sex="Q",
                                 postcode="2500", ine="12", email="nope"),
    "referral-no-person": pb.Envelope(version=1, request_id="seed-np", sender="ccas",
                                      referral=pb.Referral(partner_ref="CC-1")),
    "fetch-events": pb.Envelope(version=1, request_id="seed-fe", sender="mission-locale",
                                fetch_events=pb.FetchEvents(after_seq=0, max=10)),
    "fetch-cases": pb.Envelope(version=1, request_id="seed-fc", sender="asq-planoise",
                               fetch_cases=pb.FetchCases(structure_id="asq-planoise",
                                                         include_open=True)),
    "action-accept": pb.Envelope(version=1, request_id="seed-a1", sender="asq-planoise",
                                 case_action=pb.CaseAction(case_id="C0000001",
                                                           kind=pb.ACTION_ACCEPT)),
    "action-decline": pb.Envelope(version=1, request_id="seed-a2", sender="asq-montrapon",
                                  case_action=pb.CaseAction(case_id="C0000002",
                                                            kind=pb.ACTION_DECLINE,
                                                            reason="Plus de place.")),
    "action-close": pb.Envelope(version=1, request_id="seed-a3", sender="asq-planoise",
                                case_action=pb.CaseAction(case_id="C0000001",
                                                          kind=pb.ACTION_CLOSE,
                                                          outcome=pb.OUTCOME_TRAINING,
                                                          on_date="2026-11-18")),
    "version-2": pb.Envelope(version=2, request_id="seed-v2", sender="mission-locale",
                             fetch_events=pb.FetchEvents()),
    "unknown-sender": pb.Envelope(version=1, request_id="seed-us", sender="nobody",
                                  fetch_events=pb.FetchEvents()),
}
for name, env in seeds.items():
    write("envelope", name, env.SerializeToString())
write("envelope", "empty", b"")

# ---- envelope: structured inputs (0x00, fields separated by 0x1F) ------------
SEP = b"\x1f"
ACCEPT, DECLINE, MILESTONE, CLOSE = 1, 2, 3, 4


def action(kind, value=0):
    return bytes([kind | value << 3])


def structured(fields, consent=True, partner=0, include_open=False, resources=0,
               actions=b""):
    person = [fields.get(k, "") for k in ("partner_ref", "last_name", "first_names",
                                           "birth_date", "sex", "phone", "email",
                                           "postcode", "city", "quartier", "ine",
                                           "referrer_name", "referrer_email", "notes",
                                           "referred_on")]
    controls = bytes([int(consent) | partner << 1 | int(include_open) << 4])
    controls += resources.to_bytes(4, "little") + actions
    parts = [s if isinstance(s, bytes) else s.encode() for s in person]
    parts += [bytes(fields.get("benefits", [])), bytes(fields.get("needs", [])), controls]
    return b"\x00" + SEP.join(parts)


young = {"partner_ref": "S-1", "last_name": "Nguyen", "first_names": "Thi Mai",
         "birth_date": "2004-05-05", "sex": "F", "phone": "06 00 00 00 00",
         "email": "t@example.org", "postcode": "25000", "city": "Besançon",
         "quartier": "Planoise", "referrer_name": "Claire",
         "referrer_email": "c@example.org", "notes": "Motif : premier contact.",
         "referred_on": "2026-11-16", "needs": [2, 5]}
write("envelope", "structured-accepted", structured(young))
write("envelope", "structured-lifecycle",
      structured(dict(young, partner_ref="S-2", quartier="Battant"), include_open=True,
                 actions=action(ACCEPT) + action(MILESTONE, 3) + action(MILESTONE, 4) +
                 action(MILESTONE, 5) + action(CLOSE, 2)))
write("envelope", "structured-declines",
      structured(dict(young, partner_ref="S-3", quartier="Montrapon"), partner=1,
                 actions=action(DECLINE) * 8))
write("envelope", "structured-known",
      structured(dict(young, partner_ref="S-4", last_name="Martin", first_names="Léa",
                      birth_date="2004-03-15")))
write("envelope", "structured-ineligible",
      structured(dict(young, partner_ref="S-5", benefits=[2, 3]), resources=4294967295))
write("envelope", "structured-invalid",
      structured(dict(young, partner_ref="S-6", birth_date="2003-02-30",
                      last_name=b"\xff\xfeNom")))
write("envelope", "structured-no-consent", structured(dict(young, partner_ref="S-7"),
                                                      consent=False))

# ---- csv ----------------------------------------------------------------------
with open(os.path.join(root, "deploy", "samples", "referrals.csv"), encoding="utf-8") as f:
    head = "".join(f.readlines()[:6])
write("csv", "samples-head.csv", head)
hdr = ("partner_ref;last_name;first_names;birth_date;sex;phone;email;postcode;city;quartier;"
       "ine;benefits;resources_eur_month;needs;consent;referrer_name;referrer_email;notes;"
       "referred_on\r\n")
write("csv", "semicolon-bom.csv",
      b"\xef\xbb\xbf" + (hdr +
      "CC-1;Durand;Zoé;14/02/2006;F;;;25000;Besançon;Planoise;;rsa+cej;120;health|other;"
      "non;;;\"Note; avec \"\"guillemets\"\"\nsur deux lignes\";16/11/2026\r\n"
      ";;;;;;;;;;;;;;;;;;\r\n").encode())
write("csv", "bad-rows.csv",
      "partner_ref,last_name,first_names,birth_date,consent,extra\n"
      "A-1,Nom,Prénom,2003-02-30,oui,x\n"
      "A-2,Nom,Prénom,2003-02-03,peut-être,\n"
      ",Nom,Prénom,2003-02-03,yes\n"
      "A-4,Nom,Prénom,2003-02-03,yes,a,b,c\n"
      "A-5,\"Nom \xc3\n")
write("csv", "minimal.csv", "partner_ref,last_name,first_names,birth_date,consent\n"
      "M-1,Nom,Prénom,2004-01-01,1\n")
write("csv", "missing-column.csv", "partner_ref,last_name\nX-1,Nom\n")

# ---- config -----------------------------------------------------------------
with open(os.path.join(root, "deploy", "relais.conf"), encoding="utf-8") as f:
    conf = f.read()
write("config", "relais.conf", conf)
minimal = """programme = {
  name = "p"; min_age = 18; max_age = 25; resources_ceiling_eur = 300;
  excluded_benefits = ["rsa"]; envelope_eur = 6000; allowance_eur = 500; max_months = 12;
  start_date = "2026-01-01"; end_date = "2026-12-31";
  default_structure = "s1"; programme_structure = "s2";
};
broker = { partner_endpoint = "tcp://127.0.0.1:7410"; max_message_bytes = 1024;
           map_size_mib = 16; };
partners = ( { id = "p1"; name = "P"; kind = "ccas"; } );
structures = (
  { id = "s1"; name = "S1"; kind = "asq"; quartiers = ["Planoise"]; postcodes = ["25000"];
    capacity = 1; },
  { id = "s2"; name = "S2"; kind = "programme"; quartiers = []; postcodes = [];
    capacity = 5; }
);
"""
write("config", "minimal.conf", minimal)
write("config", "bad-dates.conf", minimal.replace("2026-12-31", "2025-02-29"))
write("config", "duplicate-ids.conf", minimal.replace('"s2"; name', '"s1"; name'))
write("config", "bad-types.conf", minimal.replace("min_age = 18", 'min_age = "18"'))
# A parse error right after a string: libconfig 1.5 leaks there (lsan.supp).
write("config", "libconfig-leak.conf", '""')

shutil.rmtree(work)
total = sum(os.path.getsize(os.path.join(dp, f))
            for dp, _, fs in os.walk(corpus) for f in fs)
print(f"corpus: {total} bytes in {corpus}")
