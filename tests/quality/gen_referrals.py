#!/usr/bin/env python3
"""Synthetic French referrals with known truth, for the matching benchmark.

    gen_referrals.py --known N --queries Q --seed S --out DIR

writes DIR/known.csv (N distinct young people, one referral each, the
population the matcher knows), DIR/queries.csv (Q further referrals) and
DIR/truth.csv (partner_ref, person id, kind).  The CSV files have the
columns relais-agent reads (PROTOCOL.md), so they can also be submitted to
a real broker.

Queries (kind in truth.csv):
  dup:*      the same person as a known one, with corruptions seen in
             practice (one or two of: accents dropped, capitals, hyphen <->
             space, one typo in a name, compound given name shortened,
             particle dropped, first/last swapped, day/month swapped,
             one-digit date typo, phone missing or changed, e-mail missing
             or changed, quartier changed)
  twin       same surname, birth date, phone, e-mail and quartier as a
             known person, another given name
  sibling    same surname, family phone and e-mail, another given name and
             birth date
  homonym    a very common surname, the same birth date as a known person
             with it, another given name
  new        an unrelated young person

Names: real given names and surnames of the origins found in a French city
(French, North African, West African, Portuguese, Turkish, Eastern
European, Vietnamese...), drawn with a Zipf law (exponent 0.75 for
surnames, so the most common is about 2 % of people, Martin's order of
magnitude; 0.5 for given names), plus generated surnames
built from French name parts for the long tail (France has about a million
surnames: a benchmark with a few hundred would have absurdly large blocks).
Birth dates: 18 to 25 years old in 2026.  A different person never has
the same folded surname, given name and birth date as a known one (nothing
could tell them apart, so the truth would be untestable); twins, siblings
and homonyms share no given-name token with the person they resemble.
Standard library only.
"""
import argparse
import csv
import os
import random
import unicodedata

SURNAMES = """Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel
Lefebvre Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine Rousseau
Vincent Muller Lefèvre Faure André Mercier Blanc Guérin Boyer Garnier Chevalier François Legrand
Gauthier Garcia Perrin Robin Clément Morin Nicolas Henry Roussel Mathieu Gautier Masson Marchand
Duval Denis Dumont Marie Lemaire Noël Meyer Dufour Meunier Brun Blanchard Giraud Joly Rivière Lucas
Brunet Gaillard Barbier Arnaud Martinez Gérard Roche Renard Schmitt Roy Leroux Colin Vidal Caron
Picard Roger Fabre Aubert Lemoine Renaud Dumas Lacroix Olivier Philippe Bourgeois Pierre Benoît
Rey Leclerc Payet Rolland Leclercq Guillaume Lecomte López Jean Dupuy Guillot Hubert Berger
Carpentier Sanchez Dupuis Moulin Louis Deschamps Huet Vasseur Perez Boucher Fleury Royer Klein
Jacquet Adam Paris Poirier Marty Aubry Guyot Carré Charles Renault Charpentier Ménard Maillard
Baron Bertin Bailly Hervé Schneider Fernandez Le Gall Collet Léger Bouvier Julien Prévost Millet
Perrot Daniel Le Roux Cousin Germain Breton Besson Langlois Rémy Le Goff Pelletier Lévêque Perrier
Leblanc Barré Lebrun Marchal Weber Mallet Hamon Boulanger Jacob Monnier Michaud Rodriguez Guichard
Gillet Étienne Grondin Poulain Tessier Chevallier Collin Chauvin Da Silva Bouchet Gay Lemaître
Bénard Maréchal Humbert Reynaud Antoine Hoarau Perret Barthélemy Cordier Pichon Lejeune Gilbert
Lamy Delaunay Pasquier Carlier Laporte Vuillemin Jeannin Bourgeon Cuenot Grosjean Girardot
Benali Benzema Bouzid Haddad Belkacem Cherif Amrani Boukhari Mansouri Hamidi Saïdi Brahimi
Benyahia Zeroual Kaddour Meziane Slimani Ait Ahmed Ben Ali El Idrissi Ouali Ferhat Benmoussa
Diallo Traoré Diop Ndiaye Sow Fall Camara Coulibaly Keïta Sylla Konaté Touré Cissé Bamba Kone
Ouattara Sissoko Diarra Dembélé Mbappé Ba Gueye Faye Sarr N'Diaye Kanté Kouyaté
Da Silva-Costa Pereira Ferreira Oliveira Santos Rodrigues Gomes Lopes Alves Carvalho Fernandes
Ribeiro Teixeira Sousa Martins Moreira Correia Mendes Pinto Cardoso Dos Santos De Sousa
Yilmaz Kaya Demir Şahin Çelik Yıldız Öztürk Aydın Arslan Doğan Kılıç Aslan Çetin Koç Kurt
Nowak Kowalski Wiśniewski Kovačević Popescu Ionescu Petrov Ivanova Horvat Novák Dvořák Kuznetsov
Nguyen Tran Le Pham Hoang Phan Vu Dang Bui Do Ho Ngo
de la Fontaine de Saint-Exupéry Saint-Cyr d'Almeida van Damme Le Bihan Le Floch Le Guen""".split("\n")
SURNAMES = [s for line in SURNAMES for s in (
    [line] if False else [x for x in line.split(" ")] )]
# Re-join the multi-word surnames the split above broke.
MULTI = {"Le Gall", "Le Roux", "Le Goff", "Da Silva", "Ait Ahmed", "Ben Ali", "El Idrissi",
         "Dos Santos", "De Sousa", "de la Fontaine", "de Saint-Exupéry", "van Damme",
         "Le Bihan", "Le Floch", "Le Guen"}


def _surnames():
    words = " ".join(x for line in SURNAMES for x in [line]).split(" ")
    out, i = [], 0
    while i < len(words):
        if i + 2 < len(words) and " ".join(words[i:i + 3]) in MULTI:
            out.append(" ".join(words[i:i + 3]))
            i += 3
        elif i + 1 < len(words) and " ".join(words[i:i + 2]) in MULTI:
            out.append(" ".join(words[i:i + 2]))
            i += 2
        else:
            out.append(words[i])
            i += 1
    return [w for w in out if w]


GIVEN_F = """Léa Emma Chloé Inès Manon Jade Louise Camille Sarah Lina Zoé Lola Juliette Clara Alice
Anaïs Océane Maëlys Lucie Mathilde Marie Julie Laura Pauline Élise Margaux Ambre Romane Louna Nina
Yasmine Aïcha Fatima Amira Nour Salma Myriam Sofia Rania Imane Aminata Fatoumata Mariam Awa Kadiatou
Beatriz Inês Ana Mariana Zeynep Elif Ecem Merve Aleksandra Ioana Natalia Thi Linh Hélène Mélissa
Sandra Audrey Charlotte Eva Jeanne Rose Adèle Victoria Héloïse Agathe Capucine Léna Maëlle Noémie
Marie-Claire Marie-Anne Anne-Sophie Léa-Marie""".split()
GIVEN_M = """Lucas Hugo Théo Nathan Louis Enzo Mathis Tom Noah Gabriel Arthur Raphaël Léo Jules Ethan
Adam Maxime Clément Thomas Antoine Alexandre Baptiste Paul Quentin Kevin Dylan Jordan Florian Romain
Mohamed Yanis Rayan Ilyes Bilal Karim Mehdi Sofiane Amine Walid Moussa Mamadou Ibrahima Oumar
Abdoulaye Seydou João Pedro Tiago Rui Emre Mehmet Can Burak Piotr Andrei Mihai Duc Minh Jean-Pierre
Jean-Baptiste Pierre-Louis Paulo Kylian Timothée Valentin Corentin Bastien Matthieu Nicolas Damien
Axel Evan Sacha Samuel Noé Mathéo Elias Ismaël Younes Idriss""".split()

PARTS_A = """Vuil Jean Gros Petit Grand Bel Bon Beau Mont Ro Ber Ger Mar Chau Bou Fau Lam Mor Ra Gi Du
Bar Ca Cha Cou Del Fer Fon Gal Gue Hu Jac La Le Lo Ma Mi Nau Pe Pi Poi Que Ri Sa Ta Te Va Vi Ber
Brun Cor Dar Deb Fab Gau Lor Mas Pel Rou Sau Thi Tou Val Ver""".split()
PARTS_B = """lemin nin jean quin ard ot et eau on ier ey in and ault ard ois ot at ourt ette ouin ez as
enne ille ot ard ard ain aud ère ais ant el ol al ou oux y eux ac ieux oz elin erot enet illot""".split()


def zipf_pick(rng, items, s=1.05):
    # inverse-CDF sampling on precomputed weights, cached per list
    key = id(items)
    cdf = zipf_pick.cache.get(key)
    if cdf is None:
        w = [1.0 / (i + 1) ** s for i in range(len(items))]
        tot, acc, cdf = sum(w), 0.0, []
        for x in w:
            acc += x / tot
            cdf.append(acc)
        zipf_pick.cache[key] = cdf
    r = rng.random()
    lo, hi = 0, len(cdf) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cdf[mid] < r:
            lo = mid + 1
        else:
            hi = mid
    return items[lo]


zipf_pick.cache = {}


def strip_accents(s):
    return "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")


def tokens(given):
    return set(strip_accents(given).lower().replace("-", " ").split())


def ident(p):
    """What nothing could tell apart: folded surname, first given name, date."""
    return (strip_accents(p["last_name"]).lower(), sorted(tokens(p["first_names"]))[0],
            p["birth_date"])


class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        real = _surnames()
        self.rng.shuffle(real)
        tail = set()
        r2 = random.Random(1234)  # same tail in every run: a stable "country"
        mids = ["", "", "e", "i", "a", "o", "ou", "er", "el", "ar", "an", "en", "il", "or"]
        ends = ["", "", "", "in", "on", "et", "ot", "y", "ez", "aud", "ier"]
        for _ in range(400000):  # about 60,000 distinct; bounded, whatever the parts
            n = r2.choice(PARTS_A) + r2.choice(mids) + r2.choice(PARTS_B) + r2.choice(ends)
            tail.add(n.capitalize())
            if len(tail) >= 60000:
                break
        tail = sorted(tail)
        r2.shuffle(tail)
        # The real names take the head of the Zipf law, the tail the rest.
        self.surnames = real + tail
        self.given_f = GIVEN_F[:]
        self.given_m = GIVEN_M[:]
        self.rng.shuffle(self.given_f)
        self.rng.shuffle(self.given_m)
        self.next_id = 0

    def birth(self):
        r = self.rng
        y = r.randint(2001, 2008)
        m = r.randint(1, 12)
        d = r.randint(1, 28 if m == 2 else 30)
        return "%04d-%02d-%02d" % (y, m, d)

    def phone(self):
        return "06 %02d %02d %02d %02d" % tuple(self.rng.randint(0, 99) for _ in range(4))

    def given(self, sex):
        pool = self.given_f if sex == "F" else self.given_m
        g = zipf_pick(self.rng, pool, 0.5)
        if self.rng.random() < 0.12:  # a second given name
            g2 = zipf_pick(self.rng, pool, 0.5)
            if g2 != g:
                g = g + " " + g2
        return g

    def person(self, surname=None):
        r = self.rng
        self.next_id += 1
        sex = r.choice("FM")
        last = surname or zipf_pick(r, self.surnames, 0.75)
        first = self.given(sex)
        slug = strip_accents(first.split()[0].lower()) + "." + strip_accents(
            last.lower()).replace(" ", "").replace("'", "")
        return {
            "id": self.next_id, "last_name": last, "first_names": first, "birth_date": self.birth(),
            "sex": sex if r.random() < 0.8 else "",
            "phone": self.phone() if r.random() < 0.7 else "",
            "email": ("%s%d@example.org" % (slug, r.randint(1, 99))) if r.random() < 0.5 else "",
            "postcode": "25000", "city": "Besançon",
            "quartier": r.choice(["Planoise", "Montrapon", "Clairs-Soleils", "Battant", "Palente",
                                  "Centre", "Saint-Claude", "Orchamps", ""]),
            "ine": ("%09d%s" % (r.randint(0, 10**9 - 1), "".join(
                r.choice("ABCDEFGHJK") for _ in range(2)))) if r.random() < 0.2 else "",
        }

    # ---- corruptions ----------------------------------------------------
    def typo(self, s):
        r = self.rng
        letters = [i for i, c in enumerate(s) if c.isalpha()]
        if len(letters) < 4:
            return s
        i = r.choice(letters[1:])
        op = r.randrange(4)
        alpha = "abcdefghijklmnopqrstuvwxyz"
        if op == 0:
            return s[:i] + r.choice(alpha) + s[i + 1:]
        if op == 1:
            return s[:i] + s[i + 1:]
        if op == 2:
            return s[:i] + r.choice(alpha) + s[i:]
        if i + 1 < len(s):
            return s[:i] + s[i + 1] + s[i] + s[i + 2:]
        return s

    def corrupt(self, p):
        r = self.rng
        q = dict(p)
        kinds = ["accents", "upper", "hyphen", "typo_last", "typo_first", "short_given",
                 "particle", "swap_names", "swap_dm", "date_typo", "phone", "email", "quartier"]
        chosen = r.sample(kinds, r.choice([1, 1, 2, 2, 3]))
        done = []
        for k in chosen:
            if k == "accents":
                q["last_name"] = strip_accents(q["last_name"])
                q["first_names"] = strip_accents(q["first_names"])
            elif k == "upper":
                q["last_name"] = q["last_name"].upper()
            elif k == "hyphen":
                if "-" in q["last_name"] or "-" in q["first_names"]:
                    q["last_name"] = q["last_name"].replace("-", " ")
                    q["first_names"] = q["first_names"].replace("-", " ")
                else:
                    q["last_name"] = q["last_name"].replace(" ", "-")
            elif k == "typo_last":
                q["last_name"] = self.typo(q["last_name"])
            elif k == "typo_first":
                q["first_names"] = self.typo(q["first_names"])
            elif k == "short_given":
                q["first_names"] = q["first_names"].replace("-", " ").split()[0]
            elif k == "particle":
                parts = q["last_name"].split(" ")
                if len(parts) > 1 and parts[0].lower() in ("de", "le", "da", "ben", "van", "el",
                                                           "dos", "ait"):
                    q["last_name"] = " ".join(parts[1:])
                else:
                    continue
            elif k == "swap_names":
                q["last_name"], q["first_names"] = q["first_names"], q["last_name"]
            elif k == "swap_dm":
                y, m, d = q["birth_date"].split("-")
                if int(d) <= 12 and d != m:
                    q["birth_date"] = "%s-%s-%s" % (y, d, m)
                else:
                    continue
            elif k == "date_typo":
                b = list(q["birth_date"])
                for _ in range(20):
                    i = r.choice([3, 6, 9])
                    old = b[i]
                    b[i] = str(r.randint(0, 9))
                    s = "".join(b)
                    y, m, d = (int(x) for x in s.split("-"))
                    if b[i] != old and 1 <= m <= 12 and 1 <= d <= 28 and 2001 <= y <= 2008:
                        q["birth_date"] = s
                        break
                    b[i] = old
                else:
                    continue
            elif k == "phone":
                q["phone"] = "" if r.random() < 0.5 else self.phone()
            elif k == "email":
                q["email"] = "" if r.random() < 0.5 else "autre%d@example.net" % r.randint(1, 999)
            elif k == "quartier":
                q["quartier"] = r.choice(["Planoise", "Centre", "Battant", ""])
            done.append(k)
        if not done:
            q["last_name"] = strip_accents(q["last_name"]).upper()
            done.append("upper")
        # Partners rarely repeat what they did not know the first time.
        if r.random() < 0.3:
            q["ine"] = ""
        return q, "dup:" + "+".join(done)

    def twin(self, p):
        q = self.person(p["last_name"])
        for k in ("birth_date", "phone", "email", "quartier"):
            q[k] = p[k]
        while tokens(q["first_names"]) & tokens(p["first_names"]):
            q["first_names"] = self.given(q["sex"] or "F")
        return q

    def sibling(self, p):
        q = self.person(p["last_name"])
        q["phone"], q["email"], q["quartier"] = p["phone"] or self.phone(), p["email"], p["quartier"]
        while tokens(q["first_names"]) & tokens(p["first_names"]):
            q["first_names"] = self.given(q["sex"] or "M")
        return q


COLUMNS = ["partner_ref", "last_name", "first_names", "birth_date", "sex", "phone", "email",
           "postcode", "city", "quartier", "ine", "benefits", "resources_eur_month", "needs",
           "consent", "referrer_name", "referrer_email", "notes", "referred_on"]


def row(ref, p):
    return [ref, p["last_name"], p["first_names"], p["birth_date"], p["sex"], p["phone"],
            p["email"], p["postcode"], p["city"], p["quartier"], p["ine"], "none", "", "",
            "oui", "Bench", "bench@example.org", "", "2026-11-16"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--known", type=int, default=10000)
    ap.add_argument("--queries", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    g = Gen(a.seed)
    known = []
    by_surname = {}
    with open(os.path.join(a.out, "known.csv"), "w", newline="", encoding="utf-8") as f, \
         open(os.path.join(a.out, "truth.csv"), "w", newline="", encoding="utf-8") as tf:
        w, t = csv.writer(f), csv.writer(tf)
        w.writerow(COLUMNS)
        t.writerow(["partner_ref", "person", "kind"])
        seen = set()
        for i in range(a.known):
            p = g.person()
            while ident(p) in seen:
                p = g.person()
            seen.add(ident(p))
            known.append(p)
            if len(by_surname.setdefault(p["last_name"], [])) < 50:
                by_surname[p["last_name"]].append(p)
            w.writerow(row("K%d" % p["id"], p))
            t.writerow(["K%d" % p["id"], p["id"], "known"])
        common = [s for s in g.surnames[:30] if s in by_surname]
        with open(os.path.join(a.out, "queries.csv"), "w", newline="", encoding="utf-8") as qf:
            qw = csv.writer(qf)
            qw.writerow(COLUMNS)
            for i in range(a.queries):
                x = g.rng.random()
                base = g.rng.choice(known)
                if x < 0.50:
                    q, kind = g.corrupt(base)
                    pid = base["id"]
                elif x < 0.60:
                    q, kind = g.twin(base), "twin"
                    pid = q["id"]
                elif x < 0.65:
                    q, kind = g.sibling(base), "sibling"
                    pid = q["id"]
                elif x < 0.70 and common:
                    other = g.rng.choice(by_surname[g.rng.choice(common)])
                    q = g.person(other["last_name"])
                    q["birth_date"] = other["birth_date"]
                    while tokens(q["first_names"]) & tokens(other["first_names"]):
                        q["first_names"] = g.given(q["sex"] or "F")
                    kind, pid = "homonym", q["id"]
                else:
                    q, kind = g.person(), "new"
                    pid = q["id"]
                if not kind.startswith("dup") and ident(q) in seen:
                    continue  # indistinguishable from a known person: no truth to test
                ref = "Q%d" % i
                qw.writerow(row(ref, q))
                t.writerow([ref, pid, kind])


if __name__ == "__main__":
    main()
