#!/usr/bin/env python3
"""Writes the sample partner CSV files of relais (PROTOCOL.md, "The partner CSV file").

    python3 deploy/samples/make_referrals.py      # rewrites both files next to this script

referrals.csv       the Mission locale's export (partner "mission-locale"), rows ML-2026-NNNN
referrals-ccas.csv  an ASQ export of the CCAS (partner "ccas"), rows ASQ-NNNN

Every person is fictitious.  Phone numbers are in the range ARCEP keeps for fiction
(06 39 98 xx xx), e-mail domains end in .example or are example.org.

The output is deterministic: no clock, and the only randomness is a random.Random with a
fixed seed, so rerunning the script rewrites the same bytes (the committed files are its
output; a test reads them).  Ages are computed by the broker on referred_on, which every row
sets to REFERRED_ON so that the statuses below do not drift with the years.

Row layout of referrals.csv, in file order (line = row number + 1, the header is line 1).
The status is what the broker should answer with the shipped configuration (min_age 18,
max_age 25, ceiling 300 EUR, excluded rsa cej garantie_jeunes are, envelope 1,000,000 EUR
= 166 places of 12 x 500 EUR), the file being the first thing submitted:

  (a) ML-2026-0001..0012  hand-written eligible young people       ACCEPTED (routed)
  (b) ML-2026-0013..0014  the persons of 0001 and 0002 again,      MERGED
                          spelled in capitals without accents
  (c) ML-2026-0015..0022  one ineligibility reason each            INELIGIBLE
  (d) ML-2026-0023..0026  read by the CSV reader, refused          INVALID
  (e) ML-2026-0027        birth_date 31/02/2004                    unreadable (line 28)
  (f) ML-2026-0028..0029  identity conflicts with 0003 / 0004      REVIEW
  (g) ML-2026-0030..0183  generated eligible people                ACCEPTED (fills the budget)
  (h) ML-2026-0184..0189  generated eligible people                WAITLISTED

(a) + (g) = 166 = the number of places, so the budget is exactly full after (g).
"""

import csv
import datetime
import os
import random
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
REFERRED_ON = datetime.date(2026, 11, 16)
PLACES = 166          # 1,000,000 EUR // (12 months x 500 EUR)
N_HAND = 12           # (a)
N_GENERATED = PLACES - N_HAND  # (g)
N_WAITLISTED = 6      # (h)
SEED = 20261116

HEADER = ["partner_ref", "last_name", "first_names", "birth_date", "sex", "phone", "email",
          "postcode", "city", "quartier", "ine", "benefits", "resources_eur_month", "needs",
          "consent", "referrer_name", "referrer_email", "notes", "referred_on"]

QUARTIERS = ["Planoise", "Montrapon", "Clairs-Soleils", "Battant", "Palente", "Orchamps",
             "Centre", "Saint-Claude", "Fontaine-Écu", "Chaprais", "Bregille"]

ML_REFERRERS = [("Claire Jacquot", "c.jacquot@ml-besancon.example"),
                ("Nordine Hamdi", "n.hamdi@ml-besancon.example"),
                ("Sophie Vuillemin", "s.vuillemin@ml-besancon.example")]
CCAS_REFERRER = ("Estelle Grandjean", "e.grandjean@ccas-besancon.example")

# Short, non-identifying, and worded so they fit anyone.
NOTES = ["Orientation après un atelier CV.", "Premier contact lors d'une permanence.",
         "Démarche spontanée après la campagne sur les réseaux.",
         "Souhaite reprendre une formation.", "Sans solution depuis la fin du lycée.",
         "Orientation par l'éducateur de prévention.", "Demande un accompagnement vers l'emploi.",
         "Premier contact au forum des métiers.", "", ""]

NEEDS = ["health", "housing", "mobility", "digital", "training", "employment", "culture_sport",
         "confidence", "citizenship", "other"]

# Names by origin: (female first names, male first names, last names).
ORIGINS = {
    "french": (
        ["Camille", "Léa", "Manon", "Chloé", "Jade", "Louise", "Zoé", "Clémence", "Océane",
         "Maëlys", "Anaïs", "Justine", "Margaux", "Élodie", "Noémie", "Héloïse", "Anne-Sophie",
         "Marie-Lou"],
        ["Lucas", "Hugo", "Théo", "Mathis", "Enzo", "Louis", "Nathan", "Clément", "Maxime",
         "Baptiste", "Quentin", "Jérémy", "Kévin", "Valentin", "Thibault", "Gaëtan",
         "Jean-Baptiste", "Loïc"],
        ["Martin", "Petit", "Durand", "Moreau", "Lefèvre", "Girard", "Roux", "Fournier",
         "Faivre", "Cuenot", "Jeannin", "Grosjean", "Bourgeois", "Mougin", "Pernot", "Cattin",
         "Le Gall", "de Vaulx", "Du Pasquier", "Saint-Hilaire", "Bouvier-Lambert", "Boillot"]),
    "north_african": (
        ["Yasmine", "Sofia", "Amira", "Nour", "Lina", "Myriam", "Salma", "Rania", "Imane",
         "Nawel", "Kenza", "Chaïma", "Warda", "Sabrina", "Leïla"],
        ["Mohamed", "Yanis", "Rayan", "Bilal", "Karim", "Mehdi", "Sofiane", "Nassim", "Walid",
         "Ayoub", "Ilyes", "Anis", "Samir", "Hamza", "Youssef", "Adam"],
        ["Benali", "Haddad", "Bouzid", "Belkacem", "Aït Ahmed", "Cherif", "Mansouri",
         "El Amrani", "Benyahia", "Rahmani", "Zeroual", "Hamidi", "Saïdi", "Boukhari",
         "El Idrissi", "Meziane", "Ouali", "Touati", "Ben Youssef", "Amrani-Kaci"]),
    "west_african": (
        ["Aminata", "Fatoumata", "Aïssatou", "Mariama", "Kadiatou", "Awa", "Binta",
         "Ramatoulaye", "Oumou", "Fanta", "Hawa", "Adama", "Djeneba"],
        ["Mamadou", "Ousmane", "Moussa", "Abdoulaye", "Souleymane", "Ibrahima", "Seydou",
         "Boubacar", "Cheikh", "Lamine", "Modibo", "Sékou", "Amadou"],
        ["Diallo", "Traoré", "Koné", "Camara", "Diop", "Sow", "Coulibaly", "Sissoko", "Keïta",
         "Bamba", "Touré", "Konaté", "Fofana", "Cissé", "Diarra", "N'Diaye", "Mbaye",
         "Ba", "Sy", "Doumbia"]),
    "portuguese": (
        ["Ana", "Beatriz", "Inês", "Mariana", "Joana", "Catarina", "Leonor", "Rita",
         "Ana Luísa"],
        ["João", "Tiago", "Rúben", "Diogo", "Gonçalo", "Rafael", "Pedro", "Nuno", "Fábio"],
        ["Da Silva", "Ferreira", "Pereira", "Gonçalves", "Rodrigues", "Dos Santos",
         "Fernandes", "Lopes", "Teixeira", "Carvalho", "Sousa", "Oliveira", "Ribeiro",
         "Monteiro", "Da Costa", "Marques"]),
    "turkish": (
        ["Elif", "Zeynep", "Büşra", "Merve", "Esra", "Ayşe", "Dilara", "Sena", "Melike"],
        ["Emre", "Burak", "Mehmet", "Yusuf", "Kerem", "Oğuz", "Serkan", "Enes", "Furkan"],
        ["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Aydın", "Öztürk", "Arslan", "Doğan",
         "Kılıç", "Aslan", "Koç", "Kurt", "Özdemir"]),
    "eastern_european": (
        ["Ioana", "Oksana", "Natalia", "Katarzyna", "Milena", "Daria", "Alina", "Jelena",
         "Ana-Maria"],
        ["Andrei", "Bogdan", "Piotr", "Mihai", "Dmytro", "Nikola", "Marek", "Vlad", "Ștefan"],
        ["Popescu", "Ionescu", "Kowalski", "Nowak", "Kovačević", "Petrov", "Shevchenko",
         "Horváth", "Dvořák", "Novák", "Popa", "Constantin", "Lewandowski", "Marinescu",
         "Jovanović", "Bondarenko"]),
}
ORIGIN_WEIGHTS = [("french", 34), ("north_african", 22), ("west_african", 16),
                  ("portuguese", 10), ("turkish", 9), ("eastern_european", 9)]


def fold(s):
    """What the broker's matcher compares, roughly: no accents, no case, hyphens and
    apostrophes as spaces, then no spaces at all (so every variant counts as one name)."""
    s = s.replace("ı", "i")
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    return "".join(c for c in s.lower() if c.isalnum())


class Sheet:
    """Rows of one file, with the identity keys already used, so no two persons of the
    samples collide by accident (same name, same phone, same INE...)."""

    def __init__(self, prefix, width, first_number=1):
        self.prefix, self.width, self.number = prefix, width, first_number
        self.rows = []

    def add(self, **cells):
        row = {k: "" for k in HEADER}
        row["partner_ref"] = "%s%0*d" % (self.prefix, self.width, self.number)
        row["referred_on"] = REFERRED_ON.isoformat()
        row["postcode"], row["city"] = "25000", "Besançon"
        for k, v in cells.items():
            assert k in row, k
            row[k] = v
        self.number += 1
        self.rows.append(row)
        return row

    def write(self, path):
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=HEADER, lineterminator="\n")
            w.writeheader()
            w.writerows(self.rows)


class People:
    def __init__(self):
        self.names = set()      # folded first + last
        self.phones = 0
        self.ines = 0

    def claim(self, first, last):
        key = (fold(first), fold(last))
        if key in self.names:
            return False
        self.names.add(key)
        return True

    def phone(self):
        self.phones += 1
        assert self.phones < 10000
        return "06 39 98 %02d %02d" % divmod(self.phones, 100)

    def ine(self):
        self.ines += 1
        return "%010dK" % (1706140000 + self.ines * 37)


def born(age, month, day):
    """A birth date giving AGE on REFERRED_ON (the birthday falls before it)."""
    d = datetime.date(REFERRED_ON.year - age, month, day)
    assert (REFERRED_ON.month, REFERRED_ON.day) > (month, day)
    return d.isoformat()


def email(first, last, n=""):
    ascii_ = lambda s: "".join(c for c in unicodedata.normalize("NFKD", s.replace("ı", "i"))
                               if c.isascii() and (c.isalnum() or c in " -")).lower()
    return "%s.%s%s@example.org" % (ascii_(first).replace(" ", "-"),
                                    ascii_(last).replace(" ", "-").replace("--", "-"), n)


def hand_written(sheet, people):
    """(a) to (f): the rows a reader of the sample should be able to follow one by one."""
    ml = ML_REFERRERS
    a = []

    def person(first, last, birth, sex, quartier, ine="", ref=ml[0], **more):
        assert people.claim(first, last), (first, last)
        cells = dict(first_names=first, last_name=last, birth_date=birth, sex=sex,
                     phone=people.phone(), quartier=quartier, ine=ine, consent="oui",
                     referrer_name=ref[0], referrer_email=ref[1])
        cells.update(more)
        return sheet.add(**cells)

    # (a) eligible, over the quartiers; 0001 and 0002 are met again in (b), 0003 and 0004
    # in (f), 0005 in the CCAS file.
    a.append(person("Hélène", "Da Silva-Costa", born(21, 3, 14), "F", "Planoise",
                    benefits="none", needs="housing|training",
                    notes="Orientée après un atelier CV.", email=email("Hélène", "Da Silva-Costa")))
    a.append(person("Aïssatou", "Diallo-Koné", born(19, 9, 2), "F", "Clairs-Soleils",
                    needs="confidence+employment", notes="Premier contact au forum des métiers."))
    a.append(person("Yanis", "Benali", born(22, 6, 30), "M", "Montrapon", ine=people.ine(),
                    consent="yes", needs="employment", resources_eur_month="0",
                    notes="Sans solution depuis la fin du lycée."))
    a.append(person("Karim", "Bensaïd", born(20, 1, 11), "M", "Palente", ine=people.ine(),
                    needs="mobility|employment", ref=ml[1],
                    notes="Demande un accompagnement vers l'emploi."))
    a.append(person("João Pedro", "Gonçalves", born(23, 10, 5), "M", "Battant",
                    needs="training", resources_eur_month="120", ref=ml[1],
                    notes="Souhaite reprendre une formation."))
    a.append(person("Léa-Marie", "N'Diaye", born(19, 4, 27), "F", "Orchamps",
                    needs="health|housing|confidence", email=email("Léa-Marie", "N'Diaye"),
                    notes="Rencontrée lors d'une permanence."))
    a.append(person("Emre", "Yılmaz", born(24, 2, 18), "M", "Centre", benefits="none",
                    resources_eur_month="300", needs="digital|employment",
                    notes="Ressources déclarées : petits travaux ponctuels."))
    a.append(person("Ioana", "Popescu", born(21, 11, 1), "F", "Saint-Claude", ine=people.ine(),
                    needs="training|citizenship", ref=ml[2],
                    notes="Orientée par l'éducateur de prévention."))
    a.append(person("Mamadou", "Traoré", born(20, 8, 8), "M", "Fontaine-Écu", consent="1",
                    needs="housing", ref=ml[2], notes="Venu de lui-même après la campagne."))
    a.append(person("Camille", "de La Tour d'Auvergne", born(22, 5, 19), "X", "Chaprais",
                    needs="culture_sport|confidence", ref=ml[2],
                    notes="Souhaite reprendre confiance avant une formation."))
    a.append(person("Zeynep", "Öztürk", born(19, 7, 23), "F", "Bregille", consent="true",
                    needs="training", email=email("Zeynep", "Öztürk"),
                    notes="Sans solution depuis la fin du lycée."))
    a.append(person("Théo", "Vuillemin-Jacquot", born(23, 1, 3),
                    "M", "Planoise", needs="employment|mobility", resources_eur_month="50",
                    notes="Demande un accompagnement vers l'emploi."))
    assert len(a) == N_HAND

    # (b) the same persons as 0001 and 0002 from another counsellor, typed in capitals
    # without accents, hyphens as spaces: MERGED into their cases.
    for src, first, last in ((a[0], "HELENE", "DA SILVA COSTA"),
                             (a[1], "AISSATOU", "DIALLO KONE")):
        sheet.add(first_names=first, last_name=last, birth_date=src["birth_date"],
                  sex=src["sex"], quartier=src["quartier"], consent="oui",
                  referrer_name=ml[1][0], referrer_email=ml[1][1],
                  notes="Déjà vue à l'accueil, nouvelle orientation.")

    # (c) ineligible, one reason each (every other rule met).
    person("Lucas", "Fournier", born(17, 4, 12), "M", "Planoise", notes="Encore scolarisé.")
    person("Sabrina", "Haddad", born(26, 3, 8), "F", "Montrapon")
    person("Moussa", "Camara", born(21, 2, 2), "M", "Clairs-Soleils", benefits="rsa")
    person("Inês", "Ferreira", born(20, 6, 6), "F", "Battant", benefits="cej")
    person("Burak", "Kaya", born(22, 9, 9), "M", "Palente", benefits="garantie_jeunes")
    person("Marek", "Nowak", born(23, 5, 15), "M", "Orchamps", benefits="are",
           notes="Fin de contrat saisonnier.")
    person("Chloé", "Mougin", born(19, 10, 10), "F", "Centre", resources_eur_month="450",
           notes="Emploi à temps très partiel.")
    person("Bilal", "Zeroual", born(21, 1, 21), "M", "Chaprais", consent="non",
           notes="Ne souhaite pas être orienté pour l'instant.")

    # (d) readable by the CSV reader, refused by the broker's validation.
    person("Fanta", "Sissoko", "2031-05-04", "F", "Saint-Claude")          # future birth date
    person("Rúben", "Lopes", born(20, 7, 7), "M", "Bregille", postcode="25OOO")  # letter O
    person("Dilara", "Aydın", born(22, 3, 3), "Z", "Fontaine-Écu")          # sex Z
    parts = ["Grosjean", "Faivre", "Cuenot", "Boillot", "Pernot", "Cattin", "Mougin",
             "Jeannin", "Bourgeois", "Vuillemin", "Marchand", "Girardot", "Mercier", "Lambert",
             "Roussel", "Perrin", "Chevalier", "Bonnet", "Guyon", "Tissot"]
    long_name = "-".join(parts)[:149].rstrip("-")
    long_name += "e" * (150 - len(long_name))
    assert len(long_name) == 150
    person("Jade", long_name, born(20, 2, 20), "F", "Palente")               # 150 chars

    # (e) unreadable: 31 February.
    person("Mehdi", "Rahmani", "31/02/2004", "M", "Planoise")

    # (f) REVIEW: 0003's INE with another name and birth date; 0004's name and birth date
    # (other case) with another INE.
    person("Nassim", "Bouzid", born(21, 10, 1), "M", "Montrapon",
           ine=a[2]["ine"], notes="INE relevé sur un certificat de scolarité.")
    sheet.add(first_names="KARIM", last_name="BENSAÏD", birth_date=a[3]["birth_date"], sex="M",
              phone=people.phone(), quartier="Palente", ine=people.ine(), consent="oui",
              referrer_name=ml[0][0], referrer_email=ml[0][1])
    return a


def generated(sheet, people, rng, count, offset):
    """(g) and (h): COUNT distinct eligible persons, quartiers in turn from OFFSET."""
    origins = [o for o, w in ORIGIN_WEIGHTS for _ in range(w)]
    lo = datetime.date(2002, 1, 15).toordinal()
    hi = datetime.date(2007, 6, 30).toordinal()
    made = 0
    while made < count:
        origin = rng.choice(origins)
        females, males, lasts = ORIGINS[origin]
        sex = rng.choice("FM")
        first = rng.choice(females if sex == "F" else males)
        # One in eight carries a name from another origin (mixed families).
        last_origin = rng.choice(origins) if rng.random() < 0.125 else origin
        last = rng.choice(ORIGINS[last_origin][2])
        if not people.claim(first, last):
            continue
        birth = datetime.date.fromordinal(rng.randint(lo, hi)).isoformat()
        ref = ML_REFERRERS[rng.randrange(len(ML_REFERRERS))]
        needs = rng.sample(NEEDS, rng.randint(1, 3))
        sheet.add(last_name=last, first_names=first, birth_date=birth, sex=sex,
                  phone=people.phone(),
                  email=email(first, last) if rng.random() < 0.5 else "",
                  quartier=QUARTIERS[(offset + made) % len(QUARTIERS)],
                  ine=people.ine() if rng.random() < 0.3 else "",
                  benefits=rng.choice(["", "", "none"]),
                  resources_eur_month=rng.choice(["", "0", "0", "0", "40", "150", "280"]),
                  needs="|".join(needs),
                  consent=rng.choice(["oui", "oui", "yes"]),
                  referrer_name=ref[0], referrer_email=ref[1], notes=rng.choice(NOTES))
        made += 1


def main():
    rng = random.Random(SEED)
    people = People()

    ml = Sheet("ML-2026-", 4)
    a = hand_written(ml, people)
    generated(ml, people, rng, N_GENERATED, 0)
    generated(ml, people, rng, N_WAITLISTED, N_GENERATED)
    assert len(ml.rows) == N_HAND + 2 + 8 + 4 + 1 + 2 + N_GENERATED + N_WAITLISTED
    ml.write(os.path.join(HERE, "referrals.csv"))

    ccas = Sheet("ASQ-", 4)
    src = a[4]  # João Pedro Gonçalves, written by the ASQ without accents
    ccas.add(first_names="Joao-Pedro", last_name="GONCALVES", birth_date=src["birth_date"],
             sex="M", quartier="Battant", consent="oui", needs="training",
             referrer_name=CCAS_REFERRER[0], referrer_email=CCAS_REFERRER[1],
             notes="Suivi par l'antenne depuis l'été.")
    for first, last, birth, sex, quartier in (
            ("Naïma", "El Khatib", born(20, 4, 4), "F", "Planoise"),
            ("Ousmane", "Kanté", born(22, 8, 18), "M", "Clairs-Soleils")):
        assert people.claim(first, last)
        ccas.add(first_names=first, last_name=last, birth_date=birth, sex=sex,
                 phone=people.phone(), quartier=quartier, consent="oui",
                 needs="housing|confidence", referrer_name=CCAS_REFERRER[0],
                 referrer_email=CCAS_REFERRER[1], notes="Premier contact lors d'une permanence.")
    ccas.write(os.path.join(HERE, "referrals-ccas.csv"))


if __name__ == "__main__":
    main()
